"""The PostgreSQL pool pings a connection only when it has been idle (``db/session.py``): a
connection that died while idle is replaced unseen; one that died while in use fails its
statement once, and the pool is emptied so the next one gets a new connection. A read with
``reading`` runs without BEGIN and COMMIT."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from microcred.db import session as db_session
from microcred.db.session import make_engine, reading, session_factory
from tests.platform.conftest import POSTGRES

pytestmark = pytest.mark.skipif(not POSTGRES, reason="the pool's checks are PostgreSQL's")


def _backend(factory) -> int:
    with reading(factory) as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(database_url: str, pid: int) -> None:
    killer = make_engine(database_url)
    try:
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        killer.dispose()


@pytest.fixture
def factory(database_url):
    """Sessions on an engine of this test's own, disposed at the end."""
    engine = make_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def test_a_connection_dead_while_idle_is_replaced(database_url, factory, monkeypatch):
    first = _backend(factory)
    _terminate(database_url, first)
    monkeypatch.setattr(db_session, "PING_IDLE", 0.0)  # every checkout counts as idle
    assert _backend(factory) != first  # pinged, found dead, replaced: no error


def test_a_connection_dead_in_use_fails_once_then_the_pool_recovers(
    database_url, factory, monkeypatch
):
    first = _backend(factory)
    monkeypatch.setattr(db_session, "PING_IDLE", 3600.0)  # fresh: not pinged
    _terminate(database_url, first)
    with pytest.raises(OperationalError):
        _backend(factory)
    assert _backend(factory) != first


def test_reading_opens_no_transaction(factory):
    """Each statement of a ``reading`` block runs on its own: PostgreSQL reports no
    transaction open after it (a transaction would cost a BEGIN and a COMMIT round trip)."""
    with reading(factory) as session:
        statuses = []
        for _ in range(2):
            session.execute(text("SELECT 1"))
            raw = session.connection().connection.dbapi_connection
            statuses.append(raw.info.transaction_status.name)
    assert statuses == ["IDLE", "IDLE"]
    with db_session.transaction(factory, readonly=True) as session:  # the contrast
        session.execute(text("SELECT 1"))
        raw = session.connection().connection.dbapi_connection
        assert raw.info.transaction_status.name == "INTRANS"
