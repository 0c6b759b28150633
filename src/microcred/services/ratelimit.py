"""Rate limits on the public verify endpoints and uploads (issue 12).

A fixed one-minute window per caller: an integrator by its API token (its own quota, or
``MICROCRED_RATE_TOKEN``), anyone else by client address (``MICROCRED_RATE_ANONYMOUS``); loopback
gets no exemption. Counts live in the database, so every web process on every host shares them;
each count is its own short transaction (an upsert), committed whatever becomes of the request.
Past the quota the answer is 429 with ``Retry-After`` (the seconds left in the window). Old
windows are deleted as new ones start.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from microcred.db.session import transaction
from microcred.db.tables import ApiToken, RateCount
from microcred.services.app import App

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window ends


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _window(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def caller(app: App, token: str | None, address: str | None) -> tuple[str, int]:
    """The bucket and quota of a request: its valid API token, else its client address."""
    if token:
        digest = hashlib.sha256(token.encode()).hexdigest()
        with transaction(app.sessions, readonly=True) as session:
            row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
            if row is not None and row.revoked_at is None:
                return f"token:{row.id}", row.per_minute or app.settings.rate_token
    return f"address:{_digest(address or 'unknown')}", app.settings.rate_anonymous


def hit(app: App, scope: str, bucket: str, limit: int) -> Decision:
    """Count one request of ``bucket`` in ``scope`` and say whether it is within ``limit``."""
    now = app.now()
    window = _window(now)
    key = f"{scope}:{bucket}"[:100]
    dialect = app.engine.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(RateCount)
        .values(bucket=key, window_start=window, count=1)
        .on_conflict_do_update(
            index_elements=[RateCount.bucket, RateCount.window_start],
            set_={"count": RateCount.count + 1},
        )
        .returning(RateCount.count)
    )
    with transaction(app.sessions) as session:
        count = int(session.execute(statement).scalar_one())
        if count == 1:  # a caller's first request of a minute: clear past windows, everyone's
            session.execute(delete(RateCount).where(RateCount.window_start < window))
    retry_after = max(1, int((window + WINDOW - now).total_seconds()))
    return Decision(count <= limit, limit, max(0, limit - count), retry_after)
