"""Verification results kept across requests, processes and hosts (ADR 0022).

A result is kept in the database under a digest of the document and of the verifier's
configuration, with what it read that can change:

- each platform provider whose documents it read (DID document, status lists, registry entry),
  with that provider's ``verify_epoch`` at the time. Every change that can change a verdict on a
  provider's credentials moves its epoch on, in the same transaction (:func:`changed`): a status
  change or a re-signed list, a new key, an accreditation granted or withdrawn. A result whose
  provider has moved on is not used: the first verification after a revocation commits
  verifies again and sees it.
- the earliest expiry of the documents it fetched from other hosts (``services/fetched.py``).
- the earliest moment its verdict can change by the clock alone: a ``validFrom`` or
  ``issuanceDate`` (less the verifier's clock skew), a ``validUntil``, ``expirationDate`` or proof
  ``expires`` (plus the skew) anywhere in the document, an accreditation's first or last day.

A result is not kept when a fetch failed (that may pass), nor longer than :data:`MAX_AGE`.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import TextClause, bindparam, delete, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

import microcred
from microcred.db.aio import AsyncReader
from microcred.db.session import read_connection, transaction
from microcred.db.tables import Provider, UtcDateTime, VerificationResult
from microcred.services.app import App
from microcred.vc.dates import parse_datetime
from microcred.vc.errors import VcError
from microcred.vc.memo import content_key

# Bump when what a verification reports changes with the code (new steps, new messages).
CACHE_VERSION = "1"
MAX_AGE = timedelta(hours=6)
# a start holds from (moment - clock skew) on, an end until (moment + clock skew)
_STARTS = frozenset({"validFrom", "issuanceDate"})
_ENDS = frozenset({"validUntil", "expirationDate", "expires"})


@dataclass(slots=True)
class Reads:
    """What one verification read that can change; filled in while it runs."""

    epochs: dict[int, int] = field(default_factory=dict)  # provider id -> epoch when read
    fetched_until: datetime | None = None  # the earliest expiry of a fetched document
    unsure: bool = False  # a fetch failed: the result is not kept
    # documents fetched from other hosts, to share once the verification is over
    documents: dict[str, tuple[bytes, datetime]] = field(default_factory=dict)

    def provider(self, provider: Provider) -> None:
        known = self.epochs.get(provider.id)
        epoch = provider.verify_epoch or 0
        self.epochs[provider.id] = epoch if known is None else min(known, epoch)

    def fetched(self, expires_at: datetime) -> None:
        if self.fetched_until is None or expires_at < self.fetched_until:
            self.fetched_until = expires_at


def changed(session: Session, provider_ids: Iterable[int]) -> None:
    """Results that read these providers' state are stale from this transaction's commit on."""
    ids = sorted(set(provider_ids))
    if ids:
        session.execute(
            update(Provider)
            .where(Provider.id.in_(ids))
            .values(verify_epoch=Provider.verify_epoch + 1)
            .execution_options(synchronize_session=False)
        )


def digest(document: Mapping[str, Any]) -> str:
    """SHA-256 of a document's sorted JSON: equal for equal content (kept with wallet items)."""
    return hashlib.sha256(content_key(document).encode("utf-8")).hexdigest()


def key(app: App, document: Mapping[str, Any], source_format: str) -> str:
    """The result's key: the document and everything in the verifier's configuration it used."""
    return key_of(app, digest(document), source_format)


def key_of(app: App, content_digest: str, source_format: str) -> str:
    """:func:`key` from the document's :func:`digest`."""
    text = _config_text(app, source_format) + "\n" + content_digest
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _config_text(app: App, source_format: str) -> str:
    """What of the verifier's configuration a result depends on, as JSON (built per call: the
    registries an application consults can be replaced while it runs)."""
    config = [
        CACHE_VERSION,
        microcred.__version__,
        source_format,
        app.settings.base_url,
        app.settings.conformance_contexts,
        [getattr(r, "digest", repr(r)) for r in app.registries],
    ]
    return json.dumps(config)


def lookup(app: App, result_key: str) -> dict[str, Any] | None:
    """The kept result under ``result_key``, if nothing it read has changed since."""
    kept = lookup_many(app, [result_key]).get(result_key)
    if kept is None or kept[1] is None:
        return None
    result: dict[str, Any] = json.loads(kept[1])
    return result


# One statement: the kept results under the keys that have not expired and whose every provider
# is still at the epoch the result read (a provider gone counts as moved on). PostgreSQL reads
# the results and the epochs in one snapshot, so a change committed before the statement began
# is always seen. Written per dialect (their JSON table functions differ).
_KEPT_SQL = """
SELECT r.key, r.verdict, {result} FROM verification_results r
WHERE r.key {keys} AND r.expires_at > {now} AND NOT EXISTS (
  SELECT 1 FROM {each} AS e LEFT JOIN providers p ON p.id = CAST(e.key AS INTEGER)
  WHERE p.verify_epoch {differs} CAST(e.value AS INTEGER))
"""
_EACH = {"postgresql": "json_each_text(CAST(r.epochs AS json))", "sqlite": "json_each(r.epochs)"}
_DIFFERS = {"postgresql": "IS DISTINCT FROM", "sqlite": "IS NOT"}
# the same for one key, as psycopg runs it on the event loop (db/aio.py)
KEPT_ONE_PG = _KEPT_SQL.format(
    result="r.result",
    keys="= %(key)s",
    now="%(now)s",
    each=_EACH["postgresql"],
    differs=_DIFFERS["postgresql"],
)


@cache
def _kept_statement(dialect: str, whole: bool) -> TextClause:
    sql = _KEPT_SQL.format(
        result="r.result" if whole else "NULL",
        keys="IN :keys",
        now=":now",
        each=_EACH[dialect],
        differs=_DIFFERS[dialect],
    )
    return text(sql).bindparams(
        bindparam("keys", expanding=True), bindparam("now", type_=UtcDateTime())
    )


async def lookup_one_async(
    app: App, reader: AsyncReader, result_key: str
) -> tuple[str, str] | None:
    """:func:`lookup_many` for one key, on the event loop (PostgreSQL): (verdict, text)."""
    rows = await reader.rows(KEPT_ONE_PG, {"key": result_key, "now": app.now()})
    return (rows[0][1], rows[0][2]) if rows else None  # None also when it could not read


def lookup_many(
    app: App, keys: list[str], *, whole: bool = True
) -> dict[str, tuple[str, str | None]]:
    """The kept results under ``keys`` whose providers have not moved on since, as (verdict,
    the result's JSON text as kept): one statement per 500 keys (a wallet page reads a few
    hundred). ``whole=False``: the verdicts only (counts), the texts left unread (None)."""
    now = app.now()
    statement = _kept_statement(app.engine.dialect.name, whole)
    found: dict[str, tuple[str, str | None]] = {}
    with read_connection(app.engine) as connection:
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            for result_key, verdict, result in connection.execute(
                statement, {"keys": part, "now": now}
            ):
                found[result_key] = (verdict, result)
    return found


def store(
    app: App,
    result_key: str,
    result: Mapping[str, Any],
    document: Mapping[str, Any],
    reads: Reads,
    skew: timedelta,
) -> None:
    """Keep ``result`` until the earliest moment it may change (never when a fetch failed)."""
    if reads.unsure:
        return
    now = app.now()
    until = min(_moments(now, document, result, skew, reads), default=now + MAX_AGE)
    if until <= now + timedelta(seconds=1):
        return
    values = {
        "key": result_key,
        "epochs": json.dumps({str(k): v for k, v in sorted(reads.epochs.items())}),
        "expires_at": until,
        "verdict": str(result.get("verdict", ""))[:32],
        "result": json.dumps(result, ensure_ascii=False, separators=(",", ":")),
    }
    insert = pg_insert if app.engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(VerificationResult)
        .values(**values)
        .on_conflict_do_update(index_elements=[VerificationResult.key], set_=values)
    )
    with transaction(app.sessions) as session:
        session.execute(statement)
        if random.random() < 0.01:  # noqa: S311 - now and then, drop what has expired
            session.execute(delete(VerificationResult).where(VerificationResult.expires_at < now))


def _moments(
    now: datetime,
    document: Mapping[str, Any],
    result: Mapping[str, Any],
    skew: timedelta,
    reads: Reads,
) -> list[datetime]:
    """The future moments at which the result may change."""
    moments = [now + MAX_AGE]
    if reads.fetched_until is not None:
        moments.append(reads.fetched_until)
    for moment, is_start in _stated_moments(document):
        change = moment - skew if is_start else moment + skew
        if change > now:
            moments.append(change)
    for step in result.get("steps", []):
        details = step.get("details") or {}
        for accreditation in details.get("accreditations", []) or []:
            for name, shift in (("valid_from", 0), ("valid_until", 1)):
                day = _day(accreditation.get(name))
                if day is not None:
                    moment = datetime.combine(day + timedelta(days=shift), time(), UTC)
                    moments.extend(m for m in (moment - timedelta(days=1), moment) if m > now)
    return moments


def _stated_moments(document: Any) -> list[tuple[datetime, bool]]:
    """Every start and end stated anywhere in the document (endorsements and records too)."""
    found: list[tuple[datetime, bool]] = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            for name, value in item.items():
                if (name in _STARTS or name in _ENDS) and isinstance(value, str):
                    try:
                        found.append((parse_datetime(value, name), name in _STARTS))
                    except VcError:
                        continue
                elif isinstance(value, Mapping | list):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
