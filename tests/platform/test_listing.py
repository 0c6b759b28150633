"""The issued list: every credential reachable a page at a time (none silently left out), named
by its micro-credential, filtered, and downloadable as CSV with the same filters."""

from __future__ import annotations

import csv
import io
import re

from microcred.db.session import transaction
from microcred.services import listing
from microcred.services.status import change_state
from tests.platform.conftest import (
    DEFINITION,
    issue_to,
    make_org,
    publish_definition,
    signin,
    staff,
)


def _ids(page: str) -> list[str]:
    return re.findall(r'<tr data-credential="([^"]+)">', page)


def test_pages_filters_and_csv(platform, client, monkeypatch):
    monkeypatch.setattr(listing, "PER_PAGE", 4)  # a few rows make several pages
    org = make_org(platform, "acme")
    welding = publish_definition(platform, org)
    first_aid = publish_definition(platform, org, {**DEFINITION, "title": "First Aid"})
    issued = [
        issue_to(platform, org, welding, f"w{n}@example.org", f"Welder {n}") for n in range(7)
    ]
    issued += [
        issue_to(platform, org, first_aid, f"f{n}@example.org", f"Medic {n}") for n in range(3)
    ]
    sneaky = issue_to(platform, org, first_aid, "x@example.org", '=HYPERLINK("http://x")')
    with transaction(platform.sessions) as session:
        change_state(
            platform, session, staff(platform, org.owner_id), issued[0].id, "revoke", "error"
        )
    other = make_org(platform, "other")
    issue_to(platform, other, publish_definition(platform, other), "o@example.org", "Not Ours")
    signin(client, org.owner_email)

    seen: list[str] = []
    page_number = 1
    while True:
        page = client.get(f"/manage/credentials?page={page_number}").text
        seen += _ids(page)
        if 'rel="next"' not in page:
            break
        page_number += 1
    assert page_number == 3  # 11 credentials, 4 a page
    assert len(seen) == len(set(seen)) == 11  # every one once, none of another provider's
    assert "11 credentials · page 3 of 3" in page
    assert "First Aid" in page
    assert "Welding Safety" in client.get("/manage/credentials").text

    only_welding = client.get(f"/manage/credentials?definition={welding.id}").text
    assert "7 credentials" in only_welding
    revoked = client.get("/manage/credentials?state=revoked").text
    assert _ids(revoked) == [issued[0].id]
    medics = client.get("/manage/credentials?q=MEDIC").text
    assert "3 credentials" in medics
    today = platform.now().date().isoformat()
    assert "11 credentials" in client.get(f"/manage/credentials?issued_from={today}").text
    assert "0 credentials" in client.get("/manage/credentials?issued_to=2000-01-01").text
    bad = client.get("/manage/credentials?issued_from=yesterday")
    assert bad.status_code == 422
    assert "YYYY-MM-DD" in bad.text

    download = client.get(f"/manage/credentials.csv?definition={first_aid.id}")
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == (
        f'attachment; filename="issued-credentials-{today}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 4
    assert {r["micro-credential"] for r in rows} == {"First Aid"}
    [formula] = [r for r in rows if r["id"] == sneaky.id]
    assert formula["learner"] == '\'=HYPERLINK("http://x")'  # never run by a spreadsheet
    assert rows[0]["public page"].startswith("http://testserver/credentials/")
    everything = list(csv.DictReader(io.StringIO(client.get("/manage/credentials.csv").text)))
    assert len(everything) == 11


def test_learners_and_assessments_lists(platform, client, monkeypatch):
    from datetime import date

    from microcred.db.tables import Definition, Provider, Staff
    from microcred.domain.assessment import OutcomeResult
    from microcred.services import issuing

    monkeypatch.setattr(listing, "PER_PAGE", 3)
    org = make_org(platform, "acme")
    welding = publish_definition(platform, org)
    for n in range(5):
        issue_to(platform, org, welding, f"w{n}@example.org", f"Welder {n}")
    with transaction(platform.sessions) as session:  # two assessments: passed, not passed
        provider = session.get(Provider, org.provider_id)
        row = session.get(Definition, welding.id)
        owner = session.get(Staff, org.owner_id)
        learner = issuing.upsert_learner(platform, session, provider, "=cmd", "c@example.org")
        for achieved in (True, False):
            issuing.record_assessment(
                platform, session, owner, learner=learner, definition_id=row.id,
                results=[OutcomeResult(o["id"], achieved) for o in row.data["learning_outcomes"]],
                grade=None, supervision="supervised", assessed_on=date(2026, 11, 30),
            )  # fmt: skip
    signin(client, org.owner_email)
    first = client.get("/learners").text
    assert "6 learners" in first
    assert 'rel="next"' in first
    second = client.get("/learners?page=2").text
    rows = re.findall(r'<tr data-learner="\d+">', first + second)
    assert len(rows) == 6
    assert "1 learner" in client.get("/learners?q=W3@").text
    learners = list(csv.DictReader(io.StringIO(client.get("/learners.csv").text)))
    assert len(learners) == 6
    [command] = [r for r in learners if r["email"] == "c@example.org"]
    assert command["name"] == "'=cmd"
    assert (command["credentials"], command["assessments"]) == ("0", "2")

    assert "2 assessments" in client.get("/assessments").text
    failed = client.get("/assessments?outcome=not_passed").text
    assert "1 assessment" in failed
    assert 'data-passed="no"' in failed
    assert 'data-passed="yes"' not in failed
    exported = list(csv.DictReader(io.StringIO(client.get("/assessments.csv?outcome=passed").text)))
    assert [(r["learner"], r["passed"], r["outcomes achieved"]) for r in exported] == [
        ("'=cmd", "yes", "2/2")
    ]
