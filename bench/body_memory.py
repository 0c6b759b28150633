"""Server memory under oversized bodies (issue 12, acceptance 3).

Starts ``microcred serve`` on a fresh SQLite database, notes its resident memory (VmRSS) when idle,
then for ``--seconds`` has ``--clients`` threads each send 50 MB bodies over and over: half to
``/api/verify``, half as a CSV upload to a signed-in provider's bulk form; some with a
``Content-Length``, some chunked (no length: the server must cut them off as they arrive).
Prints the idle RSS, the peak RSS and the answers seen. Loopback only; the numbers are this
machine's.

    .venv/bin/python bench/body_memory.py [--seconds 30] [--clients 8] [--mb 50]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

BOUNDARY = "microcredbench"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sign_in(port: int, email: str, password: str) -> tuple[str, str, int]:
    """A session cookie, the CSRF token of the bulk form, and a published definition's id."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/signin")
    answer = conn.getresponse()
    cookie = answer.getheader("set-cookie", "").split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', answer.read().decode())
    if token is None:
        raise SystemExit("no CSRF token on /signin")
    body = f"email={email}&password={password}&csrf_token={token[1]}".replace("@", "%40")
    conn.request(
        "POST",
        "/signin",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    answer = conn.getresponse()
    answer.read()
    cookie = answer.getheader("set-cookie", "").split(";", 1)[0] or cookie
    conn.request("GET", "/definitions", headers={"Cookie": cookie})
    page = conn.getresponse().read().decode()
    definition = re.search(r'href="/definitions/(\d+)/bulk"', page) or re.search(
        r'href="/definitions/(\d+)"', page
    )
    assert definition, "no definition on /definitions"
    conn.request("GET", f"/definitions/{definition[1]}/bulk", headers={"Cookie": cookie})
    form = conn.getresponse().read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "no CSRF token on the bulk form"
    conn.close()
    return cookie, token[1], int(definition[1])


def send(
    port: int,
    path: str,
    size: int,
    headers: dict[str, str],
    chunked: bool,
    head: bytes = b"",
) -> int:
    """Send ``head`` then CSV-like rows up to ``size`` bytes and return the status, or 0 when the
    server closed the connection while we were still sending (it refused the rest)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    row = b"Learner Name,learner@example.org\n"
    piece = head + row * ((256 * 1024) // len(row))
    try:
        conn.putrequest("POST", path)
        for name, value in headers.items():
            conn.putheader(name, value)
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        else:
            conn.putheader("Content-Length", str(size))
        conn.endheaders()
        sent = 0
        while sent < size:
            chunk = piece[: min(len(piece), size - sent)]
            piece = piece[len(head) :] if sent == 0 and head else piece
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            sent += len(chunk)
        if chunked:
            conn.send(b"0\r\n\r\n")
        answer = conn.getresponse()
        answer.read()
        return answer.status
    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
        try:
            return conn.getresponse().status
        except Exception:  # noqa: BLE001 - the connection is gone: the server refused
            return 0
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--only", choices=("verify", "bulk"), default=None)
    args = parser.parse_args()
    size = args.mb * 1000 * 1000
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {
            **os.environ,
            "MICROCRED_DATA_DIR": data,
            "MICROCRED_ENV": "development",
            "MICROCRED_LOG_LEVEL": "WARNING",
            "MICROCRED_RATE_ANONYMOUS": "1000000",  # measure the body limits, not the rate limit
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "microcred.cli", "serve", "--demo", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        email = password = None
        assert server.stdout is not None
        for line in server.stdout:
            if "email:" in line:
                email = line.split("email:", 1)[1].strip()
            if "password:" in line:
                password = line.split("password:", 1)[1].split()[0]
            if email and password:
                break
        if not (email and password):
            raise SystemExit("the demo sign-in was not printed")
        threading.Thread(target=server.stdout.read, daemon=True).start()  # drain its output
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        cookie, token, definition = sign_in(port, email, password)
        time.sleep(2)  # settle after start-up and sign-in
        idle = rss_kib(server.pid)
        peak = idle
        answers: Counter[str] = Counter()
        stop = time.monotonic() + args.seconds
        lock = threading.Lock()

        def client(n: int) -> None:
            verify = args.only == "verify" if args.only else n % 2 == 0
            chunked = (n // 2) % 2 == 1
            path = "/api/verify" if verify else f"/definitions/{definition}/bulk"
            headers = (
                {"Content-Type": "application/json"}
                if verify
                else {
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                    "Cookie": cookie,
                }
            )
            # the bulk form as a browser sends it: the CSRF field, then the file part
            head = (
                b""
                if verify
                else (
                    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
                    f'{token}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="cohort.csv"\r\nContent-Type: text/csv\r\n\r\nname,email\n'
                ).encode()
            )
            while time.monotonic() < stop:
                status = send(port, path, size, headers, chunked, head)
                with lock:
                    answers[
                        f"{path.split('/')[-1]} {'chunked' if chunked else 'length'} {status}"
                    ] += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            peak = max(peak, rss_kib(server.pid))
            time.sleep(0.05)
        server.terminate()
        server.wait(30)
    print(
        f"idle RSS {idle / 1024:.1f} MiB, peak RSS {peak / 1024:.1f} MiB, "
        f"growth {(peak - idle) / 1024:.1f} MiB"
    )
    for key, count in sorted(answers.items()):
        print(f"  {count:5d}  {key}")
    return 0 if (peak - idle) < 50 * 1024 else 1


if __name__ == "__main__":
    raise SystemExit(main())
