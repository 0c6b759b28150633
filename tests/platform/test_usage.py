"""The provider's numbers: after a scripted day of issuing, claiming, sharing, viewing, verifying
and revoking, the dashboard and the JSON API say exactly what the script counted of what it did
(its own tally, not a count read back from the tables)."""

from __future__ import annotations

import json
import re
from collections import Counter

from microcred.db.session import transaction
from microcred.services import jobs, usage
from microcred.services.providers import create_api_token
from microcred.services.status import change_state
from tests.platform.conftest import csrf_from, issue_to, make_org, publish_definition, staff
from tests.platform.test_wallet import _item_ids, _signup

FOREIGN = {  # someone else's credential: verifying it counts for nobody here
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential"],
    "issuer": "did:example:elsewhere",
    "credentialSubject": {"id": "did:example:someone"},
}


def test_the_numbers_are_what_happened(platform, wired):
    org = make_org(platform, "acme")
    welding = publish_definition(platform, org)
    first_aid = publish_definition(
        platform, org, {**json.loads(json.dumps(welding.data)), "title": "First Aid"}
    )
    did: dict[int, Counter[str]] = {welding.id: Counter(), first_aid.id: Counter()}

    issued = []
    for n, row in enumerate([welding] * 4 + [first_aid] * 2):
        email = "niamh@example.org" if n in (0, 4) else f"learner{n}@example.org"
        issued.append((row, issue_to(platform, org, row, email, f"Learner {n}")))
        did[row.id]["issued"] += 1

    # Niamh signs up: her two credentials are claimed into her wallet
    token = _signup(wired, platform)
    items = _item_ids(wired)
    assert len(items) == 2
    did[welding.id]["claimed"] += 1
    did[first_aid.id]["claimed"] += 1
    shared = wired.post(
        "/wallet/shares",
        data={"csrf_token": token, "items": items, "title": "For employers"},
        follow_redirects=False,
    )
    assert shared.status_code == 303, shared.text
    did[welding.id]["shared"] += 1
    did[first_aid.id]["shared"] += 1
    share_url = re.search(r'href="(/s/[^"]+)"', wired.get("/wallet").text).group(1)

    # an employer opens the link twice: each credential viewed and verified, twice
    for _ in range(2):
        assert wired.get(share_url).status_code == 200
        for row_id in (welding.id, first_aid.id):
            did[row_id]["viewed"] += 1
            did[row_id]["verified"] += 1
    # the QR code's public page, three times
    row, credential = issued[1]
    for _ in range(3):
        assert wired.get(f"/credentials/{credential.id}").status_code == 200
        did[row.id]["viewed"] += 1
        did[row.id]["verified"] += 1
    # the verification API: the same body five times (answered from the kept result after the
    # first), another body once; the verify page with a file; the VC API
    for _ in range(5):
        assert wired.post("/api/verify", content=credential.document).status_code == 200
        did[row.id]["verified"] += 1
    other_row, other = issued[5]
    assert wired.post("/api/verify", json={"verifiableCredential": json.loads(other.document)})
    did[other_row.id]["verified"] += 1
    page_token = csrf_from(wired.get("/verify").text)
    uploaded = wired.post(
        "/verify",
        data={"csrf_token": page_token},
        files={"file": ("credential.json", other.document.encode(), "application/json")},
    )
    assert uploaded.status_code == 200
    did[other_row.id]["verified"] += 1
    vc_api = wired.post(
        "/credentials/verify", json={"verifiableCredential": json.loads(other.document)}
    )
    assert vc_api.status_code == 200, vc_api.text
    did[other_row.id]["verified"] += 1
    wired.post("/api/verify", json=FOREIGN)  # counts for nobody
    forged = {**json.loads(credential.document), "name": "Forged"}  # names ours, not authentic
    assert wired.post("/api/verify", json=forged).json()["verdict"] == "invalid"

    # two revocations
    for row, credential in (issued[2], issued[3]):
        with transaction(platform.sessions) as session:
            change_state(
                platform, session, staff(platform, org.owner_id), credential.id, "revoke", "error"
            )
        did[row.id]["revoked"] += 1
    jobs.drain(platform)

    usage.flush(platform)  # what the web process would add within seconds, and when it stops
    with transaction(platform.sessions) as session:
        api_token = create_api_token(platform, session, staff(platform, org.owner_id), "numbers")
    answer = wired.get("/api/v1/usage?days=7", headers={"Authorization": f"Bearer {api_token}"})
    assert answer.status_code == 200, answer.text
    numbers = answer.json()
    by_definition = {d["definition_id"]: d["counts"] for d in numbers["definitions"]}
    for row_id, expected in did.items():
        assert by_definition[row_id] == {m: expected[m] for m in usage.METRICS}, row_id
    totals = sum(did.values(), Counter())
    assert numbers["totals"] == {m: totals[m] for m in usage.METRICS}
    assert numbers["all_time"] == numbers["totals"]
    [today] = [d for d in numbers["days"] if d["day"] == platform.now().date().isoformat()]
    assert today["counts"] == numbers["totals"]

    # the dashboard shows the same numbers
    owner = csrf_from(wired.get("/signin").text)
    wired.post(
        "/signin",
        data={
            "email": org.owner_email,
            "password": "correct horse battery staple",
            "csrf_token": owner,
        },
    )
    page = wired.get("/dashboard").text
    for metric in usage.METRICS:
        shown = re.search(
            rf'data-metric="{metric}"><dt>[^<]*</dt><dd><strong>([\d,]+)</strong>', page
        )
        assert shown is not None, metric
        assert int(shown.group(1).replace(",", "")) == totals[metric], metric
    row_html = re.search(rf'<tr data-definition="{welding.id}">.*?</tr>', page, re.S).group(0)
    cells = dict(re.findall(r'data-metric="(\w+)">([\d,]+)<', row_html))
    assert {m: int(v) for m, v in cells.items()} == {m: did[welding.id][m] for m in usage.METRICS}
