"""The job queue on PostgreSQL: procrastinate (ADR 0019).

- :func:`defer` writes the job through the caller's own connection, inside its transaction
  (procrastinate's sync connector pointed at that connection), so a job exists exactly when
  the data that caused it is committed.
- :func:`run_worker` is ``microcred worker``: procrastinate's worker (LISTEN/NOTIFY, heartbeats,
  retries with backoff) plus a reaper that puts back the jobs of workers whose heartbeat stopped
  (a host lost, a ``kill -9``); the job functions must be safe to run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Generator, Iterator
from typing import Any

import procrastinate
import psycopg
import psycopg.rows
from procrastinate import exceptions as procrastinate_errors
from procrastinate.manager import JobManager
from procrastinate.sync_psycopg_connector import SyncPsycopgConnector
from procrastinate.tasks import configure_task
from sqlalchemy.orm import Session

from microcred.services import jobs
from microcred.services.app import App

log = logging.getLogger("microcred.jobs")
HEARTBEAT_SECONDS = 5.0


class _ConnectionConnector(SyncPsycopgConnector):
    """procrastinate's sync connector, on one given connection (the caller's transaction)."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        super().__init__()
        self._connection = connection

    @contextlib.contextmanager
    def _get_cursor(
        self, connection: psycopg.Connection[Any] | None = None
    ) -> Generator[psycopg.Cursor[psycopg.rows.DictRow]]:
        with super()._get_cursor(connection or self._connection) as cursor:
            yield cursor


def defer(
    session: Session,
    spec: jobs.TaskSpec,
    payload: dict[str, Any],
    *,
    queueing_lock: str | None,
    delay: int,
) -> bool:
    if queueing_lock is None:
        _defer_on(session, spec, payload, None, delay)
        return True
    try:
        with session.begin_nested():  # a refused duplicate must not abort the caller's transaction
            _defer_on(session, spec, payload, queueing_lock, delay)
    except procrastinate_errors.AlreadyEnqueued:
        return False
    return True


def _defer_on(
    session: Session,
    spec: jobs.TaskSpec,
    payload: dict[str, Any],
    queueing_lock: str | None,
    delay: int,
) -> None:
    # session.connection() first: it emits a pending SAVEPOINT before we write past SQLAlchemy
    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    configure_task(
        name=spec.name,
        job_manager=JobManager(_ConnectionConnector(raw)),
        queue=spec.queue,
        priority=spec.priority,
        queueing_lock=queueing_lock,
        schedule_in={"seconds": delay} if delay else None,
    ).defer(**payload)


def conninfo(app: App) -> str:
    url = app.settings.database_url
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql://" + url[len(prefix) :]
    return url


def build(app: App, *, pool_size: int = 4) -> procrastinate.App:
    """A procrastinate app whose tasks are microcred's (each one calls ``jobs.execute``)."""
    jobs.load_tasks()
    queue_app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(app), min_size=1, max_size=pool_size
        )
    )
    for spec in jobs.TASKS.values():
        queue_app.task(
            name=spec.name,
            queue=spec.queue,
            retry=procrastinate.RetryStrategy(
                max_attempts=spec.max_attempts - 1,  # procrastinate counts retries
                wait=spec.wait,
                exponential_wait=2,
                retry_exceptions=list(spec.retry_on),
            ),
        )(_runner_for(app, spec.name))
    return queue_app


def _runner_for(app: App, name: str) -> Any:
    def run(**payload: Any) -> None:
        try:
            jobs.execute(app, name, payload)
        except Exception:
            log.exception("job %s failed", name, extra={"task": name})
            raise

    run.__name__ = name.replace(".", "_")
    return run


async def _reap(queue_app: procrastinate.App, stalled_after: float, stop: asyncio.Event) -> None:
    """Put back the jobs of workers that stopped sending heartbeats."""
    while not stop.is_set():
        try:
            stalled = await queue_app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=stalled_after
            )
            for job in stalled:
                spec = jobs.TASKS.get(job.task_name)
                try:
                    if spec is not None and job.attempts + 1 >= spec.max_attempts:
                        log.error(
                            "job %s (%s) stalled on its last attempt: gave up",
                            job.id,
                            job.task_name,
                        )
                        await queue_app.job_manager.finish_job(
                            job, status=procrastinate.jobs.Status.FAILED, delete_job=False
                        )
                        continue
                    log.warning("job %s (%s) stalled: queued again", job.id, job.task_name)
                    await queue_app.job_manager.retry_job(job)
                except procrastinate_errors.ConnectorException:  # a waiting twin holds its lock
                    log.warning("job %s (%s) stalled, left: %s", job.id, job.task_name, "twin")
        except Exception:
            log.exception("job reaper: could not look for stalled jobs")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(1.0, stalled_after / 3))


def _options(concurrency: int, stalled_after: float, wait: bool, signals: bool) -> dict[str, Any]:
    return {
        "concurrency": concurrency,
        "wait": wait,
        "delete_jobs": "successful",
        "install_signal_handlers": signals,
        "update_heartbeat_interval": min(HEARTBEAT_SECONDS, stalled_after / 3),
        "stalled_worker_timeout": stalled_after,
        "fetch_job_polling_interval": 5.0,
    }


async def _work(
    app: App,
    *,
    concurrency: int,
    stalled_after: float,
    wait: bool,
    signals: bool,
    stop: asyncio.Event | None = None,
) -> None:
    queue_app = build(app, pool_size=concurrency + 2)
    stop = stop or asyncio.Event()
    async with queue_app.open_async():
        reaper = asyncio.create_task(_reap(queue_app, stalled_after, stop))
        worker = asyncio.create_task(
            queue_app.run_worker_async(**_options(concurrency, stalled_after, wait, signals))
        )
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({worker, waiter}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        if worker not in done:
            worker.cancel()  # procrastinate stops gracefully on cancellation
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        await reaper
        if worker.done() and not worker.cancelled() and worker.exception():
            raise worker.exception()  # type: ignore[misc]


def run_worker(app: App, *, concurrency: int = 1, stalled_after: float = 30.0) -> None:
    """``microcred worker`` on PostgreSQL: until SIGINT or SIGTERM."""
    asyncio.run(
        _work(app, concurrency=concurrency, stalled_after=stalled_after, wait=True, signals=True)
    )


def drain(app: App, *, timeout: float = 300.0) -> int:
    """Run the due jobs in this process until the queue is empty (tests, the CLI)."""
    if not pending(app):
        return 0
    before = jobs.executed()

    async def main() -> None:
        await asyncio.wait_for(
            _work(app, concurrency=1, stalled_after=30.0, wait=False, signals=False), timeout
        )

    asyncio.run(main())
    return jobs.executed() - before


@contextlib.contextmanager
def running(app: App, *, concurrency: int = 1) -> Iterator[threading.Thread]:
    """A worker in a background thread of this process for the duration of the block."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(
                _work(
                    app,
                    concurrency=concurrency,
                    stalled_after=30.0,
                    wait=True,
                    signals=False,
                    stop=stop,
                )
            )
        except BaseException as exc:  # noqa: BLE001 - reported when the block ends
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="jobs-procrastinate", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        if not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        if failure:
            raise RuntimeError("the job worker stopped on an error") from failure[0]


def pending(app: App) -> bool:
    with app.engine.connect() as connection:
        return (
            connection.exec_driver_sql(
                "SELECT 1 FROM procrastinate_jobs WHERE status = 'todo' "
                "AND (scheduled_at IS NULL OR scheduled_at <= now()) LIMIT 1"
            ).first()
            is not None
        )


def state(app: App) -> jobs.QueueState:
    """Counts by state, and how long the oldest due job has waited (by id: the first deferred
    of those due; a retry waits from its scheduled time)."""
    with app.engine.connect() as connection:
        waiting, running, failed = connection.exec_driver_sql(
            "SELECT count(*) FILTER (WHERE status = 'todo'),"
            " count(*) FILTER (WHERE status = 'doing'),"
            " count(*) FILTER (WHERE status = 'failed')"
            " FROM procrastinate_jobs"
        ).one()
        age = connection.exec_driver_sql(
            "SELECT extract(epoch FROM now() - coalesce(j.scheduled_at,"
            "  (SELECT min(e.at) FROM procrastinate_events e"
            "   WHERE e.job_id = j.id AND e.type = 'deferred')))"
            " FROM procrastinate_jobs j"
            " WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())"
            " ORDER BY j.id LIMIT 1"
        ).scalar()
    return jobs.QueueState(int(waiting), int(running), int(failed), max(0.0, float(age or 0)))
