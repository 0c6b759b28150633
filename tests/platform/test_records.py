"""The comprehensive learner record (CLR 2.0) from the wallet: verified credentials only, the
macro-credential's components associated by digest, signed by the platform, verified by the
platform's verifier credential by credential, and only ever of the learner's own items."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

from microcred.db.session import transaction
from microcred.db.tables import LearnerAccount
from microcred.services import stacking, status, wallet
from microcred.services.verification import platform_policy, verify_document
from microcred.vc.digest import digest_multibase
from tests.platform.conftest import DEFINITION, issue_to, make_org, publish_definition, signin
from tests.platform.conftest import staff as staff_of

PASSWORD = "learner password 1"


def _learner(platform, name, email):
    with transaction(platform.sessions) as session:
        account = wallet.sign_up(platform, session, name, email, PASSWORD)
        account.email_verified_at = platform.now()
        wallet.claim(platform, session, account)
        return account.id


def _signin(client, email):
    return signin(client, email, PASSWORD, learner=True)


def _setup(platform):
    org = make_org(platform, "acme")
    part_a = publish_definition(platform, org)
    part_b = publish_definition(platform, org, {**DEFINITION, "title": "Welding Inspection"})
    extra = publish_definition(platform, org, {**DEFINITION, "title": "Crane Signalling"})
    macro = publish_definition(
        platform, org, {**DEFINITION, "title": "Certificate in Welding", "workload_ects": 10}
    )
    email = "niamh@example.org"
    for row in (part_a, part_b):
        issue_to(platform, org, row, email, "Niamh O'Brien")
    revoked = issue_to(platform, org, extra, email, "Niamh O'Brien")
    with transaction(platform.sessions) as session:
        status.change_state(
            platform, session, staff_of(platform, org.owner_id), revoked.id, "revoke", "error"
        )
        family = [stacking.family_url(platform, session, r) for r in (part_a, part_b)]
        pathway = stacking.create_pathway(
            platform,
            session,
            staff_of(platform, org.owner_id),
            definition_id=macro.id,
            name="Certificate in Welding",
            rules={"all": [{"credential": {"achievement": [f]}} for f in family]},
        )
        pathway_id = pathway.id
    account_id = _learner(platform, "Niamh O'Brien", email)
    with transaction(platform.sessions) as session:
        account = session.get(LearnerAccount, account_id)
        assert stacking.award(platform, session, pathway_id, account).state == "awarded"
    with transaction(platform.sessions) as session:
        account = session.get(LearnerAccount, account_id)
        wallet.claim(platform, session, account)
        items = {i.id: i.document for i in wallet.items(session, account)}
    return account_id, items


def test_the_learner_downloads_a_verifiable_record_of_their_credentials(platform, wired):
    _, items = _setup(platform)
    assert len(items) == 4  # two parts, the revoked one, the macro-credential
    token = _signin(wired, "niamh@example.org")
    page = wired.get("/wallet").text
    assert 'id="record-form"' in page
    response = wired.post(
        "/wallet/record", data={"csrf_token": token, "items": list(items)}, follow_redirects=False
    )
    assert response.status_code == 200, response.text
    assert "learner-record.json" in response.headers["content-disposition"]
    assert response.headers["x-microcred-left-out"] == "1"  # the revoked credential
    record = response.json()
    assert record["type"] == ["VerifiableCredential", "ClrCredential"]
    assert record["partial"] is True
    subject = record["credentialSubject"]
    inside = subject["verifiableCredential"]
    names = [c["credentialSubject"]["achievement"]["name"] for c in inside]
    assert "Crane Signalling" not in names
    assert len(inside) == 3
    # each credential inside is the wallet's, unchanged
    assert {json.dumps(c, sort_keys=True) for c in inside} <= {
        json.dumps(json.loads(d), sort_keys=True) for d in items.values()
    }
    # the macro-credential's components are associated with it, found by their exact bytes
    macro = next(c for c in inside if c.get("relatedResource"))
    digests = {r["digestMultibase"] for r in macro["relatedResource"]}
    components = [json.loads(d) for d in items.values() if digest_multibase(d.encode()) in digests]
    assert len(components) == 2
    target = macro["credentialSubject"]["achievement"]["id"]
    assert sorted((a["sourceId"], a["targetId"]) for a in subject["association"]) == sorted(
        (c["credentialSubject"]["achievement"]["id"], target) for c in components
    )
    assert {a["associationType"] for a in subject["association"]} == {"isPartOf"}

    # the platform's verifier: the record's proof, then every credential on its own
    result = verify_document(json.dumps(record), platform_policy(platform))
    assert result.report.verified, result.to_json()
    assert result.report.step("components").code == "clr.ok"
    assert result.report.step("trust").code == "trust.record"
    shown = wired.post("/verify", data={"csrf_token": token, "text": json.dumps(record)}).text
    assert 'id="record-credentials"' in shown
    assert "Verified record: signed by microcred at testserver" in shown
    assert "from a quality-assured provider" not in shown  # said per credential, not of the file
    assert shown.count('<span class="tag active">verified</span>') == 3
    assert "Welding Inspection <em>is part of</em> Certificate in Welding" in shown

    # a record with a credential altered inside no longer verifies
    changed = json.loads(json.dumps(record))
    changed["credentialSubject"]["verifiableCredential"][0]["name"] = "Master Welder"
    assert not verify_document(json.dumps(changed), platform_policy(platform)).report.verified


def test_a_record_holds_only_the_learners_own_verified_items(platform, wired):
    _, items = _setup(platform)
    other_id = _learner(platform, "Someone Else", "else@example.org")
    token = _signin(wired, "else@example.org")
    stolen = wired.post(
        "/wallet/record", data={"csrf_token": token, "items": list(items)}, follow_redirects=False
    )
    assert stolen.status_code == 303
    assert "not+in+your+wallet" in stolen.headers["location"]
    empty = wired.post("/wallet/record", data={"csrf_token": token}, follow_redirects=False)
    assert empty.status_code == 303
    assert "choose+at+least+one" in empty.headers["location"]
    without_csrf = wired.post("/wallet/record", data={"items": list(items)})
    assert without_csrf.status_code in (400, 403)
    assert other_id

    # only the revoked one chosen: nothing verifies, a clear refusal, no file
    token = _signin(wired, "niamh@example.org")
    with transaction(platform.sessions, readonly=True) as session:
        account = session.query(LearnerAccount).filter_by(email="niamh@example.org").one()
        revoked = [
            i.id
            for i in wallet.items(session, account)
            if "Crane" in json.loads(i.document)["credentialSubject"]["achievement"]["name"]
        ]
    refused = wired.post(
        "/wallet/record", data={"csrf_token": token, "items": revoked}, follow_redirects=False
    )
    assert refused.status_code == 303
    assert "none+of+the+chosen+credentials+verifies" in refused.headers["location"]


def test_the_command_line_writes_a_record(platform, wired, tmp_path):
    _setup(platform)
    out = tmp_path / "record.json"
    env = {
        **os.environ,
        "MICROCRED_KEK": base64.b64encode(platform.settings.kek).decode(),
        "MICROCRED_ENV": "test",
        "MICROCRED_DATA_DIR": str(platform.settings.data_dir),
        "MICROCRED_DATABASE_URL": platform.settings.database_url,
        "MICROCRED_BASE_URL": platform.settings.base_url,
    }

    def record(email: str, **changes: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "microcred.cli", "record", email, "--out", str(out)],
            env={**env, **changes},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = record("niamh@example.org")
    assert done.returncode == 0, done.stderr
    assert "3 credential(s)" in done.stdout
    assert "left out Crane Signalling" in done.stderr
    written = json.loads(out.read_text())
    assert len(written["credentialSubject"]["verifiableCredential"]) == 3
    result = verify_document(out.read_text(), platform_policy(platform))
    assert result.report.verified, result.to_json()
    wrong_kek = record("niamh@example.org", MICROCRED_KEK=base64.b64encode(bytes(32)).decode())
    assert wrong_kek.returncode == 1
    assert "MICROCRED_KEK is not the key-encryption key" in wrong_kek.stderr
    assert "Traceback" not in wrong_kek.stderr
    missing = record("nobody@example.org")
    assert missing.returncode == 2
    assert "no wallet for nobody@example.org" in missing.stderr


def test_a_record_from_elsewhere_brings_each_credential_into_the_wallet(platform, wired):
    from microcred.vc import clr
    from microcred.vc.credential import sign_credential
    from tests.helpers import ISSUED
    from tests.unit.test_clr import RECORD_KEY, _held, _micro, _record

    _, items = _setup(platform)
    token = _signin(wired, "niamh@example.org")
    record = wired.post("/wallet/record", data={"csrf_token": token, "items": list(items)}).content
    _learner(platform, "Other Learner", "other@example.org")
    token = _signin(wired, "other@example.org")

    def upload(data: bytes):
        return wired.post(
            "/wallet/import",
            data={"csrf_token": token},
            files={"file": ("record.json", data, "application/json")},
            follow_redirects=True,
        )

    page = upload(record).text
    assert "3 credential(s) imported from the record" in page
    assert page.count('class="tag active"') == 3  # verified now (about Niamh, not this learner)
    assert "0 credential(s) imported" in upload(record).text  # already there: not twice

    changed = json.loads(record)
    changed["credentialSubject"]["verifiableCredential"][0]["name"] = "Master Welder"
    refused = upload(json.dumps(changed).encode()).text
    assert "the record does not verify" in refused

    # a record whose own proof holds but with a forged credential inside: kept, marked
    forged = json.loads(_micro("urn:example:first", "First"))
    forged["credentialSubject"]["achievement"]["name"] = "First, with honours"
    held = [*_held(_micro("urn:example:second", "Second")), clr.Held(b"", forged)]
    theirs = sign_credential(_record(held), RECORD_KEY, created=ISSUED)
    page = upload(json.dumps(theirs).encode()).text
    assert "2 credential(s) imported from the record; 1 does not verify and is marked" in page
    with transaction(platform.sessions, readonly=True) as session:
        account = session.query(LearnerAccount).filter_by(email="other@example.org").one()
        kept = wallet.items(session, account)
    assert len(kept) == 5
    assert sorted(i.verified_on_import for i in kept) == [False, True, True, True, True]


def test_a_record_larger_than_verifiers_accept_is_refused_clearly(platform, wired, monkeypatch):
    from microcred.vc import clr

    _, items = _setup(platform)
    monkeypatch.setattr(clr, "MAX_CREDENTIALS", 2)
    token = _signin(wired, "niamh@example.org")
    refused = wired.post(
        "/wallet/record", data={"csrf_token": token, "items": list(items)}, follow_redirects=True
    )
    assert "a record holds at most 2 credentials (3 chosen verify); choose fewer" in refused.text


def test_a_record_too_large_for_verifiers_is_never_written(platform, wired, monkeypatch):
    """The platform writes no record its own verifier would refuse to read (issue 13)."""
    from microcred.services import records

    _, items = _setup(platform)
    token = _signin(wired, "niamh@example.org")
    whole = wired.post("/wallet/record", data={"csrf_token": token, "items": list(items)})
    assert whole.status_code == 200
    monkeypatch.setattr(records, "DEFAULT_MAX_BYTES", len(whole.content) - 2048)
    refused = wired.post(
        "/wallet/record", data={"csrf_token": token, "items": list(items)}, follow_redirects=True
    )
    assert "verifiers read records of up to" in refused.text
    assert "choose at most about 2" in refused.text
