"""Durable jobs (ADR 0019): enqueued in the transaction of the data that causes them, retried
with backoff, run by any number of workers.

- On PostgreSQL the engine is procrastinate (``services/queue_pg.py``): its tables, its workers
  (``microcred worker``), LISTEN/NOTIFY, heartbeats; :func:`enqueue` defers through the caller's
  own connection, so the job commits or vanishes with the caller's data.
- On SQLite (the embedded default) the same task functions run from rows of microcred's ``jobs``
  table, claimed by :class:`LocalRunner` threads inside ``microcred serve`` (or ``microcred
  worker``). SQLite is one machine by nature; this is its runner, not a second queue design.

A task is a function ``f(app, **args)`` registered with :func:`task`; it owns its transactions
and must be safe to run again (a crash after its commit and before the job is marked done
runs it twice). Arguments are JSON; ``sealed=True`` encrypts them (email bodies carry one-time
links and personal data) with a key derived from the key-encryption key.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microcred import logs
from microcred.db.session import transaction
from microcred.db.tables import Job
from microcred.i18n import DEFAULT, use_language
from microcred.services.app import App

log = logging.getLogger("microcred.jobs")
TaskFunc = Callable[..., None]
MAX_WAIT = 3600  # seconds: the longest pause between two attempts


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    func: TaskFunc
    queue: str
    max_attempts: int  # attempts in all, the first included
    wait: int  # seconds before the second attempt; doubles after each failure
    retry_on: tuple[type[Exception], ...]
    priority: int = 0  # higher first among due jobs (email before bulk chunks)

    def delay_after(self, attempts: int) -> int:
        """Seconds to wait after the ``attempts``-th failure."""
        return int(min(MAX_WAIT, self.wait * 2 ** max(0, attempts - 1)))


TASKS: dict[str, TaskSpec] = {}


def task(
    name: str,
    *,
    queue: str = "default",
    max_attempts: int = 5,
    wait: int = 10,
    retry_on: tuple[type[Exception], ...] = (Exception,),
    priority: int = 0,
) -> Callable[[TaskFunc], TaskFunc]:
    """Register ``f(app, **args)`` as the task ``name``."""

    def register(func: TaskFunc) -> TaskFunc:
        if name in TASKS and TASKS[name].func is not func:
            raise RuntimeError(f"two tasks are named {name!r}")
        TASKS[name] = TaskSpec(name, func, queue, max_attempts, wait, retry_on, priority)
        return func

    return register


def load_tasks() -> None:
    """Import the modules that define tasks (the registry fills as they load)."""
    from microcred.services import bulk, notify, stacking, status  # noqa: F401


def on_postgresql(app: App) -> bool:
    return app.engine.dialect.name == "postgresql"


# --- sealing: job arguments that must not sit in the database in clear ---


def _payload_key(app: App) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"microcred job payload v1"
    ).derive(app.settings.kek)


def seal(app: App, args: dict[str, Any]) -> dict[str, Any]:
    """``args`` compressed, then encrypted (AES-GCM with a key derived from the KEK). Compressed:
    a bulk chunk's 100 messages differ in a few names and links, and shrink 16-fold (the
    database stores, logs and sends a twentieth). Only the platform can seal, so what it opens
    is its own."""
    nonce = os.urandom(12)
    packed = zlib.compress(_json_bytes(args), 1)
    box = AESGCM(_payload_key(app)).encrypt(nonce, packed, b"job")
    return {"sealed": base64.b64encode(nonce + box).decode(), "deflate": 1}


def _json_bytes(args: dict[str, Any]) -> bytes:
    """``args`` as JSON: orjson (ADR 0025), or the standard encoder for what it refuses."""
    try:
        return orjson.dumps(args)
    except orjson.JSONEncodeError:
        return json.dumps(args).encode()


def unseal(app: App, args: dict[str, Any]) -> dict[str, Any]:
    """The arguments :func:`seal` sealed; also those sealed uncompressed (older versions)."""
    if set(args) not in ({"sealed"}, {"sealed", "deflate"}):
        return args
    raw = base64.b64decode(args["sealed"])
    opened = AESGCM(_payload_key(app)).decrypt(raw[:12], raw[12:], b"job")
    if args.get("deflate") == 1:
        opened = zlib.decompress(opened)
    result: dict[str, Any] = json.loads(opened)  # integers beyond 64 bits stay integers
    return result


# --- enqueueing ---


def enqueue(
    app: App,
    session: Session,
    name: str,
    *,
    sealed: bool = False,
    queueing_lock: str | None = None,
    delay: int = 0,
    **args: Any,
) -> bool:
    """Enqueue the task ``name`` in ``session``'s transaction: it runs only if that commits.
    With ``queueing_lock``, nothing is added while a job with the same lock waits (returns
    False); the lock is free again once that job has started."""
    if name not in TASKS:
        load_tasks()
    spec = TASKS[name]
    payload: dict[str, Any] = seal(app, args) if sealed else dict(args)
    request_id = logs.current_request_id()
    if request_id:
        payload["_request_id"] = request_id
    if on_postgresql(app):
        from microcred.services import queue_pg

        return queue_pg.defer(session, spec, payload, queueing_lock=queueing_lock, delay=delay)
    now = app.now()
    if _RUNNERS and not session.info.get(_WAKE_HOOKED):
        event.listen(session, "after_commit", _wake_runners)
        session.info[_WAKE_HOOKED] = True
    row = Job(
        task=name,
        queue=spec.queue,
        priority=spec.priority,
        payload=payload,
        status="todo",
        attempts=0,
        queueing_lock=queueing_lock,
        run_after=now + timedelta(seconds=delay),
        created_at=now,
    )
    if queueing_lock is None:
        session.add(row)
        session.flush()
        return True
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def _superseded(session: Session, job: Job) -> bool:
    """Whether a waiting job with the same queueing lock will do this job's work (then this
    one is dropped rather than queued twice against the lock)."""
    if job.queueing_lock is None:
        return False
    waiting = session.scalar(
        select(Job.id).where(
            Job.queueing_lock == job.queueing_lock, Job.status == "todo", Job.id != job.id
        )
    )
    if waiting is None:
        return False
    log.info("job %s (%s) superseded by job %s", job.id, job.task, waiting)
    session.execute(delete(Job).where(Job.id == job.id))
    return True


_RUNNERS: set[LocalRunner] = set()  # started in this process: woken when a job commits here
_WAKE_HOOKED = "microcred_jobs_wake"


def _wake_runners(_session: Session) -> None:
    for runner in list(_RUNNERS):
        runner.wake()


_executed = 0  # jobs this process has run (each attempt), for drain's answer
_executed_lock = threading.Lock()


def executed() -> int:
    return _executed


def execute(app: App, name: str, payload: dict[str, Any]) -> None:
    """Run one job's task (both engines come here): the enqueuing request's id in its logs."""
    global _executed
    with _executed_lock:
        _executed += 1
    spec = TASKS[name]
    args = dict(payload)
    request_id = args.pop("_request_id", None)
    # what a job writes down (a refused bulk row, a status) is read later by anyone: English,
    # whatever language the enqueuing request was in; an email chooses its reader's inside
    with logs.request_context(request_id), use_language(DEFAULT):
        log.info("job %s started", name, extra={"task": name})
        spec.func(app, **unseal(app, args))
        log.info("job %s done", name, extra={"task": name})


# --- the embedded runner (SQLite) ---


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalRunner:
    """Runs jobs from the ``jobs`` table in threads of this process.

    A claimed job carries ``host:pid`` and a heartbeat; a job whose process is gone (same host)
    or whose heartbeat is older than ``stalled_after`` seconds is taken up again."""

    def __init__(
        self,
        app: App,
        *,
        concurrency: int = 1,
        poll: float = 1.0,
        stalled_after: float = 60.0,
    ) -> None:
        load_tasks()
        self.app = app
        self.concurrency = concurrency
        self.poll = poll
        self.stalled_after = stalled_after
        # host:pid finds a dead process on this host; the random part tells a restarted
        # process (same host name, same pid in a container) from the one that died
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    # one job

    def _claim(self) -> Job | None:
        now = self.app.now()
        with transaction(self.app.sessions) as session:
            job = session.scalars(
                select(Job)
                .where(Job.status == "todo", Job.run_after <= now)
                .order_by(Job.priority.desc(), Job.run_after, Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if job is None:
                return None
            job.status, job.locked_by, job.heartbeat_at = "doing", self.me, now
            job.attempts += 1
            return job

    def run_one(self) -> bool:
        """Claim one due job and run it; False when none is due."""
        job = self._claim()
        if job is None:
            return False
        spec = TASKS.get(job.task)
        try:
            if spec is None:
                raise LookupError(f"no task named {job.task!r} in this version")
            execute(self.app, job.task, job.payload)
        except Exception as exc:  # noqa: BLE001 - recorded on the job, logged with traceback
            self._failed(job, spec, exc)
        else:
            with transaction(self.app.sessions) as session:
                session.execute(delete(Job).where(Job.id == job.id))
        return True

    def _failed(self, job: Job, spec: TaskSpec | None, exc: Exception) -> None:
        again = (
            spec is not None and job.attempts < spec.max_attempts and isinstance(exc, spec.retry_on)
        )
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.error(
            "job %s (%s) failed, attempt %s%s",
            job.id,
            job.task,
            job.attempts,
            "; will retry" if again else "; gave up",
            exc_info=exc,
            extra={"job_id": job.id, "task": job.task},
        )
        with transaction(self.app.sessions) as session:
            values: dict[str, Any] = {"last_error": error, "locked_by": None}
            if again:
                assert spec is not None
                if _superseded(session, job):
                    return
                values |= {
                    "status": "todo",
                    "run_after": self.app.now() + timedelta(seconds=spec.delay_after(job.attempts)),
                }
            else:
                values |= {"status": "failed", "finished_at": self.app.now()}
            session.execute(update(Job).where(Job.id == job.id).values(**values))

    # recovery

    def reclaim_stalled(self) -> int:
        """Put back the jobs of dead processes and silent runners (or give up on those out of
        attempts); returns how many were put back."""
        now = self.app.now()
        host = socket.gethostname()
        with transaction(self.app.sessions) as session:
            doing = session.scalars(select(Job).where(Job.status == "doing")).all()
            stalled = []
            for job in doing:
                parts = (job.locked_by or "").split(":")
                owner_host, owner_pid = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
                dead = owner_host == host and owner_pid.isdigit() and not _alive(int(owner_pid))
                silent = job.heartbeat_at is None or (
                    (now - job.heartbeat_at).total_seconds() > self.stalled_after
                )
                if job.locked_by != self.me and (dead or silent):
                    stalled.append(job)
            put_back = 0
            for job in stalled:
                spec = TASKS.get(job.task)
                if spec is None or job.attempts >= spec.max_attempts:
                    log.error(
                        "job %s (%s) stalled after its last attempt: gave up", job.id, job.task
                    )
                    job.status, job.locked_by, job.finished_at = "failed", None, now
                    job.last_error = "the process running it stopped"
                    continue
                if _superseded(session, job):
                    continue
                log.warning(
                    "job %s (%s) stalled under %s: queued again", job.id, job.task, job.locked_by
                )
                job.status, job.locked_by, job.run_after = "todo", None, now
                session.flush()
                put_back += 1
            return put_back

    def _beat(self) -> None:
        with transaction(self.app.sessions) as session:
            session.execute(
                update(Job)
                .where(Job.status == "doing", Job.locked_by == self.me)
                .values(heartbeat_at=self.app.now())
            )

    def drain(self, *, timeout: float = 300.0) -> int:
        """Run every due job (and those they enqueue) in this thread; returns how many ran."""
        self.reclaim_stalled()
        ran = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.run_one():
            ran += 1
        return ran

    # threads

    def start(self) -> None:
        try:
            self.reclaim_stalled()
        except Exception:
            log.exception("job runner: could not take up stalled jobs at start")
        for n in range(self.concurrency):
            thread = threading.Thread(target=self._work, name=f"jobs-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        keeper = threading.Thread(target=self._keep, name="jobs-heartbeat", daemon=True)
        keeper.start()
        self._threads.append(keeper)
        _RUNNERS.add(self)
        log.info("job runner started (%s threads, %s)", self.concurrency, self.me)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        _RUNNERS.discard(self)
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_one()
            except Exception:
                log.exception("job runner: could not claim a job")
                busy = False
            if not busy:
                self._wake.wait(self.poll)
                self._wake.clear()

    def _keep(self) -> None:
        interval = max(0.5, self.stalled_after / 4)
        while not self._stop.wait(interval):
            try:
                self._beat()
                self.reclaim_stalled()
            except Exception:
                log.exception("job runner: heartbeat failed")


# --- what the queue holds (readiness, metrics, pages) ---


@dataclass(frozen=True, slots=True)
class QueueState:
    waiting: int  # due or scheduled, not started
    running: int
    failed: int
    oldest_waiting_seconds: float


def state(app: App) -> QueueState:
    if on_postgresql(app):
        from microcred.services import queue_pg

        return queue_pg.state(app)
    now = app.now()
    with transaction(app.sessions, readonly=True) as session:
        counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        oldest = session.scalar(
            select(func.min(Job.run_after)).where(Job.status == "todo", Job.run_after <= now)
        )
    age = (now - _aware(oldest)).total_seconds() if oldest else 0.0
    return QueueState(counts.get("todo", 0), counts.get("doing", 0), counts.get("failed", 0), age)


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def drain(app: App, *, timeout: float = 300.0) -> int:
    """Run every due job now, in this process, with the real engine (tests, the CLI)."""
    if on_postgresql(app):
        from microcred.services import queue_pg

        return queue_pg.drain(app, timeout=timeout)
    return LocalRunner(app).drain(timeout=timeout)


@contextmanager
def running(app: App, *, concurrency: int = 1) -> Iterator[Any]:
    """A runner in background threads of this process for the duration of the block."""
    if on_postgresql(app):
        from microcred.services import queue_pg

        with queue_pg.running(app, concurrency=concurrency) as worker:
            yield worker
        return
    runner = LocalRunner(app, concurrency=concurrency)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def pending(app: App) -> bool:
    """Whether any job is due now (cheap)."""
    if on_postgresql(app):
        from microcred.services import queue_pg

        return queue_pg.pending(app)
    with transaction(app.sessions, readonly=True) as session:
        return (
            session.scalar(
                select(Job.id).where(Job.status == "todo", Job.run_after <= app.now()).limit(1)
            )
            is not None
        )
