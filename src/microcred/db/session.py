"""Engines and sessions. SQLite runs in WAL mode with ``BEGIN IMMEDIATE`` transactions and a busy
timeout, so concurrent writers queue instead of failing with "database is locked"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
READONLY = "microcred_readonly"
PING_IDLE = 10.0  # seconds: a pooled PostgreSQL connection idle this long is pinged on checkout


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
    # connection for a moment. The pool opens connections only as they are needed and keeps as
    # many as there are threads: with a smaller pool, a worker that got more than its share of
    # keep-alive clients opened and closed 26-37 connections a second (each a PostgreSQL
    # backend started), and its throughput fell by two thirds.
    engine = create_engine(url, pool_size=40, max_overflow=10, hide_parameters=True)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle for ``PING_IDLE``
    seconds (``pool_pre_ping`` pings every checkout: a round trip per request under load). A
    dead one is replaced; one that died in use fails its statement and the pool is emptied."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_IDLE:
            return
        try:
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as error:  # any failure: use another connection
            raise exc.DisconnectionError("the pooled connection is gone") from error


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


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A few independent reads, no transaction: on PostgreSQL each statement runs on its own
    (autocommit: no BEGIN and COMMIT round trips; under READ COMMITTED a transaction would not
    give them one snapshot either); on SQLite a read-only transaction. Never write in it."""
    with factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
        else:
            with session.begin():
                session.connection(execution_options={READONLY: True})
                yield session


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """:func:`reading` without an ORM session, for hot read paths: a pooled Core connection,
    autocommit on PostgreSQL, a read-only transaction on SQLite. Never write in it."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            yield connection.execution_options(isolation_level="AUTOCOMMIT")
        else:
            with connection.execution_options(**{READONLY: True}).begin():
                yield connection


def migrate(engine: Engine) -> None:
    """Apply Alembic migrations up to head."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
