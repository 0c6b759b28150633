"""Rate limits on the public verify endpoints and uploads (issue 12).

A fixed one-minute window per caller: an integrator by its API token (its own quota, or
``MICROCRED_RATE_TOKEN``), anyone else by client address (``MICROCRED_RATE_ANONYMOUS``); loopback
gets no exemption. Counts live in the database, so every web process on every host shares them;
each count is its own short transaction (an upsert), committed whatever becomes of the request.
Past the quota the answer is 429 with ``Retry-After`` (the seconds left in the window). Old
windows are deleted as new ones start.

At high rates (issue 13) a process takes its requests from the shared count in leases: one
upsert adds a block of up to :data:`LEASE_MAX` (a twentieth of the quota, at least one) to the
count and the process spends it before asking again. The count in the database is still what
every process draws from, so a quota is never exceeded; what leases leave unspent when the
minute ends is lost (at most a block per process). A small quota (the anonymous one) gets
blocks of one: exactly one upsert per request, as before. An API token is read in the same
transaction as each draw, so a revoked token or a new quota counts from the next draw on.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import ApiToken, RateCount
from microcred.services.app import App

WINDOW = timedelta(minutes=1)
# A draw is a thread-pool trip and a committed upsert: a few milliseconds. With blocks of 100,
# one verify request in a hundred waited for one, right at the p99 (issue 13); with 1,000, one in
# a thousand at most. A lease only counts requests: it authorises nothing.
LEASE_MAX = 1000


@dataclass(slots=True)
class _Lease:
    window: datetime
    remaining: int
    limit: int


_leases: dict[str, _Lease] = {}  # requests this process may still allow, per caller and scope
_lock = threading.Lock()


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


def _lease_key(app: App, scope: str, token: str | None, address: str | None) -> str:
    caller = f"t:{_digest(token)}" if token else f"a:{_digest(address or 'unknown')}"
    return f"{id(app)}:{scope}:{caller}"


def _retry_after(now: datetime, window: datetime) -> int:
    return max(1, int((window + WINDOW - now).total_seconds()))


def leased(app: App, scope: str, token: str | None, address: str | None) -> Decision | None:
    """Count one request against this process's lease for its caller, without the database;
    None when there is none left in this window (then :func:`check`)."""
    now = app.now()
    window = _window(now)
    with _lock:
        lease = _leases.get(_lease_key(app, scope, token, address))
        if lease is None or lease.window != window or lease.remaining <= 0:
            return None
        lease.remaining -= 1
        return Decision(True, lease.limit, lease.remaining, _retry_after(now, window))


def check(app: App, scope: str, token: str | None, address: str | None) -> Decision:
    """Count one request in ``scope`` against its caller's quota: its valid API token's, else
    its client address's; say whether it is within it."""
    decision = leased(app, scope, token, address)
    if decision is not None:
        return decision
    now = app.now()
    window = _window(now)
    retry_after = _retry_after(now, window)
    lease_key = _lease_key(app, scope, token, address)
    with transaction(app.sessions) as session:
        bucket, limit = _bucket(app, session, token, address)
        block = max(1, min(LEASE_MAX, limit // 20))
        count = _draw(app, session, f"{scope}:{bucket}"[:100], window, block)
    granted = block - max(0, count - limit)  # what the quota still allowed of the block
    if granted <= 0:
        return Decision(False, limit, 0, retry_after)
    with _lock:
        if len(_leases) > 10_000:
            _leases.clear()
        _leases[lease_key] = _Lease(window, granted - 1, limit)
    return Decision(True, limit, max(0, limit - count), retry_after)


def _bucket(app: App, session: Session, token: str | None, address: str | None) -> tuple[str, int]:
    """The bucket and quota of a request: its valid API token, else its client address."""
    if token:
        digest = hashlib.sha256(token.encode()).hexdigest()
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
        if row is not None and row.revoked_at is None:
            return f"token:{row.id}", row.per_minute or app.settings.rate_token
    return f"address:{_digest(address or 'unknown')}", app.settings.rate_anonymous


def _draw(app: App, session: Session, key: str, window: datetime, block: int) -> int:
    """Add ``block`` to the shared count of ``key`` in ``window``; the count after it."""
    dialect = app.engine.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(RateCount)
        .values(bucket=key, window_start=window, count=block)
        .on_conflict_do_update(
            index_elements=[RateCount.bucket, RateCount.window_start],
            set_={"count": RateCount.count + block},
        )
        .returning(RateCount.count)
    )
    count = int(session.execute(statement).scalar_one())
    if count == block:  # a caller's first draw of a minute: clear past windows, everyone's
        session.execute(delete(RateCount).where(RateCount.window_start < window))
    return count
