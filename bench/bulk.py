"""Bulk issuing from a CSV, measured from the upload to the last credential stored.

1. A fresh database: PostgreSQL (default; a new database ``bench_bulk_<pid>`` on the server that
   ``--database`` names, created in autocommit and dropped at the end unless ``--keep-db``) or
   ``--database sqlite`` (a file in a temporary folder). The platform runs in this process with
   the test suite's settings (``make_settings``: its fixed KEK and secret, no SMTP URL, so email
   goes to the file outbox ``DATA_DIR/outbox``). A provider (``make_org``) and the test suite's
   published definition (``DEFINITION``, two learning outcomes); a CSV of ``--rows`` distinct
   learners: ``name,email,outcomes,reference``.
2. PostgreSQL: ``--workers`` separate ``microcred worker`` processes (procrastinate) with the
   same database, data folder, KEK, secret and base URL in ``MICROCRED_*``; ready when each is
   registered and listening. SQLite: no separate worker; the chunks run in this process by
   ``jobs.drain(app)`` in a thread, started once the upload is committed (``microcred serve``
   runs them in-process the same way).
3. The clock starts just before ``bulk.start_upload`` (in its own transaction, as the web route
   calls it) and stops when ``bulk.progress_of`` says the upload is done (polled every
   ``POLL`` seconds, so observed times are late by up to one poll; beside them the timestamps
   the working process wrote, which precede their commit). Then the upload's emails are
   waited for (each chunk enqueues one ``mail.send`` job with its messages).
4. Checks: credentials stored = rows accepted, no (list, index) pair used twice, every index
   inside its list, and the messages in the outbox (plus any still queued, unsealed and
   counted) = rows accepted, each Message-ID once. Exit status 1 when a check fails.

    python bench/bulk.py [--rows 10000] [--workers 2]
        [--database postgresql://postgres@127.0.0.1:5432/test | sqlite] [--keep-db]
        [--timeout 1800]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select, text
from tests.platform.conftest import DEFINITION, make_org, make_settings, publish_definition

from microcred.config import Settings
from microcred.db.session import transaction
from microcred.db.tables import AuditEvent, BulkUpload, Credential, Staff, StatusList
from microcred.services import bulk, jobs
from microcred.services.app import App
from microcred.services.mail import FileOutbox
from support import (
    cpu_seconds,
    create_postgres_database,
    drop_postgres_database,
    log,
    platform_environment,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"
POLL = 0.25  # seconds between progress polls (the worker stamps the finish itself)
MAIL_POLL = 0.2  # seconds between looks at the outbox and the mail queue, once done
FIRST_NAMES = ("Ada", "Alan", "Grace", "Zoë", "José", "Katherine", "Dorothy", "Émile", "Mary")
LAST_NAMES = ("Lovelace", "Turing", "Hopper", "Núñez", "O'Neil", "Johnson", "Vaughan", "Ng")


# -- memory --------------------------------------------------------------------------------------


def peak_rss_mib(pid: int | str = "self") -> float | None:
    """VmHWM (the peak resident set) of a live process, in MiB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak_rss() -> bool:
    """Start this process's VmHWM afresh (Linux: ``5`` to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# -- the input -----------------------------------------------------------------------------------


def make_csv(rows: int) -> bytes:
    """``rows`` distinct learners; names with commas, quotes and accents (quoted by csv)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "email", "outcomes", "reference"])
    width = len(str(rows))
    for n in range(rows):
        first = FIRST_NAMES[n % len(FIRST_NAMES)]
        last = LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]
        name = f"{first} {last}, {n:0{width}d}" if n % 10 == 0 else f"{first} {last} {n}"
        writer.writerow(
            [name, f"learner{n:0{width}d}@bench.example", "all" if n % 2 else "1;2", f"b-{n}"]
        )
    return buffer.getvalue().encode()


# -- the workers ---------------------------------------------------------------------------------


def microcred_command() -> str:
    found = Path(sys.executable).parent / "microcred"
    return str(found if found.exists() else ROOT / ".venv" / "bin" / "microcred")


@dataclass
class Worker:
    number: int
    process: subprocess.Popen[bytes]
    log_path: Path
    idle_peak_mib: float | None = None
    cpu_start: float | None = None  # CPU seconds when the upload starts
    cpu_end: float | None = None  # ... once the upload and its email are done
    peak_mib: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def sample(self) -> None:
        peak = peak_rss_mib(self.pid)
        if peak is not None:
            self.peak_mib = peak

    def log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def summary(self) -> dict[str, Any]:
        """Jobs done, their durations (started → done; one job at a time per worker) and
        problems, from the worker's JSON log lines."""
        done: Counter[str] = Counter()
        levels: Counter[str] = Counter()
        problems: list[str] = []
        seconds: dict[str, list[float]] = {}
        started: datetime | None = None
        for line in self.log_lines():
            try:
                entry = json.loads(line)
            except ValueError:
                entry = None
            if not isinstance(entry, dict):
                if line.strip():
                    levels["(not JSON)"] += 1
                    problems.append(line)
                continue
            level = str(entry.get("level", ""))
            message = str(entry.get("message", ""))
            levels[level] += 1
            try:
                at: datetime | None = datetime.fromisoformat(str(entry.get("time")))
            except ValueError:
                at = None
            if message.startswith("job ") and message.endswith(" started"):
                started = at
            if message.startswith("job ") and message.endswith(" done"):
                done[message[4:-5]] += 1
                if started is not None and at is not None:
                    seconds.setdefault(message[4:-5], []).append((at - started).total_seconds())
                started = None
            if level in ("WARNING", "ERROR", "CRITICAL"):
                problems.append(f"{level} {message}")
        return {"done": done, "levels": levels, "problems": problems, "seconds": seconds}

    def tail(self, lines: int = 30) -> str:
        return "\n".join(line[:400] for line in self.log_lines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.sample()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log(f"worker {self.number} (pid {self.pid}) did not stop in 30 s: killing it")
                self.process.kill()
                self.process.wait(timeout=10)


def start_workers(
    count: int, settings: Settings, log_dir: Path, concurrency: int = 1
) -> list[Worker]:
    env = platform_environment(settings)
    workers = []
    for number in range(1, count + 1):
        log_path = log_dir / f"worker{number}.log"
        with log_path.open("wb") as handle:
            process = subprocess.Popen(
                [microcred_command(), "worker", "--concurrency", str(concurrency)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=handle,
                start_new_session=True,  # a Ctrl-C here reaches them only through stop()
                cwd=str(settings.data_dir),
            )
        workers.append(Worker(number, process, log_path))
    return workers


def wait_workers_ready(app: App, workers: list[Worker], timeout: float = 120.0) -> float:
    """Until every worker is registered with procrastinate and its listener has run LISTEN
    (a job deferred before that waits for the worker's 5 s poll); returns the seconds."""
    started = time.perf_counter()
    deadline = started + timeout
    name = app.engine.url.database
    while True:
        for worker in workers:
            if worker.process.poll() is not None:
                raise RuntimeError(
                    f"worker {worker.number} exited ({worker.process.returncode}) while "
                    f"starting:\n{worker.tail()}"
                )
        with app.engine.connect() as connection:
            registered = connection.execute(
                text("SELECT count(*) FROM procrastinate_workers")
            ).scalar_one()
            listening = connection.execute(
                text(
                    "SELECT count(DISTINCT pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND query ILIKE 'LISTEN%'"
                ),
                {"name": name},
            ).scalar_one()
        if registered >= len(workers) and listening >= len(workers):
            return time.perf_counter() - started
        if time.perf_counter() > deadline:
            raise RuntimeError(
                f"workers not ready after {timeout:.0f} s: {registered} registered, "
                f"{listening} listening, of {len(workers)}"
            )
        time.sleep(0.05)


class InProcessDrain:
    """SQLite: the queue worked off in a thread of this process by ``jobs.drain(app)``."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bench-drain", daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop_event.is_set():
                if not jobs.drain(self.app):
                    self.stop_event.wait(POLL)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=600)


# -- the mail queue ------------------------------------------------------------------------------


@dataclass
class MailState:
    sent: int  # files in the outbox
    distinct_ids: int  # distinct Message-ID digests among them (from the file names)
    queued_jobs: int  # waiting (todo), retries included
    queued_bytes: int  # their payloads (sealed, base64)
    queued_messages: int  # in the waiting jobs (unsealed); counted only at the end
    running_jobs: int  # being sent now: their messages may be in the outbox already
    failed_jobs: int
    first_written_ns: int | None  # the oldest file's time (its name starts with time_ns)


def mail_state(app: App, *, count_messages: bool = False) -> MailState:
    """The outbox and the mail queue; the waiting jobs' messages are counted (fetched and
    unsealed) only with ``count_messages``: they are large (a chunk's 100 messages each)."""
    postgresql = jobs.on_postgresql(app)
    table, task, payload = (
        ("procrastinate_jobs", "task_name", "args::text")
        if postgresql
        else ("jobs", "task", "payload")
    )
    by_status: dict[str, tuple[int, int]] = {}
    # readonly: on SQLite a plain connection would take the write lock (BEGIN IMMEDIATE)
    with transaction(app.sessions, readonly=True) as session:
        for status, count, size in session.execute(
            text(
                f"SELECT status, count(*), coalesce(sum(length({payload})), 0) "  # noqa: S608
                f"FROM {table} WHERE {task} = 'mail.send' GROUP BY status"
            )
        ):
            by_status[str(status)] = (int(count), int(size))
        queued_messages = 0
        if count_messages and by_status.get("todo", (0, 0))[0]:
            column = "args" if postgresql else "payload"
            for (args,) in session.execute(
                text(
                    f"SELECT {column} FROM {table} "  # noqa: S608
                    f"WHERE {task} = 'mail.send' AND status = 'todo'"
                )
            ):
                found = json.loads(args) if isinstance(args, str) else dict(args or {})
                found.pop("_request_id", None)
                queued_messages += len(jobs.unseal(app, found).get("messages", []))
    # the outbox after the queue: a job finished before the query has written its files
    files = FileOutbox(app.settings.data_dir / "outbox").files()
    digests = {p.name.split("-")[1] for p in files if p.name.count("-") >= 2}
    stamps = [int(p.name.split("-")[0]) for p in files if p.name.split("-")[0].isdigit()]
    return MailState(
        sent=len(files),
        distinct_ids=len(digests),
        queued_jobs=by_status.get("todo", (0, 0))[0],
        queued_bytes=by_status.get("todo", (0, 0))[1],
        queued_messages=queued_messages,
        running_jobs=sum(by_status.get(k, (0, 0))[0] for k in ("doing", "aborting")),
        failed_jobs=sum(by_status.get(k, (0, 0))[0] for k in ("failed", "aborted", "cancelled")),
        first_written_ns=min(stamps) if stamps else None,
    )


# -- one run -------------------------------------------------------------------------------------


@dataclass
class Timings:
    accept: float = 0.0  # start_upload and its commit
    first_seen: float | None = None  # first poll that saw an issued row
    done_seen: float | None = None  # first poll that saw the upload done
    mail_seen: float | None = None  # first poll that saw every message in the outbox
    first_mail: float | None = None  # the first message written to the outbox (its file name)
    first_db: float | None = None  # the first chunk's audit event (stamped before its commit)
    done_db: float | None = None  # the upload's finished_at (stamped before its commit)
    polls: int = 0


@dataclass
class Result:
    upload_id: str = ""
    rows_total: int = 0
    accepted: int = 0
    refused: int = 0
    chunks: int = 0
    issued: int = 0
    timings: Timings = field(default_factory=Timings)
    checks: list[tuple[str, str, bool]] = field(default_factory=list)
    mail: MailState | None = None
    bench_peak_before_mib: float | None = None
    bench_peak_accept_mib: float | None = None
    bench_peak_mib: float | None = None
    peak_reset: bool = False
    load_before: float = 0.0  # the machine's 1-minute load average when the upload starts
    bench_cpu: float = 0.0  # CPU seconds of this process from the upload to the email done
    mail_queue_at_done: tuple[int, int] | None = None  # waiting mail jobs and their bytes


def wait_for(
    condition: Callable[[], bool],
    deadline: float,
    what: str,
    alive: Callable[[], None],
    interval: float = POLL,
) -> None:
    """Poll ``condition`` every ``interval`` seconds until true; ``alive`` raises if a worker
    died."""
    while not condition():
        alive()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


def run(
    app: App,
    staff_id: int,
    definition_id: int,
    data: bytes,
    workers: list[Worker],
    timeout: float,
) -> Result:
    result = Result()
    timings = result.timings
    drain = None if workers else InProcessDrain(app)

    def alive() -> None:
        for worker in workers:
            worker.sample()
            if worker.process.poll() is not None:
                raise RuntimeError(
                    f"worker {worker.number} (pid {worker.pid}) exited "
                    f"({worker.process.returncode}):\n{worker.tail()}"
                )
        if drain is not None and drain.error is not None:
            raise RuntimeError(f"jobs.drain failed: {drain.error!r}") from drain.error

    result.bench_peak_before_mib = peak_rss_mib()
    result.peak_reset = reset_peak_rss()
    result.load_before = os.getloadavg()[0]
    for worker in workers:
        worker.cpu_start = cpu_seconds(worker.pid)
    result.bench_cpu = -(cpu_seconds() or 0.0)
    started_wall = datetime.now(UTC)
    started_ns = time.time_ns()
    started = time.perf_counter()
    deadline = started + timeout
    with transaction(app.sessions) as session:  # as the web route: the request's transaction
        staff = session.get(Staff, staff_id)
        assert staff is not None
        upload = bulk.start_upload(app, session, staff, definition_id, data, "bench.csv")
        upload_id = upload.id
    timings.accept = time.perf_counter() - started
    result.bench_peak_accept_mib = peak_rss_mib()
    result.upload_id = upload_id
    if drain is not None:
        drain.start()
    try:
        while True:
            now = bulk.progress_of(app, upload_id)
            elapsed = time.perf_counter() - started
            timings.polls += 1
            if timings.first_seen is None and now.issued + now.already > 0:
                timings.first_seen = elapsed
            if now.done:
                timings.done_seen = elapsed
                if timings.first_seen is None:
                    timings.first_seen = elapsed
                break
            alive()
            if time.perf_counter() > deadline:
                raise TimeoutError(
                    f"the upload was not done after {timeout:.0f} s: {now.to_json()['pending']} "
                    f"rows pending ({jobs.state(app)})"
                )
            time.sleep(POLL)
        report = bulk.progress_of(app, upload_id)
        result.rows_total = report.upload.rows_total
        result.accepted = report.accepted
        result.refused = len({p.row for p in report.problems})
        result.chunks = report.upload.chunks
        result.issued = report.issued

        def mail_settled() -> bool:
            """No mail job waiting or running (a job being sent may have written its files
            already: it is waited for, not counted twice)."""
            state = mail_state(app)
            if result.mail_queue_at_done is None:
                result.mail_queue_at_done = (state.queued_jobs, state.queued_bytes)
            if timings.mail_seen is None and state.sent >= result.accepted:
                timings.mail_seen = time.perf_counter() - started
            return state.queued_jobs == 0 and state.running_jobs == 0

        try:
            # less often: listing the outbox competes with the workers for the CPU
            wait_for(mail_settled, deadline, "the upload's email", alive, MAIL_POLL)
        except TimeoutError as exc:  # the check below reports what is still queued
            log(f"warning: {exc}")
    finally:
        if drain is not None:
            drain.stop()
    result.bench_cpu += cpu_seconds() or 0.0
    for worker in workers:
        worker.sample()
        worker.cpu_end = cpu_seconds(worker.pid)
    result.bench_peak_mib = peak_rss_mib()
    result.mail = mail_state(app, count_messages=True)
    if result.mail.first_written_ns is not None:
        timings.first_mail = (result.mail.first_written_ns - started_ns) / 1e9

    with transaction(app.sessions, readonly=True) as session:
        stored = session.get(BulkUpload, upload_id)
        assert stored is not None
        if stored.finished_at is not None:
            timings.done_db = (_aware(stored.finished_at) - started_wall).total_seconds()
        first = session.scalar(
            select(func.min(AuditEvent.at)).where(
                AuditEvent.action == "bulk.chunk_issued",
                AuditEvent.subject.like(f"{upload_id}/%"),
            )
        )
        if first is not None:
            timings.first_db = (_aware(first) - started_wall).total_seconds()
    result.checks = verify(app, definition_id, result)
    return result


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def verify(app: App, definition_id: int, result: Result) -> list[tuple[str, str, bool]]:
    checks = []
    with transaction(app.sessions, readonly=True) as session:
        stored = (
            session.scalar(
                select(func.count())
                .select_from(Credential)
                .where(Credential.definition_id == definition_id)
            )
            or 0
        )
        checks.append(
            (
                "credentials stored = rows accepted",
                f"{stored} = {result.accepted} (of {result.rows_total}; {result.refused} refused;"
                f" {result.issued} issued)",
                stored == result.accepted == result.issued and result.refused == 0,
            )
        )
        pairs = (
            select(Credential.status_list_id, Credential.status_index)
            .where(Credential.definition_id == definition_id)
            .group_by(Credential.status_list_id, Credential.status_index)
            .having(func.count() > 1)
            .subquery()
        )
        reused = session.scalar(select(func.count()).select_from(pairs)) or 0
        lists = (
            session.scalar(
                select(func.count(func.distinct(Credential.status_list_id))).where(
                    Credential.definition_id == definition_id
                )
            )
            or 0
        )
        outside = (
            session.scalar(
                select(func.count())
                .select_from(Credential)
                .join(StatusList, StatusList.id == Credential.status_list_id)
                .where(
                    Credential.definition_id == definition_id,
                    (Credential.status_index < 0) | (Credential.status_index >= StatusList.size),
                )
            )
            or 0
        )
        checks.append(
            (
                "status indexes distinct per list",
                f"{reused} (list, index) pairs used twice, {outside} outside their list; "
                f"{lists} list(s)",
                reused == 0 and outside == 0,
            )
        )
    mail = result.mail
    assert mail is not None
    in_all = mail.sent + mail.queued_messages
    checks.append(
        (
            "email: outbox files (+ still queued) = rows",
            f"{mail.sent} files in the outbox ({mail.distinct_ids} distinct Message-IDs) + "
            f"{mail.queued_messages} messages in {mail.queued_jobs} waiting mail.send jobs = "
            f"{in_all}; {mail.running_jobs} running, {mail.failed_jobs} failed",
            in_all == result.accepted
            and mail.distinct_ids == mail.sent
            and mail.running_jobs == 0
            and mail.failed_jobs == 0,
        )
    )
    return checks


# -- the report ----------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cpu(result: Result, workers: list[Worker]) -> str:
    """CPU seconds of the workers and of this process (PostgreSQL's own are not counted)."""
    spent = [
        w.cpu_end - w.cpu_start
        for w in workers
        if w.cpu_end is not None and w.cpu_start is not None
    ]
    total = sum(spent) + result.bench_cpu
    per_row = total / result.accepted * 1000 if result.accepted else 0.0
    parts = []
    if workers:
        parts.append(f"workers {sum(spent):.2f} s ({' + '.join(f'{v:.2f}' for v in spent)})")
    parts.append(f"this process {result.bench_cpu:.2f} s")
    server = " (PostgreSQL's own not counted)" if workers else " (SQLite included: in-process)"
    return f"{', '.join(parts)}; {per_row:.2f} ms per row{server}"


def _durations(values: list[float]) -> str:
    if not values:
        return ""
    ordered = sorted(values)
    return f" (median {statistics.median(ordered):.2f} s, max {ordered[-1]:.2f} s)"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} MiB"


def print_report(
    args: argparse.Namespace,
    shown_database: str,
    result: Result,
    workers: list[Worker],
    ready_seconds: float | None,
    setup_seconds: float,
) -> None:
    t = result.timings
    jobs_waiting, payload_bytes = result.mail_queue_at_done or (0, 0)
    queue = f"{jobs_waiting} mail.send jobs, {payload_bytes / 2**20:.1f} MiB of sealed payload"
    wall = t.done_seen
    rate = result.accepted / wall if wall else 0.0
    issuing = (wall - t.accept) if wall else None
    rows = [
        ("rows", f"{args.rows} in the file, {result.accepted} accepted, {result.chunks} chunks"),
        ("database", shown_database),
        (
            "workers",
            f"{len(workers)} × `microcred worker` (separate processes)"
            if workers
            else "none: chunks run in this process by jobs.drain(app) (SQLite)",
        ),
        (
            "machine",
            f"{os.cpu_count()} CPUs, load average {result.load_before:.2f} at the upload "
            "(other work on the machine slows every figure but the CPU seconds)",
        ),
        ("setup (db, migrations, provider)", f"{setup_seconds:.2f} s"),
    ]
    if workers:
        rows.append(("workers ready (registered, LISTEN)", f"{_s(ready_seconds)} s"))
    rows += [
        ("validate + accept (start_upload + commit)", f"{t.accept:.2f} s"),
        (
            "first credential stored",
            f"{_s(t.first_seen)} s committed (its audit event stamped at {_s(t.first_db)} s,"
            " before the chunk's email is composed and committed)",
        ),
        (
            "wall: upload → done",
            f"{_s(wall)} s (finished_at stamped at {_s(t.done_db)} s; after the accept "
            f"{_s(issuing)} s)",
        ),
        ("rows/s (upload → done)", f"{rate:.0f}"),
        ("CPU, upload → email done", _cpu(result, workers)),
        (
            "email in the outbox",
            f"first at {_s(t.first_mail)} s, all by {_s(t.mail_seen)} s (polled every "
            f"{MAIL_POLL:.1f} s once done); waiting when done: {queue}",
        ),
        (
            "peak RSS, benchmark process",
            f"{_mib(result.bench_peak_before_mib)} before the upload; from the upload on "
            f"{_mib(result.bench_peak_accept_mib)} after accepting, {_mib(result.bench_peak_mib)}"
            f" at the end"
            + ("" if result.peak_reset else " (could not reset VmHWM: peaks include setup)")
            + ("" if workers else " (includes the chunks)"),
        ),
    ]
    if workers:
        rows.append(("workers' stderr (JSON lines)", str(workers[0].log_path.parent)))
    for worker in workers:
        summary = worker.summary()
        done = ", ".join(
            f"{n} {task}" + _durations(summary["seconds"].get(task, []))
            for task, n in sorted(summary["done"].items())
        )
        rows.append(
            (
                f"peak RSS, worker {worker.number} (pid {worker.pid})",
                f"{_mib(worker.peak_mib)} (idle {_mib(worker.idle_peak_mib)}); jobs: "
                f"{done or 'none'}; {len(summary['problems'])} warnings/errors",
            )
        )
    width = max(len(k) for k, _ in rows)
    print()
    print(f"bulk issuing benchmark (poll every {POLL:.2f} s; observed times late by ≤ 1 poll)")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    print("checks")
    cwidth = max(len(name) for name, _, _ in result.checks)
    for name, detail, ok in result.checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {name:<{cwidth}}  {detail}")


# -- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Bulk issuing from a CSV: wall time from the upload to the last credential "
        "stored, with the chunks run by separate `microcred worker` processes (PostgreSQL) or "
        "in this process (SQLite).",
    )
    parser.add_argument("--rows", type=int, default=10_000, help="learners in the CSV (10000)")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="`microcred worker` processes (PostgreSQL only; default 2)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="jobs each worker runs at once (threads: one chunk signs while another waits on "
        "the database; default 1)",
    )
    parser.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        help=f"a PostgreSQL server URL (a fresh database bench_bulk_<pid> is made on it; "
        f"default {DEFAULT_DATABASE}) or 'sqlite' (a temporary file)",
    )
    parser.add_argument(
        "--outbox-on-disk",
        action="store_true",
        help="write the outbox's .eml files in the data folder on disk; by default they go to "
        "a folder in /dev/shm (RAM), standing in for an SMTP relay on another machine: on this "
        "machine's disk each new file costs ~0.6 ms, a third of a worker's time",
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="keep the database and the data folder (outbox) for debugging",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="seconds to wait for the upload and its email before giving up (1800)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.rows <= bulk.MAX_ROWS:
        parser.error(f"--rows must be 1 to {bulk.MAX_ROWS}")
    if args.workers < 1:
        parser.error("--workers must be 1 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sqlite = args.database.strip().lower() == "sqlite"
    data_dir = Path(tempfile.mkdtemp(prefix="bench_bulk_"))
    log_dir = Path(tempfile.mkdtemp(prefix="bench_bulk_logs_"))
    ram = Path("/dev/shm")  # noqa: S108 - a private folder made by mkdtemp below
    outbox_dir = None
    if not args.outbox_on_disk and ram.is_dir():
        outbox_dir = Path(tempfile.mkdtemp(prefix="bench_bulk_outbox_", dir=ram))
        (data_dir / "outbox").symlink_to(outbox_dir, target_is_directory=True)
    database_name: str | None = None
    database_url = ""
    app: App | None = None
    workers: list[Worker] = []
    failed = True
    try:
        setup_started = time.perf_counter()
        if sqlite:
            database_url = f"sqlite:///{data_dir / 'microcred.db'}"
            shown_database = f"SQLite ({data_dir / 'microcred.db'})"
        else:
            database_url, database_name = create_postgres_database(args.database, "bench_bulk")
            parts = urlsplit(database_url)
            shown_database = f"PostgreSQL ({parts.hostname}:{parts.port or 5432}/{database_name})"
        log(f"database: {shown_database}; data folder: {data_dir}")
        log(f"outbox: {outbox_dir or data_dir / 'outbox'} ({'RAM' if outbox_dir else 'disk'})")
        settings = make_settings(database_url, data_dir)
        app = App.start(settings)
        if not isinstance(app.mailer, FileOutbox):
            raise RuntimeError(f"email would not go to the file outbox: {app.mailer!r}")
        org = make_org(app, "bench")
        definition = publish_definition(app, org, DEFINITION)
        staff_id = org.staff["issuer"]
        data = make_csv(args.rows)
        setup_seconds = time.perf_counter() - setup_started
        log(f"CSV: {args.rows} rows, {len(data) / 1024:.0f} KiB; definition {definition.id}")

        ready_seconds = None
        if sqlite:
            log("SQLite: no worker processes; the chunks run in this process (jobs.drain)")
        else:
            log(f"starting {args.workers} `microcred worker` processes; stderr in {log_dir}")
            workers = start_workers(args.workers, settings, log_dir, args.concurrency)
            ready_seconds = wait_workers_ready(app, workers)
            for worker in workers:
                worker.sample()
                worker.idle_peak_mib = worker.peak_mib

        log("uploading")
        result = run(app, staff_id, definition.id, data, workers, args.timeout)
        for worker in workers:
            worker.stop()
        print_report(args, shown_database, result, workers, ready_seconds, setup_seconds)
        failed = not all(ok for _, _, ok in result.checks)
        for worker in workers:
            problems = worker.summary()["problems"]
            if problems:
                print(f"worker {worker.number}: {len(problems)} warnings/errors, the last:")
                for line in problems[-10:]:
                    print(f"    {line[:300]}")
        if failed and workers:
            for worker in workers:
                print(f"--- worker {worker.number} stderr (tail) ---\n{worker.tail()}")
        return 1 if failed else 0
    except Exception as exc:
        log(f"error: {exc}")
        for worker in workers:
            log(f"--- worker {worker.number} stderr (tail, {worker.log_path}) ---")
            log(worker.tail())
        raise
    finally:
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.stop()
        if app is not None:
            app.engine.dispose()
        if args.keep_db:
            log(f"kept: database {database_name or database_url}, data folder {data_dir}")
        else:
            if database_name is not None:
                drop_postgres_database(args.database, database_name)
            shutil.rmtree(data_dir, ignore_errors=True)
            if outbox_dir is not None:
                shutil.rmtree(outbox_dir, ignore_errors=True)
        if workers:
            log(f"workers' stderr kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
