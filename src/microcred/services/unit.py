"""Sessions for web: the one a request runs its use case in, and a fresh read-only one.

Web never imports ``microcred.db``; it opens its sessions here (commands call services that
own their transactions)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy.orm import Session, SessionTransaction

from microcred.db.aio import AsyncReader
from microcred.db.session import READONLY
from microcred.services.app import App


@contextmanager
def open_request_session(
    app: App, *, readonly: bool
) -> Iterator[tuple[Session, SessionTransaction]]:
    """A session with a begun transaction, and that transaction: it commits when the block
    ends, rolls back on an exception, and the caller may roll it back itself (a refusal).
    ``readonly`` transactions do not take SQLite's write lock."""
    with app.sessions() as session, session.begin() as unit:
        if readonly:
            session.connection(execution_options={READONLY: True})
        yield session, unit


def read_only_session(app: App) -> Session:
    """A fresh session in a begun read-only transaction; the caller closes it."""
    fresh: Session = app.sessions()
    fresh.begin()
    fresh.connection(execution_options={READONLY: True})
    return fresh


@asynccontextmanager
async def event_loop_reads(app: App) -> AsyncIterator[AsyncReader | None]:
    """For a web process's lifespan: reads on its event loop (``db/aio.py``) while it serves;
    None on SQLite (its reads stay in the thread pool)."""
    reader = AsyncReader.for_engine(app.engine)
    if reader is None:
        yield None
        return
    await reader.open()
    try:
        yield reader
    finally:
        await reader.close()
