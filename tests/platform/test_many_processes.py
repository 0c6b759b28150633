"""Issue 11, acceptance 2: two web processes and two workers on PostgreSQL share one bulk upload.

A 20,000-row CSV is uploaded through the web page of one ``microcred serve``; two ``microcred
worker`` processes issue it; one is killed with ``kill -9`` in the middle of a chunk; the other
takes that chunk up again and finishes. Each row then has exactly one credential and one status
index, both web processes show the same finished progress, and a real SMTP server (aiosmtpd)
has received, for each learner, messages with one and the same Message-ID derived from the row.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from microcred.db.session import transaction
from microcred.db.tables import BulkRow, Credential
from microcred.services.mail import message_id
from tests.platform.conftest import PASSWORD, POSTGRES, make_org, publish_definition

ROWS = int(os.environ.get("MICROCRED_TEST_BULK_ROWS", "20000"))
KEK = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # bytes(range(32)), as make_settings
pytestmark = pytest.mark.skipif(not POSTGRES, reason="the multi-process scenario is PostgreSQL's")


class Headers:
    """aiosmtpd handler: keeps (recipient, Message-ID) of every message received."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        headers = BytesHeaderParser().parsebytes(envelope.content)
        with self.lock:
            for to in envelope.rcpt_tos:
                self.seen.append((to, str(headers["Message-ID"])))
        return "250 OK"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Headers, int]]:
    handler, port = Headers(), _port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


class Fleet:
    """The processes of the scenario, their logs in files, all stopped at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        command = [sys.executable, "-m", "microcred.cli", *args]
        with (self.logs / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _until(condition: Any, what: str, timeout: float, fleet: Fleet) -> Any:
    """Wait on ``condition`` (polled), failing with the processes' state after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        dead = {n: p.returncode for n, p in fleet.processes.items() if p.poll() is not None}
        unexpected = {n: rc for n, rc in dead.items() if n != "worker-a"}
        assert not unexpected, f"{unexpected} exited while waiting for {what}"
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


def _progress(client: httpx.Client, upload_url: str) -> str:
    response = client.get(upload_url + "/progress")
    assert response.status_code == 200, response.text
    return response.text


def test_two_web_processes_and_two_workers_share_a_bulk_upload(
    platform, database_url, tmp_path, smtp
):
    handler, smtp_port = smtp
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    env = {
        **os.environ,
        "MICROCRED_DATABASE_URL": database_url,
        "MICROCRED_ENV": "test",
        "MICROCRED_DATA_DIR": str(tmp_path / "data"),
        "MICROCRED_BASE_URL": "http://testserver",
        "MICROCRED_KEK": KEK,
        "MICROCRED_SECRET_KEY": platform.settings.secret_key,
        "MICROCRED_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}?timeout=30",
        "MICROCRED_LOG_FORMAT": "text",
    }
    fleet = Fleet(env, tmp_path)
    web = [_port(), _port()]
    clients: list[httpx.Client] = []
    try:
        for n, port in enumerate(web):
            fleet.start(f"web-{n}", "serve", "--no-jobs", "--port", str(port))
        for name in ("worker-a", "worker-b"):
            fleet.start(name, "worker", "--stalled-after", "6")
        clients += [
            httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Host": "testserver"})
            for port in web
        ]

        def up(client: httpx.Client) -> bool:
            try:
                return client.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        _until(lambda: all(up(c) for c in clients), "the web processes", 60, fleet)

        # sign in on the first web process, upload through its form
        first, second = clients
        page = first.get("/signin").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        signed_in = first.post(
            "/signin",
            data={
                "email": f"issuer@{org.slug}.example",
                "password": PASSWORD,
                "csrf_token": token[1],
            },
        )
        assert signed_in.status_code in (200, 303), signed_in.text
        form = first.get(f"/definitions/{row.id}/bulk").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token
        data = "name,email,reference\n" + "".join(
            f"Learner {i},learner{i}@example.org,row-{i}\n" for i in range(ROWS)
        )
        uploaded = first.post(
            f"/definitions/{row.id}/bulk",
            data={"csrf_token": token[1]},
            files={"file": ("cohort.csv", data.encode(), "text/csv")},
            timeout=120,
        )
        assert uploaded.status_code == 303, uploaded.text
        upload_url = uploaded.headers["location"]
        second.cookies = first.cookies  # the same signed-in staff member on the other process

        # kill worker A in the middle of a chunk, once some of the upload is done
        def a_mid_chunk() -> bool:
            lines = [
                line for line in fleet.log("worker-a").splitlines() if "job bulk.chunk" in line
            ]
            enough = 10 if ROWS >= 5000 else 2  # a few chunks each, then the kill
            return len(lines) >= enough and "job bulk.chunk started" in lines[-1]

        _until(a_mid_chunk, "worker A inside a chunk", 300, fleet)
        fleet.processes["worker-a"].send_signal(signal.SIGKILL)
        fleet.processes["worker-a"].wait()
        killed_at = _count(platform, Credential)
        assert killed_at < ROWS

        # the other worker finishes; both web processes tell the same
        _until(lambda: "Done:" in _progress(second, upload_url), "the upload", 1500, fleet)
        pages = [_progress(c, upload_url) for c in clients]
        for page in pages:
            done = f"Done: {ROWS:,} issued, 0 already issued before, 0 rows rejected, of {ROWS:,}."
            assert done in page
        assert "stalled: queued again" in fleet.log("worker-b")  # A's chunk was taken up

        # exactly one credential and one status index per row
        with transaction(platform.sessions, readonly=True) as session:
            rows = session.execute(
                select(
                    BulkRow.line,
                    BulkRow.idempotency_key,
                    BulkRow.credential_id,
                    BulkRow.state,
                )
            ).all()
            credentials = session.execute(
                select(
                    Credential.id,
                    Credential.recipient_email,
                    Credential.idempotency_key,
                    Credential.status_list_id,
                    Credential.status_index,
                )
            ).all()
        assert len(rows) == ROWS
        assert {r.state for r in rows} == {"issued"}
        assert len(credentials) == ROWS
        assert len({c.idempotency_key for c in credentials}) == ROWS
        assert {r.credential_id for r in rows} == {c.id for c in credentials}
        assert len({(c.status_list_id, c.status_index) for c in credentials}) == ROWS

        # every learner's messages carry one Message-ID, the one derived from their row
        expected = {
            c.recipient_email: message_id(
                platform.settings, "credential-issued", c.id, c.idempotency_key
            )
            for c in credentials
        }

        def all_mailed() -> bool:
            with handler.lock:
                return len({to for to, _ in handler.seen}) >= ROWS

        _until(all_mailed, "an email to every learner", 600, fleet)
        with handler.lock:
            ids: dict[str, set[str]] = defaultdict(set)
            for to, mid in handler.seen:
                ids[to].add(mid)
        assert set(ids) == set(expected)
        assert all(ids[to] == {expected[to]} for to in expected)
        print(
            f"\n{ROWS} rows; worker A killed at {killed_at} credentials; "
            f"{len(handler.seen)} messages for {len(ids)} learners"
        )
    finally:
        for client in clients:
            client.close()
        fleet.stop()


def _count(platform: Any, table: Any) -> int:
    with transaction(platform.sessions, readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)
