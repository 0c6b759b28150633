"""Bulk CSV issuing: a row-level report, exactly the good rows issued, once, even after a crash."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from microcred.db.session import transaction
from microcred.db.tables import Credential
from microcred.domain.errors import DomainError
from microcred.services.bulk import issue_csv
from tests.platform.conftest import make_org, publish_definition

GOOD_AND_BAD = b"""name,email,outcomes,issued_on,reference
Ada Lovelace,ada@example.org,all,2026-03-01,
Missing Email,,all,2026-03-01,
Alan Turing,alan@example.org,1;7,2026-03-01,
Grace Hopper,grace@example.org,all,2026-13-45,
Ada Lovelace,ada@example.org,all,2026-03-01,
Katherine Johnson,katherine@example.org,1;2,,
Half Done,half@example.org,1,2026-03-01,
Mary Jackson,mary@example.org,all,,row-8
Dorothy Vaughan,,,,
"""


def _count(platform) -> int:
    with transaction(platform.sessions, readonly=True) as session:
        return session.scalar(select(func.count()).select_from(Credential)) or 0


def test_bad_rows_are_reported_and_good_rows_issued_once(platform):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    report = issue_csv(platform, org.staff["issuer"], row.id, GOOD_AND_BAD)
    problems = {(p.row, p.column): p.reason for p in report.problems}
    assert problems[(3, "email")] == "the email is missing"
    assert problems[(4, "outcomes")] == "unknown learning outcome '7'"
    assert problems[(5, "issued_on")].startswith("not a date (YYYY-MM-DD)")
    assert problems[(6, "*")] == "duplicate of row 2"
    assert problems[(8, "outcomes")].startswith("not awarded: 1 learning outcome(s) not achieved")
    assert problems[(10, "email")] == "the email is missing"
    assert report.issued == 3  # Ada, Katherine, Mary
    assert report.total == 9
    assert _count(platform) == 3

    again = issue_csv(platform, org.staff["issuer"], row.id, GOOD_AND_BAD)
    assert again.issued == 0
    assert again.already == 3
    assert _count(platform) == 3


def test_a_run_killed_midway_resumes_without_duplicates(platform):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    lines = ["name,email"] + [f"Learner {i},learner{i}@example.org" for i in range(12)]
    data = ("\n".join(lines) + "\n").encode()

    class KilledError(Exception):
        pass

    def crash_after_five(done: int, total: int) -> None:
        if done == 5:
            raise KilledError

    with pytest.raises(KilledError):
        issue_csv(platform, org.staff["issuer"], row.id, data, crash_after_five)
    assert _count(platform) == 5
    report = issue_csv(platform, org.staff["issuer"], row.id, data)
    assert (report.issued, report.already) == (7, 5)
    with transaction(platform.sessions, readonly=True) as session:
        emails = session.scalars(select(Credential.recipient_email)).all()
    assert sorted(emails) == sorted(f"learner{i}@example.org" for i in range(12))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "bulk.empty"),
        (b"email\nx@example.org\n", "bulk.column_missing"),
        (b"name,email,colour\n", "bulk.column_unknown"),
        (b"\xff\xfename,email\n", "bulk.not_utf8"),
    ],
)
def test_file_level_problems(platform, data, code):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    with pytest.raises(DomainError) as caught:
        issue_csv(platform, org.staff["issuer"], row.id, data)
    assert caught.value.code == code
    assert _count(platform) == 0


def test_a_viewer_cannot_bulk_issue(platform):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    with pytest.raises(DomainError) as caught:
        issue_csv(platform, org.staff["viewer"], row.id, b"name,email\nA,a@example.org\n")
    assert caught.value.code == "forbidden"


def test_bulk_upload_through_the_ui_shows_the_report(platform, client):
    from tests.platform.conftest import signin

    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    token = signin(client, f"issuer@{org.slug}.example")
    response = client.post(
        f"/definitions/{row.id}/bulk",
        data={"csrf_token": token},
        files={"file": ("learners.csv", GOOD_AND_BAD, "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    job_url = response.headers["location"]
    import time

    for _ in range(100):
        page = client.get(job_url + "/progress").text
        if "Done:" in page:
            break
        time.sleep(0.1)
    assert "3 issued" in page
    assert "unknown learning outcome" in page
    assert "duplicate of row 2" in page


def test_killing_the_cli_midway_then_rerunning_issues_each_row_once(
    platform, database_url, tmp_path
):
    import os
    import signal
    import subprocess
    import sys
    import time

    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    rows = 300
    csv_path = tmp_path / "cohort.csv"
    csv_path.write_text(
        "name,email\n" + "".join(f"Learner {i},learner{i}@example.org\n" for i in range(rows))
    )
    env = {
        **os.environ,
        "MICROCRED_DATABASE_URL": database_url,
        "MICROCRED_ENV": "test",
        "MICROCRED_DATA_DIR": str(tmp_path / "data"),
        "MICROCRED_BASE_URL": "http://testserver",
        "MICROCRED_KEK": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "MICROCRED_SECRET_KEY": "test",
    }
    command = [
        sys.executable,
        "-m",
        "microcred.cli",
        "issue-bulk",
        str(csv_path),
        "--definition",
        str(row.id),
        "--json",
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while _count(platform) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = _count(platform)
    assert 40 <= killed_at < rows, killed_at
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    assert report["issued"] + report["already_issued"] == rows
    assert report["already_issued"] == killed_at
    with transaction(platform.sessions, readonly=True) as session:
        emails = session.scalars(select(Credential.recipient_email)).all()
    assert len(emails) == rows
    assert len(set(emails)) == rows
