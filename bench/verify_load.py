"""The public verify endpoint under load, through the real server (``microcred serve``).

1. A fresh database (PostgreSQL: a new database ``bench_verify_<pid>`` beside the one named in
   ``--database``, dropped at the end; or SQLite in a temporary folder) is prepared in-process
   with the platform's own services: a provider and its owner, a published definition,
   ``--credentials`` distinct credentials (distinct learners, issued through the bulk path that
   ``microcred issue-bulk`` uses) and an API token whose own quota (``per_minute``) is far above
   the load. The server keeps the production rate limits (``MICROCRED_RATE_*`` unset).
2. ``microcred serve --workers W --no-jobs`` runs as a subprocess on a free loopback port, with
   the same database, data folder, KEK and secret; ready when ``/readyz`` answers 200 and every
   worker process has started. Its log (JSON lines, as in production) is read at the end.
3. A bounded, wrk-style load generator: ``--connections`` HTTP/1.1 keep-alive connections
   (asyncio streams, requests pre-encoded), spread over ``--clients`` processes, each sending
   ``POST /api/verify`` with ``Authorization: Bearer <token>`` and one of the credentials
   (round-robin) as the body; ``--warmup`` seconds not counted, then ``--seconds`` measured.
   Before it, each credential is sent once (primed, timed and reported: fresh verifications),
   so the measured phase is the warm cache the target names.
   A request counts when it started inside the measured window (in-flight requests are awaited,
   so slow ones are not dropped from the tail). Every ``--sample-every``-th verify answer is
   parsed for its ``verified`` flag and ``verdict``.
4. Then ``GET /credentials/<id>.json`` (one credential) and ``GET`` of its status list
   (``credentialStatus.statusListCredential``), each for ``--get-seconds`` (default: half of
   ``--seconds``), anonymous as a relying party would fetch them.

Prints requests/s, p50 and p99 latency, the count, and every non-200 answer by status (429 and
5xx and connection errors are failures: the exit status is then 1); the CPU the server, PostgreSQL
(all of it on this host, exited backends included), the whole machine and the load generator
used, and the PostgreSQL sessions opened per second; the server's own per-route counts and
durations and any warning or error from its log.

With ``--workers`` above 1, each worker listens on a socket of its own (``SO_REUSEPORT``,
``web/workers.py``) with TCP_NODELAY, and the server's log says which process answered each
request (printed per route as "by process"): with one shared socket, all 16 connections of a
run could land on one worker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Only the standard library at module level: the load generator's processes are spawned and
# import this file again; they need none of the platform (bench/support.py is stdlib too).
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import (  # noqa: E402
    cpu_seconds,
    create_postgres_database,
    drop_postgres_database,
    log,
    platform_environment,
)

HOST = "127.0.0.1"
PASSWORD = "benchmark password"  # noqa: S105 - a throwaway benchmark database
TOKEN_QUOTA = 10_000_000  # the benchmark token's own per-minute quota: never the limit here
ROUTES = {
    "verify": "/api/verify",
    "credential": "/credentials/{credential_id}.json",
    "status": "/providers/{slug}/status/{number}/{purpose}",
}
FAILURE_STATUSES = ("429",)  # with every 5xx and every connection error


# -- preparing the database (in-process, the platform's own services) --------------------------


@dataclass
class Prepared:
    token: str
    documents: list[tuple[str, bytes]]  # (credential id, its JSON as issued)
    issue_seconds: float


class PostgresMeter:
    """PostgreSQL on this host (loopback): CPU seconds of the postmaster and all its backends,
    live and exited (the postmaster reaps them, so theirs add to its children's time), and the
    sessions opened to the benchmark database (``pg_stat_database.sessions``)."""

    def __init__(self, admin_url: str, name: str) -> None:
        import psycopg

        self.name = name
        self.connection = psycopg.connect(
            admin_url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True
        )
        self.postmaster = _stat_fields(self.connection.info.backend_pid)[1]  # the ppid

    def __call__(self) -> float | None:
        try:
            fields = _stat_fields(self.postmaster)
            total = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
            pid = self.postmaster
            for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
                seconds = cpu_seconds(int(child))
                total += round((seconds or 0.0) * os.sysconf("SC_CLK_TCK"))
            return total / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def sessions(self) -> float | None:
        try:
            row = self.connection.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = %s", (self.name,)
            ).fetchone()
        except Exception:  # noqa: BLE001 - a figure on the side: left out when unreadable
            return None
        return float(row[0]) if row and row[0] is not None else None

    def close(self) -> None:
        self.connection.close()


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: state, ppid, ... (field 3 onwards)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def machine_cpu_seconds() -> float | None:
    """CPU seconds every core of this machine spent busy (not idle, not waiting on I/O)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def make_platform_settings(database_url: str, data_dir: Path, base_url: str) -> Any:
    """The test suite's settings (its fixed KEK and secret), with the production rate limits."""
    from dataclasses import fields, replace

    sys.path.insert(0, str(ROOT))
    from tests.platform.conftest import make_settings

    from microcred.config import Settings

    defaults = {f.name: f.default for f in fields(Settings)}
    settings = make_settings(database_url, data_dir, base_url)
    return replace(
        settings,
        rate_anonymous=defaults["rate_anonymous"],
        rate_token=defaults["rate_token"],
    )


def prepare(app: Any, count: int) -> Prepared:
    """A provider, its owner, a published definition, ``count`` credentials to distinct
    learners (the bulk path, its chunks run in this process) and a high-quota API token."""
    from sqlalchemy import select
    from tests.platform.conftest import DEFINITION

    from microcred.db.session import transaction
    from microcred.db.tables import ApiToken, Credential
    from microcred.services import bulk, definitions, jobs
    from microcred.services.providers import create_api_token, create_provider

    with transaction(app.sessions) as session:
        provider, owner = create_provider(
            app,
            session,
            slug="bench",
            legal_name="Bench Academy",
            country_code="DE",
            region="Berlin",
            website="https://bench.example",
            owner_email="owner@bench.example",
            owner_password=PASSWORD,
        )
        row = definitions.publish(
            app, session, definitions.create(app, session, provider, DEFINITION)
        )
        token = create_api_token(app, session, owner, "verify load benchmark")
        token_row = session.scalar(select(ApiToken).where(ApiToken.staff_id == owner.id))
        assert token_row is not None
        token_row.per_minute = TOKEN_QUOTA
        provider_id, owner_id, definition_id = provider.id, owner.id, row.id

    lines = ["name,email,reference"]
    lines += [f"Learner {n},learner{n}@bench.example,bench-{n}" for n in range(count)]
    started = time.perf_counter()
    upload_id = bulk.upload_as(app, owner_id, definition_id, "\n".join(lines).encode(), "bench.csv")
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(2.0):
            now = bulk.progress_of(app, upload_id)
            log(f"  issued {now.accepted - now.pending}/{now.accepted}")

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        while bulk.progress_of(app, upload_id).pending:
            if not jobs.drain(app):
                time.sleep(0.2)
        jobs.drain(app)  # the upload's emails (the file outbox)
    finally:
        finished.set()
        watcher.join()
    issue_seconds = time.perf_counter() - started
    report = bulk.progress_of(app, upload_id)
    if report.problems or report.issued != count:
        raise SystemExit(f"issuing went wrong: {report.issued} of {count}, {report.problems}")
    with transaction(app.sessions, readonly=True) as session:
        documents = [
            (cid, document.encode())
            for cid, document in session.execute(
                select(Credential.id, Credential.document)
                .where(Credential.provider_id == provider_id)
                .order_by(Credential.status_index)
            )
        ]
    if len({document for _cid, document in documents}) != count:
        raise SystemExit(f"expected {count} distinct credentials, found {len(documents)}")
    return Prepared(token, documents, issue_seconds)


def kept_results(app: Any) -> int | None:
    """Rows of ``verification_results`` (verdicts kept across requests, ADR 0022), if any."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with app.engine.connect() as connection:
            query = text("SELECT count(*) FROM verification_results")
            return int(connection.execute(query).scalar_one())
    except SQLAlchemyError:  # a tree without the table
        return None


# -- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_command(port: int, workers: int) -> list[str]:
    found = Path(sys.executable).parent / "microcred"
    if not found.exists():
        found = ROOT / ".venv" / "bin" / "microcred"
    return [
        str(found),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-jobs",
    ]


class Server:
    def __init__(self, port: int, workers: int, env: dict[str, str], log_path: Path) -> None:
        self.port = port
        self.workers = workers
        self.log_path = log_path
        self._log = log_path.open("wb")
        self._stopped = False
        self.process = subprocess.Popen(
            server_command(port, workers),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers in a process group of their own
            cwd=str(ROOT),
        )

    def _ready_once(self) -> bool:
        url = f"http://{HOST}:{self.port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def _started_workers(self) -> int:
        text = self.log_path.read_text(errors="replace")
        return text.count("Application startup complete")

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Poll until ``/readyz`` answers 200 and every worker has started; the seconds taken."""
        started = time.perf_counter()
        deadline = started + timeout
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited ({self.process.returncode}):\n{self.tail()}")
            if self._ready_once() and self._started_workers() >= self.workers:
                return time.perf_counter() - started
            if time.perf_counter() > deadline:
                raise SystemExit(f"the server was not ready in {timeout:.0f} s:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cpu_seconds(self) -> float | None:
        """User and system CPU of the server's processes (the supervisor and its workers)."""
        try:
            total = 0.0
            pending = [self.process.pid]
            while pending:
                pid = pending.pop()
                seconds = cpu_seconds(pid)
                if seconds is None:
                    return None
                total += seconds
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pending.extend(int(c) for c in (task / "children").read_text().split())
            return total
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """SIGTERM (uvicorn stops its workers), then SIGKILL to the group if it lingers."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log("the server did not stop in 20 s: killing it")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # its own group: only what it started
        if self.process.poll() is None:
            self.process.wait(timeout=10)
        self._log.close()


# -- the load generator (runs in spawned processes) --------------------------------------------


class ResponseError(Exception):
    pass


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the server closes the connection) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    try:
        status = int(head[9:12])
    except ValueError as exc:
        raise ResponseError(f"bad status line {head[:40]!r}") from exc
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    close = b"\r\nconnection: close" in lower
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        body = await reader.readexactly(int(lower[at + 17 : end]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:  # body until the connection closes
        body = await reader.read()
        close = True
    return status, body, close


@dataclass
class ClientState:
    measure_at: float
    stop_at: float
    sample_every: int
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    failed_steps: Counter[str] = field(default_factory=Counter)  # and warnings
    samples: dict[str, str] = field(default_factory=dict)  # a body per non-200 status
    last_end: float = 0.0
    measured: int = 0


async def connection_loop(
    state: ClientState,
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
    host: str,
    port: int,
    requests: list[bytes],
    start: int,
    stride: int,
    inflight: list[float | None],
    slot: int,
) -> None:
    perf_counter = time.perf_counter
    n = len(requests)
    position = start
    while True:
        began = perf_counter()
        if began >= state.stop_at:
            return
        if streams is None:
            try:
                streams = await asyncio.open_connection(host, port)
            except OSError as exc:
                if began >= state.measure_at:
                    state.statuses[f"connect:{type(exc).__name__}"] += 1
                await asyncio.sleep(0.05)
                continue
        reader, writer = streams
        request = requests[position % n]
        position += stride
        inflight[slot] = began
        try:
            writer.write(request)
            status, body, close = await read_response(reader)
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ResponseError,
        ) as exc:
            inflight[slot] = None
            if began >= state.measure_at:
                state.statuses[f"error:{type(exc).__name__}"] += 1
            writer.close()
            streams = None
            continue
        ended = perf_counter()
        inflight[slot] = None
        if began >= state.measure_at:
            state.latencies.append(ended - began)
            state.last_end = max(state.last_end, ended)
            key = str(status)
            state.statuses[key] += 1
            state.measured += 1
            if status != 200:
                state.samples.setdefault(key, body[:300].decode("utf-8", "replace"))
            elif state.sample_every and state.measured % state.sample_every == 0:
                sample_verdict(state, body)
        if close:
            writer.close()
            streams = None


def sample_verdict(state: ClientState, body: bytes) -> None:
    try:
        report = json.loads(body)
    except ValueError:
        state.verdicts["unparsable"] += 1
        return
    verified = report.get("verified")
    state.verdicts[f"verified={str(verified).lower()}"] += 1
    state.verdicts[f"verdict={report.get('verdict')}"] += 1
    for warning in report.get("warnings") or []:
        state.failed_steps[f"warning: {str(warning)[:160]}"] += 1
    if verified is not True:
        for step in report.get("steps", []):
            if step.get("outcome") == "failed":
                state.failed_steps[f"{step.get('step')}:{step.get('code')}"] += 1


async def run_client(spec: dict[str, Any], barrier: Any) -> dict[str, Any]:
    host, port = spec["host"], spec["port"]
    count = spec["connections"]
    streams = []
    for _ in range(count):
        streams.append(await asyncio.open_connection(host, port))
    barrier.wait(timeout=120)  # every client process starts at once
    t0 = time.perf_counter()
    state = ClientState(
        measure_at=t0 + spec["warmup"],
        stop_at=t0 + spec["warmup"] + spec["seconds"],
        sample_every=spec["sample_every"],
    )
    inflight: list[float | None] = [None] * count
    tasks = [
        asyncio.create_task(
            connection_loop(
                state,
                streams[i],
                host,
                port,
                spec["requests"],
                spec["offset"] + i,
                spec["stride"],
                inflight,
                i,
            )
        )
        for i in range(count)
    ]
    await asyncio.sleep(max(0.0, state.measure_at - time.perf_counter()))
    cpu_start = os.times()
    _done, pending = await asyncio.wait(
        tasks, timeout=max(0.0, state.stop_at - time.perf_counter()) + spec["grace"]
    )
    cpu_end = os.times()
    for task in pending:
        task.cancel()
    for began in inflight:
        if began is not None and began >= state.measure_at:
            state.statuses["timeout"] += 1
    for reader_writer in streams:
        reader_writer[1].close()
    elapsed = (state.last_end - state.measure_at) if state.measured else 0.0
    window = max(state.last_end, state.stop_at) - state.measure_at
    cpu = (cpu_end.user + cpu_end.system) - (cpu_start.user + cpu_start.system)
    return {
        "latencies": state.latencies,
        "statuses": dict(state.statuses),
        "verdicts": dict(state.verdicts),
        "failed_steps": dict(state.failed_steps),
        "samples": state.samples,
        "elapsed": elapsed,
        "cpu_share": cpu / window if window > 0 else 0.0,
    }


def client_process(spec: dict[str, Any], barrier: Any, results: Any) -> None:
    try:
        results.put(asyncio.run(run_client(spec, barrier)))
    except BaseException as exc:  # noqa: BLE001 - reported by the parent, which then stops
        barrier.abort()
        results.put({"error": f"{type(exc).__name__}: {exc}"})


# -- phases and figures -------------------------------------------------------------------------


@dataclass
class PhaseResult:
    name: str
    latencies: list[float]
    statuses: Counter[str]
    verdicts: Counter[str]
    failed_steps: Counter[str]
    samples: dict[str, str]
    rate: float
    generator_cpu: float  # cores busy, summed over the client processes
    # per meter, over the whole phase (warm-up included): cores busy, or a count per second
    cpu: dict[str, float | None]


def prime(port: int, authorization: str, documents: list[bytes], connections: int) -> float:
    """Send each credential once (the cache warm: the target is for kept verdicts; a credential
    verified fresh costs about ten times a kept one, and 1,000 of them outlast a short warm-up).
    Returns the seconds it took; any answer but 200 is an error."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    def send(part: list[bytes]) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=120)
        headers = {"Authorization": authorization, "Content-Type": "application/json"}
        try:
            for document in part:
                connection.request("POST", "/api/verify", document, headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"priming: POST /api/verify answered {response.status}")
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(send, [documents[i::connections] for i in range(connections)]))
    return time.perf_counter() - started


def encode_request(method: str, path: str, host: str, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def run_phase(
    name: str,
    requests: list[bytes],
    server: Server,
    *,
    meters: dict[str, Any],
    connections: int,
    clients: int,
    warmup: float,
    seconds: float,
    sample_every: int,
    grace: float,
) -> PhaseResult:
    context = multiprocessing.get_context("spawn")
    clients = max(1, min(clients, connections))
    barrier = context.Barrier(clients)
    results = context.Queue()
    shares = [
        connections // clients + (1 if i < connections % clients else 0) for i in range(clients)
    ]
    processes = []
    offset = 0
    for share in shares:
        spec = {
            "host": HOST,
            "port": server.port,
            "connections": share,
            "requests": requests,
            "offset": offset,
            "stride": connections,
            "warmup": warmup,
            "seconds": seconds,
            "sample_every": sample_every,
            "grace": grace,
        }
        offset += share
        process = context.Process(target=client_process, args=(spec, barrier, results), daemon=True)
        process.start()
        processes.append(process)
    cpu_before = {meter_name: meter() for meter_name, meter in meters.items()}
    clock_before = time.perf_counter()
    outcomes = []
    try:
        for _ in processes:
            outcomes.append(results.get(timeout=warmup + seconds + grace + 180))
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
    cpu_after = {meter_name: meter() for meter_name, meter in meters.items()}
    clock_after = time.perf_counter()
    errors = [o["error"] for o in outcomes if "error" in o]
    if errors:
        raise SystemExit(f"{name}: a load generator failed: {errors[0]}")
    cpu: dict[str, float | None] = {}
    for meter_name, before in cpu_before.items():
        after = cpu_after[meter_name]
        cpu[meter_name] = None
        if before is not None and after is not None:
            cpu[meter_name] = (after - before) / (clock_after - clock_before)
    samples: dict[str, str] = {}
    for outcome in outcomes:
        for key, value in outcome["samples"].items():
            samples.setdefault(key, value)
    return PhaseResult(
        name=name,
        latencies=[x for o in outcomes for x in o["latencies"]],
        statuses=sum((Counter(o["statuses"]) for o in outcomes), Counter()),
        verdicts=sum((Counter(o["verdicts"]) for o in outcomes), Counter()),
        failed_steps=sum((Counter(o["failed_steps"]) for o in outcomes), Counter()),
        samples=samples,
        # each process's own window (the same span of time): their rates add up
        rate=sum(len(o["latencies"]) / o["elapsed"] for o in outcomes if o["elapsed"] > 0),
        generator_cpu=sum(o["cpu_share"] for o in outcomes),
        cpu=cpu,
    )


def percentile(ordered: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks of a sorted list."""
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def failures(statuses: Counter[str]) -> int:
    return sum(
        n
        for status, n in statuses.items()
        if status in FAILURE_STATUSES or not status.isdigit() or status.startswith("5")
    )


def describe_statuses(statuses: Counter[str]) -> str:
    other = {k: v for k, v in statuses.items() if k != "200"}
    if not other:
        return "none"
    parts = []
    for status, n in sorted(other.items()):
        flagged = status in FAILURE_STATUSES or not status.isdigit() or status.startswith("5")
        parts.append(f"{status}x{n}{' FAIL' if flagged else ''}")
    return ", ".join(parts)


def print_table(phases: list[PhaseResult]) -> None:
    header = ("endpoint", "req/s", "p50 ms", "p99 ms", "max ms", "count", "non-200")
    rows = []
    for phase in phases:
        ordered = sorted(phase.latencies)
        rows.append(
            (
                phase.name,
                f"{phase.rate:.1f}",
                f"{percentile(ordered, 0.50) * 1000:.1f}",
                f"{percentile(ordered, 0.99) * 1000:.1f}",
                f"{(ordered[-1] * 1000 if ordered else float('nan')):.1f}",
                str(len(ordered)),
                describe_statuses(phase.statuses),
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for n, row in enumerate([header, *rows]):
        print(
            "  ".join(
                cell.ljust(w) if i in (0, 6) else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def read_server_log(path: Path) -> tuple[dict[str, dict[str, Any]], list[str], int]:
    """Per route: the server's own counts by status and its durations; warnings and errors
    (deduplicated, with counts); lines that are not JSON."""
    routes: dict[str, dict[str, Any]] = {}
    problems: Counter[str] = Counter()
    other = 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if line.strip():
                other += 1
                if "Traceback" in line or "Error" in line:
                    problems[f"(not JSON) {line.strip()[:160]}"] += 1
            continue
        if not isinstance(entry, dict):
            continue
        if entry.get("logger") == "microcred.access" and "route" in entry:
            route = routes.setdefault(
                str(entry["route"]), {"statuses": Counter(), "ms": [], "pids": Counter()}
            )
            route["statuses"][str(entry.get("status"))] += 1
            route["pids"][str(entry.get("pid"))] += 1
            route["ms"].append(float(entry.get("duration_ms", 0.0)))
        if entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            text = f"{entry.get('level')} {entry.get('logger')}: {str(entry.get('message'))[:200]}"
            if "exception" in entry:
                text += " | " + str(entry["exception"]).strip().splitlines()[-1][:200]
            problems[text] += 1
    listed = [f"{n}x {text}" for text, n in problems.most_common(15)]
    return routes, listed, other


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load-test POST /api/verify (and two public GETs) on a real microcred server.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--database",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="'sqlite' (a temporary file), or a PostgreSQL URL: a fresh database "
        "bench_verify_<pid> is created beside the one it names and dropped at the end",
    )
    parser.add_argument("--workers", type=int, default=2, help="microcred serve --workers")
    parser.add_argument("--credentials", type=int, default=1000, help="distinct credentials issued")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--clients", type=int, default=1, help="load generator processes")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds measured (verify)")
    parser.add_argument(
        "--get-seconds",
        type=float,
        default=None,
        help="seconds measured for each GET [half of --seconds]",
    )
    parser.add_argument("--get-warmup", type=float, default=1.0, help="warm-up of each GET")
    parser.add_argument(
        "--sample-every",
        type=int,
        default=50,
        help="parse every Nth verify answer for verified/verdict (0: none)",
    )
    parser.add_argument(
        "--grace", type=float, default=30.0, help="seconds in-flight requests may take at the end"
    )
    parser.add_argument("--server-log", type=Path, help="keep the server's log in this file")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (and the SQLite file)"
    )
    args = parser.parse_args(argv)
    if args.credentials < 1 or args.connections < 1 or args.clients < 1 or args.workers < 1:
        parser.error("--credentials, --connections, --clients and --workers must be 1 or more")
    if args.seconds <= 0 or args.warmup < 0:
        parser.error("--seconds must be positive, --warmup not negative")
    if args.get_seconds is None:
        args.get_seconds = args.seconds / 2
    return args


def _stop_on_sigterm(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # the finally blocks stop the server and drop the database


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.path.insert(0, str(ROOT))
    from microcred.services.app import App

    scratch = Path(tempfile.mkdtemp(prefix="bench_verify_"))
    data_dir = scratch / "data"
    data_dir.mkdir()
    sqlite = args.database.strip().lower() == "sqlite"
    database_name: str | None = None
    postgres: PostgresMeter | None = None
    server: Server | None = None
    app = None
    try:
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        if sqlite:
            database_url = f"sqlite:///{data_dir / 'microcred.db'}"
            shown_database = f"SQLite ({database_url})"
        else:
            database_url, database_name = create_postgres_database(args.database, "bench_verify")
            shown = urlsplit(database_url)
            shown_database = f"PostgreSQL ({shown.hostname}:{shown.port or 5432}/{database_name})"
        log(f"database: {shown_database}")
        settings = make_platform_settings(database_url, data_dir, base_url)
        started = time.perf_counter()
        app = App.start(settings)  # migrations
        log(
            f"migrated in {time.perf_counter() - started:.1f} s; "
            f"issuing {args.credentials} credentials"
        )
        prepared = prepare(app, args.credentials)
        log(
            f"issued {len(prepared.documents)} in {prepared.issue_seconds:.1f} s "
            f"({len(prepared.documents) / prepared.issue_seconds:.0f}/s)"
        )
        app.engine.dispose()

        log_path = args.server_log or scratch / "server.log"
        server = Server(port, args.workers, platform_environment(settings), log_path)
        ready_in = server.wait_ready()
        log(f"server ready in {ready_in:.1f} s: {' '.join(server_command(port, args.workers))}")

        host = f"{HOST}:{port}"
        authorization = f"Bearer {prepared.token}"
        verify_requests = [
            encode_request(
                "POST",
                "/api/verify",
                host,
                document,
                Authorization=authorization,
                Content_Type="application/json",
            )
            for _cid, document in prepared.documents
        ]
        first_id, first_document = prepared.documents[0]
        status_url = json.loads(first_document)["credentialStatus"]["statusListCredential"]
        status_path = urlsplit(status_url).path
        credential_path = f"/credentials/{first_id}.json"
        meters: dict[str, Any] = {"server": server.cpu_seconds}
        if database_name is not None:
            postgres = PostgresMeter(args.database, database_name)
            meters["postgres"] = postgres
            meters["postgres sessions opened/s"] = postgres.sessions
        meters["machine"] = machine_cpu_seconds
        common = {
            "meters": meters,
            "connections": args.connections,
            "clients": args.clients,
            "grace": args.grace,
        }
        phases = []
        primed = prime(server.port, authorization, [d for _cid, d in prepared.documents], 16)
        log(
            f"primed: each of the {len(prepared.documents)} credentials verified once (fresh) "
            f"in {primed:.1f} s ({len(prepared.documents) / primed:.0f}/s over 16 connections)"
        )
        log(f"POST /api/verify: {args.warmup:g} s warm-up, {args.seconds:g} s measured")
        phases.append(
            run_phase(
                "POST /api/verify",
                verify_requests,
                server,
                warmup=args.warmup,
                seconds=args.seconds,
                sample_every=args.sample_every,
                **common,
            )
        )
        for label, path in (
            ("GET /credentials/<id>.json", credential_path),
            ("GET status list", status_path),
        ):
            log(f"{label} ({path}): {args.get_warmup:g} s warm-up, {args.get_seconds:g} s measured")
            phases.append(
                run_phase(
                    label,
                    [encode_request("GET", path, host, Accept="application/json")],
                    server,
                    warmup=args.get_warmup,
                    seconds=args.get_seconds,
                    sample_every=0,
                    **common,
                )
            )
        server.stop()
        return report(args, shown_database, server, phases, kept_results(app))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if server is not None:
            server.stop()
        if app is not None:
            app.engine.dispose()
        if postgres is not None:
            postgres.close()
        if database_name is not None:
            try:
                drop_postgres_database(args.database, database_name)
                log(f"dropped database {database_name}")
            except Exception as exc:  # noqa: BLE001 - said, and the run's outcome stands
                log(f"could not drop database {database_name}: {exc}")
        if args.keep:
            log(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def report(
    args: argparse.Namespace,
    database: str,
    server: Server,
    phases: list[PhaseResult],
    kept: int | None,
) -> int:
    print()
    print(
        f"server: microcred serve --workers {server.workers} --no-jobs, production rate limits, "
        f"token quota {TOKEN_QUOTA}/min"
    )
    print(f"database: {database}")
    print(
        f"load: {args.connections} keep-alive connections in {min(args.clients, args.connections)} "
        f"process(es); {args.credentials} distinct credentials round-robin; "
        f"verify {args.warmup:g}+{args.seconds:g} s, "
        f"GETs {args.get_warmup:g}+{args.get_seconds:g} s (warm-up+measured); "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print()
    print_table(phases)
    print()
    print("CPU in cores busy (server, postgres and machine: the whole phase, warm-up included;")
    print("load generator: the measured window):")
    for phase in phases:
        shown = ", ".join(
            f"{name} {value:.1f}" if name.endswith("/s") else f"{name} {value:.2f}"
            for name, value in phase.cpu.items()
            if value is not None
        )
        print(f"  {phase.name}: {shown}, load generator {phase.generator_cpu:.2f}")
    verify = phases[0]
    if verify.verdicts:
        sampled = verify.verdicts.get("verified=true", 0) + verify.verdicts.get("verified=false", 0)
        verdicts = {
            k.split("=", 1)[1]: v for k, v in verify.verdicts.items() if k.startswith("verdict=")
        }
        print(
            f"verify answers sampled (every {args.sample_every}th 200): {sampled}; "
            f"verified true {verify.verdicts.get('verified=true', 0)}, "
            f"false {verify.verdicts.get('verified=false', 0)}; verdicts {verdicts}"
        )
        for text, n in verify.failed_steps.most_common(10):
            print(f"  {n}x {text}")
    for phase in phases:
        for status, body in phase.samples.items():
            print(f"{phase.name}: a {status} answer: {body[:200]!r}")

    routes, problems, other = read_server_log(server.log_path)
    print()
    print("server log (warm-up included):")
    for name, route in ROUTES.items():
        seen = routes.get(route)
        if not seen:
            print(f"  {name}: no access lines")
            continue
        ordered = sorted(seen["ms"])
        print(
            f"  {route}: {sum(seen['statuses'].values())} requests, statuses "
            f"{dict(seen['statuses'])}, server-side p50 {percentile(ordered, 0.5):.1f} ms, "
            f"p99 {percentile(ordered, 0.99):.1f} ms; by process "
            f"{sorted(seen['pids'].values(), reverse=True)}"
        )
        if name == "verify":
            # a credential's first verification does the whole work; its repeats may be answered
            # from the result kept in the database (ADR 0022) or the worker's memo
            print(
                f"    each credential sent {len(seen['ms']) / args.credentials:.1f} times on "
                f"average, over {server.workers} worker(s)"
            )
            if kept is not None:
                print(
                    f"    {kept} result(s) kept in verification_results: at most {kept} of "
                    f"{len(seen['ms'])} were fresh verifications, the others could be answered "
                    "from a kept result (send each credential once, --credentials above the "
                    "request count, to measure fresh ones)"
                )
    if problems:
        print("  warnings and errors:")
        for line in problems:
            print(f"    {line}")
    else:
        print("  no warnings or errors")
    if other:
        print(f"  {other} line(s) not JSON (the CLI's own output)")

    failed = sum(failures(p.statuses) for p in phases)
    unverified = verify.verdicts.get("verified=false", 0) + verify.verdicts.get("unparsable", 0)
    if failed or unverified:
        print(f"\nFAILED: {failed} failed request(s) (429, 5xx, errors), {unverified} not verified")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
