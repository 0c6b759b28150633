"""Bulk CSV issuing: a row-level report, exactly the good rows issued, once, even after a crash."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from microcred.db.session import transaction
from microcred.db.tables import BulkRow, Credential
from microcred.domain.errors import DomainError
from microcred.services import bulk, jobs, outbox
from microcred.services.mail import message_id
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


def issue_csv(platform, staff_id: int, definition_id: int, data: bytes) -> bulk.UploadProgress:
    """Upload, let the queue work it off, and read the upload's progress."""
    upload_id = bulk.upload_as(platform, staff_id, definition_id, data, "learners.csv")
    jobs.drain(platform)
    return bulk.progress_of(platform, upload_id)


def test_bad_rows_are_reported_and_good_rows_issued_once(platform):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    report = issue_csv(platform, org.staff["issuer"], row.id, GOOD_AND_BAD)
    assert report.done
    problems = {(p.row, p.column): p.reason for p in report.problems}
    assert problems[(3, "email")] == "the email is missing"
    assert problems[(4, "outcomes")] == "unknown learning outcome '7'"
    assert problems[(5, "issued_on")].startswith("not a date (YYYY-MM-DD)")
    assert problems[(6, "*")] == "duplicate of row 2"
    assert problems[(8, "outcomes")].startswith("not awarded: 1 learning outcome(s) not achieved")
    assert problems[(10, "email")] == "the email is missing"
    assert report.issued == 3  # Ada, Katherine, Mary
    assert report.upload.rows_total == 9
    assert _count(platform) == 3

    again = issue_csv(platform, org.staff["issuer"], row.id, GOOD_AND_BAD)
    assert (again.issued, again.already) == (0, 3)
    assert _count(platform) == 3
    for upload in (report.upload, again.upload):  # the kept counts are the rows' own
        assert _states(platform, upload.id) == {
            "issued": upload.rows_issued,
            "already": upload.rows_already,
            "refused": upload.rows_refused,
            "pending": upload.rows_pending,
        }


def _states(platform, upload_id: str) -> dict[str, int]:
    with transaction(platform.sessions, readonly=True) as session:
        counted = dict(
            session.execute(
                select(BulkRow.state, func.count())
                .where(BulkRow.upload_id == upload_id)
                .group_by(BulkRow.state)
            ).all()
        )
    return {s: counted.get(s, 0) for s in ("issued", "already", "refused", "pending")}


def test_each_learner_gets_one_message_id_derived_from_the_row(platform):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    data = (
        b"name,email,reference\n"
        b"Ada Lovelace,ada@example.org,r-1\nAlan Turing,alan@example.org,r-2\n"
    )
    issue_csv(platform, org.staff["issuer"], row.id, data)
    with transaction(platform.sessions, readonly=True) as session:
        credentials = session.scalars(select(Credential)).all()
    assert len(credentials) == 2
    for credential in credentials:
        [mail] = outbox.messages(platform, credential.recipient_email, "credential-issued")
        assert credential.idempotency_key == f"bulk:r-{1 if 'ada' in mail['to'] else 2}"
        assert mail["message_id"] == message_id(
            platform.settings, "credential-issued", credential.id, credential.idempotency_key
        )
        assert "Acme" in mail["from"] or org.slug in mail["from"].lower()


def test_a_chunk_that_crashes_is_retried_and_issues_each_row_once(platform, monkeypatch):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    lines = ["name,email"] + [f"Learner {i},learner{i}@example.org" for i in range(150)]
    data = ("\n".join(lines) + "\n").encode()
    real_store = bulk._store
    crashes = []

    def store_then_crash(app, prepared, signed):
        if prepared.chunk == 1 and not crashes:
            crashes.append(prepared.chunk)
            raise OSError("the worker lost its database connection")
        real_store(app, prepared, signed)

    monkeypatch.setattr(bulk, "_store", store_then_crash)
    upload_id = bulk.upload_as(platform, org.staff["issuer"], row.id, data, "cohort.csv")
    jobs.drain(platform)
    middle = bulk.progress_of(platform, upload_id)
    assert crashes == [1]
    assert (middle.issued, middle.pending, middle.done) == (100, 50, False)  # retry waits
    bulk.run_chunk(platform, upload_id, 1)  # the retry (its backoff skipped)
    report = bulk.progress_of(platform, upload_id)
    assert (report.issued, report.pending, report.done) == (150, 0, True)
    with transaction(platform.sessions, readonly=True) as session:
        emails = session.scalars(select(Credential.recipient_email)).all()
        held = session.scalars(select(BulkRow.status_index)).all()
        rows = session.scalars(select(BulkRow)).all()
    assert sorted(emails) == sorted(f"learner{i}@example.org" for i in range(150))
    assert len(set(held)) == 150  # each row kept the one status index it was given
    assert all(r.award == {} for r in rows)  # names and emails dropped once done


def test_a_chunk_run_twice_at_once_issues_each_row_once(platform):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    lines = ["name,email"] + [f"Learner {i},learner{i}@example.org" for i in range(60)]
    upload_id = bulk.upload_as(
        platform, org.staff["issuer"], row.id, ("\n".join(lines) + "\n").encode(), "c.csv"
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            bulk.run_chunk(platform, upload_id, 0)
        except Exception as exc:  # noqa: BLE001 - a lost race may fail; a retry finds them done
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bulk.run_chunk(platform, upload_id, 0)  # as a retry of a failed one would
    report = bulk.progress_of(platform, upload_id)
    assert (report.issued, report.pending) == (60, 0)
    assert _count(platform) == 60
    assert len(errors) <= 1, errors


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
    assert not jobs.pending(platform)


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
    page = client.get(job_url + "/progress").text  # the test client's worker has kept up
    assert "Done: 3 issued" in page
    form = client.get(f"/definitions/{row.id}/bulk").text
    assert f'href="{job_url}">learners.csv</a>' in form  # listed under the recent uploads
    refused = client.post(
        f"/definitions/{row.id}/bulk",
        data={"csrf_token": token},
        files={"file": ("colours.csv", b"name,email,colour\n", "text/csv")},
    )
    assert refused.status_code == 422  # and, by the suite's guard, nothing written
    assert "unknown column(s): colour" in refused.text
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
    assert report["state"] == "done"
    assert report["issued"] + report["already_issued"] == rows
    assert report["already_issued"] >= killed_at  # the killed run's rows, finished by this one
    with transaction(platform.sessions, readonly=True) as session:
        emails = session.scalars(select(Credential.recipient_email)).all()
    assert len(emails) == rows
    assert len(set(emails)) == rows


def test_email_goes_out_while_the_rest_of_the_file_is_issued(platform):
    """Mail jobs come before bulk chunks: the first learners hear of their credential without
    waiting for the whole file."""
    from sqlalchemy import text

    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    lines = ["name,email"] + [f"Learner {i},l{i}@example.org" for i in range(3 * bulk.CHUNK_ROWS)]
    upload_id = bulk.upload_as(
        platform, org.staff["issuer"], row.id, ("\n".join(lines) + "\n").encode(), "c.csv"
    )
    bulk.run_chunk(platform, upload_id, 0)  # one chunk stored: its email job is queued
    with transaction(platform.sessions, readonly=True) as session:
        if jobs.on_postgresql(platform):
            waiting = session.execute(
                text(
                    "SELECT task_name, priority FROM procrastinate_jobs "
                    "WHERE status = 'todo' ORDER BY priority DESC, id"
                )
            ).all()
        else:
            waiting = session.execute(
                select(jobs.Job.task, jobs.Job.priority)
                .where(jobs.Job.status == "todo")
                .order_by(jobs.Job.priority.desc(), jobs.Job.id)
            ).all()
    assert tuple(waiting[0]) == ("mail.send", 10)
    assert {tuple(w) for w in waiting[1:]} == {("bulk.chunk", 0)}
    if not jobs.on_postgresql(platform):  # the embedded runner claims by priority
        runner = jobs.LocalRunner(platform)
        assert runner.run_one()
        assert len(outbox.messages(platform)) == bulk.CHUNK_ROWS
        assert bulk.progress_of(platform, upload_id).to_json()["state"] == "running"


def test_a_large_upload_refreshes_the_statistics_as_it_goes(platform, monkeypatch):
    analyzed = []
    real = bulk._analyze
    monkeypatch.setattr(bulk, "ANALYZE_EVERY", 1)
    monkeypatch.setattr(bulk, "_analyze", lambda app: analyzed.append(1) or real(app))
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    lines = ["name,email"] + [f"Learner {i},l{i}@example.org" for i in range(150)]
    progress = issue_csv(platform, org.staff["issuer"], row.id, ("\n".join(lines) + "\n").encode())
    assert progress.to_json()["issued"] == 150
    assert len(analyzed) == 2  # after each of the two chunks (ANALYZE on PostgreSQL)


def test_the_row_report_downloads_with_every_row(platform, client):
    import csv as csv_module
    import io

    from tests.platform.conftest import signin

    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    report = issue_csv(platform, org.staff["issuer"], row.id, GOOD_AND_BAD)
    signin(client, "issuer@acme.example")
    page = client.get(f"/bulk/{report.upload.id}").text
    assert f'href="/bulk/{report.upload.id}/report.csv"' in page
    answer = client.get(f"/bulk/{report.upload.id}/report.csv")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="learners-csv-report.csv"'
    rows = {int(r["row"]): r for r in csv_module.DictReader(io.StringIO(answer.text))}
    assert sorted(rows) == list(range(2, 11))  # every data row of the file, once
    assert rows[2]["outcome"] == "issued"
    assert rows[2]["email"] == "ada@example.org"
    assert rows[2]["credential"]
    assert rows[3]["outcome"] == "rejected: not issued"
    assert rows[3]["reason"] == "the email is missing"
    assert rows[6]["reason"] == "duplicate of row 2"
    assert sum(r["outcome"] == "issued" for r in rows.values()) == report.issued
    other = make_org(platform, "other")
    signin(client, other.owner_email)
    assert client.get(f"/bulk/{report.upload.id}/report.csv").status_code == 404
