"""Readiness: can this process serve requests (``/readyz``)?"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from microcred.db.session import MIGRATIONS
from microcred.services import jobs
from microcred.services.app import App

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str = "ok"


@cache
def _heads() -> frozenset[str]:
    """The migrations' head revisions (files shipped with this code; read once)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def readiness(app: App) -> list[Check]:
    """The database answers ``SELECT 1``, its schema is at the migrations' head, and the job
    queue can be read (a backlog is reported, not a reason to stop serving)."""
    try:
        with app.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means not ready; logged, not shown
        log.warning("readiness: the database is unreachable", exc_info=True)
        return [
            Check("database", False, f"unreachable ({type(exc).__name__})"),
            Check("migrations", False, "unknown"),
        ]
    try:
        with app.engine.connect() as connection:
            current = set(
                connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
            )
    except SQLAlchemyError:  # no version table: never migrated
        current = set()
    heads = _heads()
    if current != heads:
        detail = f"at {', '.join(sorted(current)) or 'nothing'}, head is {', '.join(sorted(heads))}"
        log.warning("readiness: the database schema is not at head (%s)", detail)
        return [Check("database", True), Check("migrations", False, detail)]
    queue = queue_state(app)
    if queue is None:
        return [
            Check("database", True),
            Check("migrations", True),
            Check("queue", False, "unreadable"),
        ]
    detail = (
        f"{queue.waiting} waiting (oldest {queue.oldest_waiting_seconds:.0f} s), "
        f"{queue.running} running, {queue.failed} failed"
    )
    return [Check("database", True), Check("migrations", True), Check("queue", True, detail)]


def queue_state(app: App) -> jobs.QueueState | None:
    """The queue's counts, or None when they cannot be read (logged)."""
    try:
        return jobs.state(app)
    except Exception:
        log.warning("readiness: the job queue cannot be read", exc_info=True)
        return None
