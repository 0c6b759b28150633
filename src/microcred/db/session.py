"""Engines and sessions. SQLite runs in WAL mode with ``BEGIN IMMEDIATE`` transactions and a busy
timeout, so concurrent writers queue instead of failing with "database is locked"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
READONLY = "microcred_readonly"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a database error never carries emails, names or hashes into the logs
        engine = create_engine(url, connect_args={"timeout": 60}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            # Writers take the lock up front (a deferred reader that later writes could fail
            # with SQLITE_BUSY, which busy_timeout does not retry); readers do not block writers.
            readonly = connection.get_execution_options().get(READONLY, False)
            connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # A web process serves up to 40 requests at once (anyio's thread pool), each holding a
    # connection for a moment: keep 16 open, allow 16 more. The default (5 + 10) opens and
    # closes a connection for about every fourth request under load.
    return create_engine(
        url, pool_pre_ping=True, pool_size=16, max_overflow=16, hide_parameters=True
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session], *, readonly: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    ``readonly`` transactions do not take SQLite's write lock (PostgreSQL is unaffected).
    """
    with factory() as session, session.begin():
        if readonly:
            session.connection(execution_options={READONLY: True})
        yield session


def migrate(engine: Engine) -> None:
    """Apply Alembic migrations up to head."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
