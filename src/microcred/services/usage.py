"""How the provider's micro-credentials are used: issued, claimed, shared, viewed, verified and
revoked, counted per micro-credential (definition version) and day, in ``usage_counts``. Counts
only: nothing says who viewed or verified (ADR 0031).

What changes a credential (issuing, claiming, sharing, revoking) is counted in the transaction
that makes the change: exactly, or not at all. Views and verifications are many and must not
write on every request (one row per micro-credential and day would be every request's lock):
each process tallies them and adds its tally every few seconds and when it stops
(:func:`flushing`), so a process that crashes loses at most those seconds of them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import Credential, Definition, UsageCount
from microcred.i18n import N_
from microcred.services.app import App

log = logging.getLogger(__name__)

METRICS = {
    "issued": N_("issued"),
    "claimed": N_("claimed"),
    "shared": N_("shared"),
    "viewed": N_("viewed"),
    "verified": N_("verified"),
    "revoked": N_("revoked"),
}
FLUSH_SECONDS = 5.0
Origin = tuple[int, int]  # (provider id, definition id)


def add(session: Session, counts: Mapping[tuple[Origin, date, str], int]) -> None:
    """Add ``counts`` in the caller's transaction: one statement per row, insert-or-add."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for ((provider_id, definition_id), day, metric), n in sorted(counts.items()):
        if n <= 0:
            continue
        statement = insert(UsageCount).values(
            provider_id=provider_id, definition_id=definition_id, day=day, metric=metric, count=n
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["definition_id", "day", "metric"],
                set_={"count": UsageCount.count + statement.excluded.count},
            )
        )


def count_credentials(
    session: Session, credentials: Iterable[Credential], metric: str, at: datetime
) -> None:
    """``metric`` once for each of ``credentials``, on ``at``'s day, in the caller's
    transaction."""
    assert metric in METRICS
    counts: Counter[tuple[Origin, date, str]] = Counter()
    for credential in credentials:
        counts[((credential.provider_id, credential.definition_id), at.date(), metric)] += 1
    add(session, counts)


# Views and verifications: tallied in the process, added every FLUSH_SECONDS (see the module).


class _Tally:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[Origin, date, str]] = Counter()

    def note(self, origin: Origin, metric: str, day: date) -> None:
        with self._lock:
            self._counts[(origin, day, metric)] += 1

    def take(self) -> Counter[tuple[Origin, date, str]]:
        with self._lock:
            taken, self._counts = self._counts, Counter()
        return taken

    def give_back(self, counts: Counter[tuple[Origin, date, str]]) -> None:
        with self._lock:
            self._counts.update(counts)


_TALLY = _Tally()
# credential id -> its origin: a credential's provider and definition never change
_ORIGINS: dict[str, Origin | None] = {}
_ORIGINS_MAX = 100_000
# a credential's content digest (services/verdicts) -> its origin, for answers kept by digest
_BY_CONTENT: dict[str, Origin | None] = {}


def flush(app: App) -> int:
    """Add this process's tally to the database now; how many events it held."""
    taken = _TALLY.take()
    if not taken:
        return 0
    try:
        with transaction(app.sessions) as session:
            add(session, taken)
    except Exception:
        _TALLY.give_back(taken)  # the next flush tries again
        raise
    return sum(taken.values())


@contextlib.contextmanager
def flushing(app: App, every: float = FLUSH_SECONDS) -> Iterator[None]:
    """While the block runs (a web process's life), the tally is added every ``every`` seconds,
    and once more at the end."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every):
            try:
                flush(app)
            except Exception:
                log.exception("usage counts could not be added; kept for the next try")

    thread = threading.Thread(target=run, name="usage-flush", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)
        try:
            flush(app)
        except Exception:
            log.exception("usage counts could not be added at shutdown")


def _credential_uuid(app: App, document: Mapping[str, Any]) -> str | None:
    identifier = document.get("id")
    prefix = f"{app.settings.base_url}/credentials/"
    if isinstance(identifier, str) and identifier.startswith(prefix):
        rest = identifier[len(prefix) :]
        return rest if len(rest) == 36 else None
    return None


def origin(app: App, document: Mapping[str, Any]) -> Origin | None:
    """The provider and definition of a credential this platform issued (None for others)."""
    credential_id = _credential_uuid(app, document)
    if credential_id is None:
        return None
    if credential_id not in _ORIGINS:
        with transaction(app.sessions, readonly=True) as session:
            row = session.execute(
                select(Credential.provider_id, Credential.definition_id).where(
                    Credential.id == credential_id
                )
            ).first()
        found: Origin | None = (row[0], row[1]) if row is not None else None
        if len(_ORIGINS) >= _ORIGINS_MAX:
            _ORIGINS.clear()
        _ORIGINS[credential_id] = found
        return found
    return _ORIGINS.get(credential_id)


def _today(app: App) -> date:
    return app.now().astimezone(UTC).date()


def note(app: App, document: Mapping[str, Any] | None, metric: str) -> None:
    """A view or a verification of ``document``, if it is one of ours."""
    assert metric in ("viewed", "verified")
    found = origin(app, document) if isinstance(document, Mapping) else None
    if found is not None:
        _TALLY.note(found, metric, _today(app))


def note_credential(app: App, credential: Credential, metric: str) -> None:
    """A view or a verification of one of our credentials, by its row."""
    assert metric in ("viewed", "verified")
    _TALLY.note((credential.provider_id, credential.definition_id), metric, _today(app))


def remember_content(app: App, content: str, document: Mapping[str, Any]) -> None:
    """``content`` (a credential's digest) is ``document``: for :func:`note_content`."""
    if content not in _BY_CONTENT:
        if len(_BY_CONTENT) >= _ORIGINS_MAX:
            _BY_CONTENT.clear()
        _BY_CONTENT[content] = origin(app, document)


def note_content(app: App, content: str) -> None:
    """A verification of the credential whose digest is ``content`` (answered from a kept
    result: the document itself is not read again)."""
    found = _BY_CONTENT.get(content)
    if found is not None:
        _TALLY.note(found, "verified", _today(app))


# Reading: the dashboard and the JSON API


@dataclass
class Usage:
    """Totals per metric, per definition and per day, over ``days`` days up to ``until``."""

    since: date
    until: date
    totals: dict[str, int] = field(default_factory=dict)
    by_definition: dict[int, dict[str, int]] = field(default_factory=dict)
    by_day: dict[date, dict[str, int]] = field(default_factory=dict)
    titles: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "totals": self.totals,
            "definitions": [
                {"definition_id": d, "title": self.titles.get(d, ""), "counts": counts}
                for d, counts in sorted(self.by_definition.items())
            ],
            "days": [
                {"day": day.isoformat(), "counts": counts}
                for day, counts in sorted(self.by_day.items())
            ],
        }


def usage(session: Session, provider_id: int, until: date, days: int = 30) -> Usage:
    """What was counted for the provider on the ``days`` days up to ``until`` (UTC)."""
    since = until - timedelta(days=days - 1)
    zero = dict.fromkeys(METRICS, 0)
    found = Usage(since, until, totals=dict(zero))
    rows = session.execute(
        select(UsageCount.definition_id, UsageCount.day, UsageCount.metric, UsageCount.count)
        .where(
            UsageCount.provider_id == provider_id,
            UsageCount.day >= since,
            UsageCount.day <= until,
        )
        .order_by(UsageCount.day)
    )
    for day_offset in range(days):
        found.by_day[since + timedelta(days=day_offset)] = dict(zero)
    for definition_id, day, metric, n in rows:
        if metric not in METRICS:
            continue
        found.totals[metric] += n
        found.by_definition.setdefault(definition_id, dict(zero))[metric] += n
        found.by_day[day][metric] += n
    for definition_id, title in session.execute(
        select(Definition.id, Definition.title).where(
            Definition.provider_id == provider_id,
            Definition.id.in_(list(found.by_definition)),
        )
    ):
        found.titles[definition_id] = title
    return found


def all_time(session: Session, provider_id: int) -> dict[str, int]:
    """Totals since the first day."""
    totals = dict.fromkeys(METRICS, 0)
    for metric, n in session.execute(
        select(UsageCount.metric, func.sum(UsageCount.count))
        .where(UsageCount.provider_id == provider_id)
        .group_by(UsageCount.metric)
    ):
        if metric in totals:
            totals[metric] = int(n or 0)
    return totals
