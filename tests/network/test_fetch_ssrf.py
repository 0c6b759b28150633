"""The safe fetcher against the SSRF matrix: refused or cut off in bounded time, and no
connection is ever made to a refused address."""

from __future__ import annotations

import base64
import contextlib
import gzip
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from microcred.vc import status_list
from microcred.vc.fetch import FetchError, SafeFetcher, is_public

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]


class CountingListener:
    """A loopback port that only counts the connections it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


class Handler(BaseHTTPRequestHandler):
    target_port = 0

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        routes = {
            "/ok": self._ok,
            "/redirect-loopback": lambda: self._redirect(f"http://127.0.0.1:{self.target_port}/ok"),
            "/redirect-metadata": lambda: self._redirect("http://169.254.169.254/latest/meta-data"),
            "/redirect-loop": lambda: self._redirect("/redirect-loop"),
            "/slow": self._slow,
            "/big": self._big,
            "/lying-small": self._lying_small,
            "/lying-huge": self._lying_huge,
        }
        routes.get(self.path, self._ok)()

    def _ok(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _slow(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        try:
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass

    def _big(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(50 * 1024 * 1024))
        self.end_headers()
        try:
            for _ in range(50 * 16):
                self.wfile.write(b"x" * 65536)
        except OSError:
            pass

    def _lying_small(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "10")
        self.end_headers()
        try:
            for _ in range(80):
                self.wfile.write(b"y" * 65536)
        except OSError:
            pass

    def _lying_huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(10**12))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(b'{"a": 1}')


@pytest.fixture
def listener() -> Iterator[CountingListener]:
    counting = CountingListener()
    yield counting
    counting.close()


@pytest.fixture
def server(listener: CountingListener) -> Iterator[str]:
    Handler.target_port = listener.port
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.1", "2130706433", "0x7f000001", "[::1]", "[::ffff:127.0.0.1]", "localhost"],
)
@pytest.mark.parametrize("scheme", ["https", "http"])
def test_loopback_in_any_spelling_is_refused_without_connecting(listener, host, scheme):
    fetcher = SafeFetcher(timeout=2)
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(f"{scheme}://{host}:{listener.port}/providers/x/did.json")
    assert time.monotonic() - started < 2
    assert caught.value.code in ("fetch.private", "fetch.scheme")
    time.sleep(0.3)
    assert listener.accepted == 0


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible (deprecated, still routed by some stacks)
        "::a00:1",  # 10.0.0.1, IPv4-compatible
        "::ffff:10.0.0.1",  # IPv4-mapped
        "64:ff9b::7f00:1",  # NAT64 (RFC 6052) to 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 to the metadata address 169.254.169.254
        "64:ff9b:1::7f00:1",  # local-use NAT64 (RFC 8215)
        "2002:7f00:1::",  # 6to4 (RFC 3056) of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo
        "100.64.0.1",  # shared address space (RFC 6598)
        "192.0.0.8",  # IETF protocol assignments
        "198.18.0.1",  # benchmarking
        "0.0.0.0",  # noqa: S104 - an address under test, nothing binds it
        "::",
        "fc00::1",
        "fe80::1%eth0",
    ],
)
def test_special_purpose_addresses_in_every_form_are_not_public(address):
    assert not is_public(address)


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34"]
)
def test_public_addresses_stay_public(address):
    assert is_public(address)


def test_link_local_metadata_address_is_refused():
    with pytest.raises(FetchError) as caught:
        SafeFetcher(timeout=2).fetch("https://169.254.169.254/latest/meta-data")
    assert caught.value.code == "fetch.private"


def test_a_name_that_resolves_to_a_private_address_is_refused(listener):
    fetcher = SafeFetcher(timeout=2, resolve=lambda host, port: ["10.0.0.7", "93.184.216.34"])
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(f"https://issuer.example:{listener.port}/did.json")
    assert caught.value.code == "fetch.private"


def test_the_allowed_development_host_works(server):
    assert SafeFetcher({server}, timeout=2).fetch(f"http://{server}/ok") == b'{"ok": true}'


@pytest.mark.parametrize("path", ["/redirect-loopback", "/redirect-metadata"])
def test_every_redirect_is_checked(server, listener, path):
    with pytest.raises(FetchError) as caught:
        SafeFetcher({server}, timeout=2).fetch(f"http://{server}{path}")
    assert caught.value.code in ("fetch.scheme", "fetch.private")
    time.sleep(0.3)
    assert listener.accepted == 0


def test_redirect_loops_end(server):
    with pytest.raises(FetchError) as caught:
        SafeFetcher({server}, timeout=2).fetch(f"http://{server}/redirect-loop")
    assert caught.value.code == "fetch.redirects"


@pytest.mark.parametrize(
    ("path", "code"),
    [("/slow", "fetch.timeout"), ("/big", "fetch.too_large"), ("/lying-huge", "fetch.too_large")],
)
def test_slow_and_large_answers_are_cut_off_in_bounded_time(server, path, code):
    fetcher = SafeFetcher({server}, timeout=2, max_bytes=1024 * 1024)
    started = time.monotonic()
    tracemalloc.start()
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(f"http://{server}{path}")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.monotonic() - started < 4
    assert caught.value.code == code
    assert peak < 8 * 1024 * 1024


def test_a_body_longer_than_its_content_length_is_not_read_past_it(server):
    fetcher = SafeFetcher({server}, timeout=2, max_bytes=1024 * 1024)
    started = time.monotonic()
    body = fetcher.fetch(f"http://{server}/lying-small")
    assert body == b"y" * 10  # what the header promised, nothing more
    assert time.monotonic() - started < 2


def _encoded(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_1kb_gzip_bomb_fails_fast_and_small():
    bomb = gzip.compress(b"\0" * 1_000_000, compresslevel=9, mtime=0)
    assert len(bomb) <= 1024
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(status_list.StatusListError) as caught:
        status_list.decode(_encoded(bomb))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "size limit" in caught.value.message
    assert elapsed < 0.1
    assert peak < 4 * 1024 * 1024


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (gzip.compress(b"\0" * 1000, mtime=0), "at least 131072"),
        (gzip.compress(b"\0" * 20000, mtime=0)[:-12], "truncated"),
        (b"not gzip at all", "not GZIP"),
    ],
)
def test_short_truncated_or_foreign_lists_are_rejected(data, reason):
    with pytest.raises(status_list.StatusListError) as caught:
        status_list.decode(_encoded(data))
    assert reason in caught.value.message


def test_an_index_outside_the_list_is_rejected():
    bits = status_list.decode(status_list.encode([5]))
    assert status_list.bit(bits, 5)
    assert not status_list.bit(bits, 6)
    with pytest.raises(status_list.StatusListError):
        status_list.bit(bits, status_list.MIN_BITS)
    with pytest.raises(status_list.StatusListError):
        status_list.bit(bits, -1)
