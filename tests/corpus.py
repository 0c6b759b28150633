"""The verification corpus at test time: its items and expected verdicts, a loopback server that
serves its status lists and key documents under their own https URLs, and the fetchers that reach
it (microcred's safe fetcher through an opener; the Node harness through its host map).

A URL ``https://HOST/PATH`` is served from ``served/HOST/PATH`` at
``http://127.0.0.1:PORT/HOST/PATH``. ``refused.corpus.example`` goes to a closed loopback port;
any other host (``offline.corpus.example``) is not reachable at all, as the network is cut off.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from microcred.vc.fetch import FetchError, SafeFetcher, WebResolver
from microcred.vc.policy import Policy
from microcred.vc.presentation import PresentationReport, verify_presentation
from microcred.vc.report import SEVERITY, Verdict, VerificationReport
from microcred.vc.status_list import BitstringStatusChecker
from microcred.vc.verify import verify
from tests.corpus_build import CORPUS, REFUSED_HOST

SERVED = CORPUS / "served"


@dataclass(frozen=True)
class Entry:
    name: str
    category: str
    verdict: str
    code: str
    file: str
    kind: str = "credential"
    challenge: str | None = None
    domain: str | None = None

    @property
    def path(self) -> Path:
        return CORPUS / self.file

    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.path.read_bytes())
        return loaded


def entries() -> list[Entry]:
    table = json.loads((CORPUS / "expected.json").read_text())["items"]
    fields = set(Entry.__dataclass_fields__)
    return [Entry(**{k: v for k, v in row.items() if k in fields}) for row in table]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        relative = self.path.split("?", 1)[0].lstrip("/")
        target = (SERVED / relative).resolve()
        if SERVED.resolve() not in target.parents or not target.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = target.read_bytes()
        self.send_response(200)
        kind = "text/html" if body.lstrip().startswith(b"<") else "application/json"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass(frozen=True)
class Loopback:
    """Where each served host lives on loopback."""

    port: int
    closed_port: int

    def hosts(self) -> dict[str, str]:
        """Host -> base URL, for the Node harness's ``hostMap``."""
        mapped = {p.name: f"http://127.0.0.1:{self.port}/{p.name}" for p in SERVED.iterdir()}
        mapped[REFUSED_HOST] = f"http://127.0.0.1:{self.closed_port}"
        return mapped

    def open(self, url: str) -> tuple[int, bytes]:
        """The opener for microcred's safe fetcher: fetch failures raise FetchError, as the safe
        fetcher itself does."""
        parts = urlsplit(url)
        base = self.hosts().get(parts.netloc)
        if base is None:
            raise FetchError(f"cannot fetch {url}: the network is cut off", "fetch.failed")
        target = base + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            response = httpx.get(target, timeout=5.0)
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url}: {type(exc).__name__}", "fetch.failed") from exc
        return response.status_code, response.content

    def fetcher(self) -> SafeFetcher:
        return SafeFetcher((), opener=self.open, ttl=0)

    def policy(self, **overrides: Any) -> Policy:
        """microcred's library verifier as a relying party would configure it, reaching the
        corpus hosts on loopback."""
        fetcher = self.fetcher()
        base = Policy(resolver=WebResolver(fetcher), **overrides)
        return replace(base, status_checker=BitstringStatusChecker(fetcher, base))


@contextmanager
def serving() -> Iterator[Loopback]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # closed again on leaving: connections are refused
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Loopback(server.server_address[1], closed_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Outcome:
    """microcred's answer for one item: its verdict, the code that decides it, every step."""

    verified: bool
    verdict: str
    code: str
    steps: list[dict[str, Any]]


def _deciding_code(report: VerificationReport) -> str:
    verdict = report.verdict
    if verdict in (Verdict.VERIFIED, Verdict.VERIFIED_WITH_WARNINGS):
        return ""
    if verdict is Verdict.STATUS_UNCHECKED:
        status = report.step("status")
        return status.code if status is not None else ""
    wanted = {
        Verdict.REVOKED: "status.revoked",
        Verdict.SUSPENDED: "status.suspended",
        Verdict.EXPIRED: "validity.expired",
        Verdict.NOT_YET_VALID: "validity.not_yet_valid",
    }.get(verdict)
    failures = [s.code for s in report.failures]
    if wanted in failures:
        return wanted
    decisive = [c for c in failures if not c.startswith(("status.", "validity."))]
    return (decisive or failures or [""])[0]


def outcome_of(report: VerificationReport) -> Outcome:
    return Outcome(
        report.verified,
        report.verdict.value,
        _deciding_code(report),
        [s.to_json() for s in report.steps],
    )


def presentation_outcome(result: PresentationReport) -> Outcome:
    """A presentation's verdict: its own when it fails, else the worst of its credentials'."""
    steps = [s.to_json() for s in result.presentation.steps]
    for report in result.credentials:
        steps += [s.to_json() for s in report.steps]
    if not result.presentation.verified:
        own = outcome_of(result.presentation)
        return Outcome(False, own.verdict, own.code, steps)
    worst = min(
        [outcome_of(r) for r in result.credentials],
        key=lambda o: SEVERITY.index(Verdict(o.verdict)),
        default=outcome_of(result.presentation),
    )
    return Outcome(result.verified, worst.verdict, worst.code, steps)


def microcred_outcome(entry: Entry, policy: Policy) -> Outcome:
    if entry.kind == "presentation":
        result = verify_presentation(
            entry.path.read_bytes(), policy, challenge=entry.challenge, domain=entry.domain
        )
        return presentation_outcome(result)
    return outcome_of(verify(entry.path.read_bytes(), policy))


def internal_errors(value: Any) -> bool:
    """Whether a JSON answer anywhere mentions an ``internal.error`` step."""
    if isinstance(value, Mapping):
        return value.get("code") == "internal.error" or any(
            internal_errors(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(internal_errors(v) for v in value)
    return False
