"""Prometheus metrics (prometheus-client; ADR 0018).

One process (``microcred serve``): the metrics live in prometheus-client's default registry,
with its process and platform collectors. Several worker processes (``serve --workers N``):
set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder writable by every worker, before the
processes start (``serve`` creates it and clears stale files); each process then writes its
values into that folder and ``/metrics`` adds them up, whichever worker answers.

Services count what they do with one line each; counts that depend on a transaction
(``count_on_commit``) are added only when it commits, so a refused use case counts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess
from sqlalchemy import event
from sqlalchemy.orm import Session

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "microcred_http_requests",
    "HTTP requests answered, by route template (not the raw path) and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "microcred_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
CREDENTIALS_ISSUED = Counter(
    "microcred_credentials_issued",
    "Credentials signed and stored (committed), by path: definition (pages, API, bulk) or "
    "vc_api (the W3C VC API's issuer).",
    ["via"],
)
CREDENTIALS_VERIFIED = Counter(
    "microcred_credentials_verified",
    "Documents verified (verifier pages and API, wallet, records, pathway progress), by verdict.",
    ["verdict"],
)
CREDENTIAL_STATUS_CHANGES = Counter(
    "microcred_credential_status_changes",
    "Status changes committed: revoke, suspend, reinstate.",
    ["action"],
)
BULK_UPLOADS_RUNNING = Gauge(
    "microcred_bulk_uploads_running",
    "CSV uploads being issued right now (summed over the live processes).",
    multiprocess_mode="livesum",
)


def queue_exposition(waiting: int, running: int, failed: int, oldest_seconds: float) -> bytes:
    """The job queue's gauges, read from its tables at scrape time (the same from every
    process, so they are not kept per process)."""
    registry = CollectorRegistry()
    jobs = Gauge(
        "microcred_jobs",
        "Jobs in the queue, by state: waiting (due or scheduled), running, failed (gave up).",
        ["state"],
        registry=registry,
    )
    jobs.labels("waiting").set(waiting)
    jobs.labels("running").set(running)
    jobs.labels("failed").set(failed)
    Gauge(
        "microcred_jobs_oldest_waiting_seconds",
        "How long the oldest due job has waited to start (0: none waiting).",
        registry=registry,
    ).set(oldest_seconds)
    return generate_latest(registry)


_PENDING = "microcred.metrics.pending"


def count_on_commit(session: Session, count: Callable[[], Any]) -> None:
    """Call ``count`` (``COUNTER.labels(...).inc``) once ``session``'s transaction commits;
    forget it if the transaction rolls back."""
    session.info.setdefault(_PENDING, []).append(count)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for count in session.info.pop(_PENDING, ()):
        count()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir() -> None:
    """Before the worker processes start: create the folder, drop a previous run's files."""
    folder = multiprocess_dir()
    if folder is None:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def exposition() -> tuple[bytes, str]:
    """The current metrics in Prometheus' text format, and its content type."""
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
