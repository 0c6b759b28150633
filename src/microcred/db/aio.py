"""Reads on a web process's event loop, for the hottest read paths (PostgreSQL only).

A request that runs a plain ``def`` route goes to the thread pool and back (two thread switches
and the GIL handed over each way): a fifth of a kept ``/api/verify`` answer. A read that decides
whether any such work is needed at all can instead run on the event loop itself, through a
small psycopg connection pool opened by the web application's lifespan (one per process and
loop). Autocommit: each statement is its own snapshot, nothing is ever written here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Engine

logger = logging.getLogger("microcred.db")
MAX_CONNECTIONS = 8  # a process's loop runs a statement at a time; a few cover the round trips
WAIT_SECONDS = 10.0  # for a free connection, before the request fails


class AsyncReader:
    def __init__(self, conninfo: str) -> None:
        self.pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=MAX_CONNECTIONS,
            open=False,
            timeout=WAIT_SECONDS,
            kwargs={"autocommit": True},
            name="microcred-reads",
        )

    @classmethod
    def for_engine(cls, engine: Engine) -> AsyncReader | None:
        """A reader on the engine's PostgreSQL database; None on any other database."""
        if engine.dialect.name != "postgresql":
            return None
        url = engine.url.set(drivername="postgresql")
        return cls(url.render_as_string(hide_password=False))

    async def open(self) -> None:
        await self.pool.open(wait=False)  # the first connection is made in the background

    async def close(self) -> None:
        await self.pool.close()

    async def rows(self, sql: str, params: Mapping[str, Any]) -> Sequence[tuple[Any, ...]] | None:
        """The statement's rows; None when they could not be read (a connection found dead,
        which the pool then replaces, or none free in time): the caller takes its thread-pool
        path, which reads through the engine and reports a database that is really down."""
        try:
            async with self.pool.connection() as connection:
                cursor = await connection.execute(sql, params, prepare=True)
                return await cursor.fetchall()
        except (psycopg.Error, PoolTimeout) as error:
            logger.warning("a read on the event loop failed: %s", type(error).__name__)
            return None
