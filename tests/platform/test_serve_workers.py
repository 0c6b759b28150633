"""``microcred serve --workers 2``: keep-alive clients are spread over both processes (a socket
each, ``SO_REUSEPORT``), and a worker killed with ``kill -9`` is replaced on its socket, so the
connections the kernel hashes to it are answered again.

Before, both workers shared one socket and one of them could take every connection: under a
16-connection load, every ``/api/verify`` request went to one process (issue 13)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.platform.conftest import POSTGRES

CLIENTS = 16
# the processes and sockets are what is tested: once, on SQLite
pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs once, in the SQLite pass")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pids_answering(log: Path) -> Counter[int]:
    """Requests per process for ``GET /registry.json``, from the JSON access lines."""
    seen: Counter[int] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("logger") == "microcred.access" and entry.get("path") == "/registry.json":
            seen[int(entry["pid"])] += 1
    return seen


def _answer(sock: socket.socket) -> int:
    """Read one HTTP/1.1 response (Content-Length framed) from ``sock``; its status."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    return int(lines[0].split()[1])


def _each_client_asks(port: int) -> None:
    """``CLIENTS`` keep-alive connections, all opened before any request (as a load generator
    or a proxy opens its pool), then each asks three times."""
    clients = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(CLIENTS)]
    request = b"GET /registry.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    try:
        for _round in range(3):
            for client in clients:
                client.sendall(request)
            for client in clients:
                assert _answer(client) == 200
    finally:
        for client in clients:
            client.close()


def _until(
    condition: Callable[[], Any], what: str, process: subprocess.Popen[bytes], timeout: float = 90
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert process.poll() is None, f"the server exited while waiting for {what}"
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _worker_pids(parent: int) -> list[int]:
    """The supervisor's worker processes (uvicorn's spawn children, not its resource tracker)."""
    found = []
    for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        command = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"spawn_main" in command:
            found.append(int(child))
    return found


def test_two_workers_share_the_load_and_a_killed_one_is_replaced(tmp_path):
    port = _port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "MICROCRED_DATABASE_URL": f"sqlite:///{tmp_path / 'microcred.db'}",
        "MICROCRED_DATA_DIR": str(tmp_path / "data"),
        "MICROCRED_ENV": "test",
        "MICROCRED_LOG_FORMAT": "json",
        "MICROCRED_KEK": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    }
    command = [sys.executable, "-m", "microcred.cli", "serve", "--workers", "2", "--no-jobs"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        _until(up, "the server", server)
        workers = _until(lambda: len(_worker_pids(server.pid)) == 2, "two workers", server)
        assert workers

        _each_client_asks(port)
        # a request's access line is written just after its answer is sent
        _until(lambda: sum(_pids_answering(log).values()) == 3 * CLIENTS, "the log", server)
        by_process = _pids_answering(log)
        assert len(by_process) == 2, f"one process answered every connection: {by_process}"

        killed = _worker_pids(server.pid)[0]
        os.kill(killed, signal.SIGKILL)
        _until(
            lambda: len(set(_worker_pids(server.pid)) - {killed}) == 2,
            "a replacement worker",
            server,
        )
        _each_client_asks(port)  # connections hashed to the killed worker's socket too
        _until(lambda: sum(_pids_answering(log).values()) == 6 * CLIENTS, "the log", server)
        assert len(_pids_answering(log)) == 3  # the replacement answered its share

        # a second server on the same port is refused, not let in to share the connections
        second = subprocess.run(
            [*command, "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode == 1, second.stdout + second.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in second.stdout
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
