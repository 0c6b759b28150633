"""The audit log: every state change, append-only and hash-chained (ADR 0017).

One call, many callers (pretix's ``log_action``): :func:`record` appends an event to a chain
inside the caller's transaction, so the event exists exactly when the change does. There is one
chain per provider (``provider:ID``: its credentials, definitions, keys, staff, tokens, RPL
decisions, and, for a QA body, its accreditations) and one for the platform (``platform``:
learner accounts). Appending locks the chain's head row (``audit_heads``; on SQLite the writer
lock serialises), so ``seq`` runs 1, 2, 3… without gaps or duplicates, and providers never wait
for each other.

Each event's ``hash`` is SHA-256 over the RFC 8785 canonical JSON of ``chain``, ``seq``, ``at``,
``actor``, ``action``, ``subject``, ``data`` and ``prev_hash`` (the previous event's hash; 64
zeros for the first). ``data`` holds ids and digests only, never names, emails or free text, so
erasing a learner never has to rewrite a chain. :func:`verify` recomputes every chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import rfc8785
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import (
    AuditEvent,
    AuditHead,
    Credential,
    LearnerAccount,
    Provider,
    Staff,
)
from microcred.domain.errors import Forbidden, NotFound
from microcred.i18n import _
from microcred.services.app import App

PLATFORM = "platform"
SYSTEM = "system"
GENESIS = "0" * 64
VIEW_ROLES = frozenset({"owner", "viewer"})
PAGE_SIZE = 50


def chain_of(provider_id: int) -> str:
    """The chain of a provider (or QA body)."""
    return f"provider:{provider_id}"


def actor_of(who: Staff | LearnerAccount | None) -> str:
    """``staff:ID``, ``learner:ID``, or ``system`` (the CLI, the demo, migrations)."""
    if isinstance(who, Staff):
        return f"staff:{who.id}"
    if isinstance(who, LearnerAccount):
        return f"learner:{who.id}"
    return SYSTEM


def digest(value: str | bytes) -> str:
    """A SHA-256 hex digest: how text that may name a person enters the log."""
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).hexdigest()


def credential_data(credential: Credential, **extra: Any) -> dict[str, Any]:
    """What an issuance records: ids, the status position, the key, the document's digest."""
    return {
        "definition_id": credential.definition_id,
        "learner_id": credential.learner_id,
        "status_list_id": credential.status_list_id,
        "status_index": credential.status_index,
        "key": credential.key_fragment,
        "document_sha256": digest(credential.document),
        **extra,
    }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(
    chain: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    data: Mapping[str, Any],
    prev_hash: str,
) -> str:
    canonical = rfc8785.dumps(
        {
            "chain": chain,
            "seq": seq,
            "at": _stamp(at),
            "actor": actor,
            "action": action,
            "subject": subject,
            "data": dict(data),
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(canonical).hexdigest()


def _lock_head(session: Session, chain: str) -> AuditHead:
    """The chain's head row, created if new, locked until the transaction ends."""
    dialect = session.get_bind().dialect.name
    values = {"chain": chain, "seq": 0, "hash": GENESIS}
    if dialect == "postgresql":
        session.execute(pg_insert(AuditHead).values(values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(AuditHead).values(values).on_conflict_do_nothing())
    return session.scalars(
        select(AuditHead)
        .where(AuditHead.chain == chain)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def record(
    session: Session,
    chain: str,
    actor: str,
    action: str,
    subject: str | int,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to ``chain`` in the caller's transaction (ids and digests in ``data``)."""
    head = _lock_head(session, chain)
    payload = dict(data or {})
    at = datetime.now(UTC)
    seq = head.seq + 1
    event = AuditEvent(
        chain=chain,
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject=str(subject),
        data=payload,
        prev_hash=head.hash,
        hash=compute_hash(chain, seq, at, actor, action, str(subject), payload, head.hash),
    )
    session.add(event)
    head.seq, head.hash = seq, event.hash
    session.flush()
    return event


def log(
    session: Session,
    provider_id: int,
    who: Staff | LearnerAccount | None,
    action: str,
    subject: str | int,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """:func:`record` on a provider's chain, by ``who`` (``None``: the system)."""
    return record(session, chain_of(provider_id), actor_of(who), action, subject, data)


def issued(session: Session, who: Staff | None, credential: Credential, **extra: Any) -> AuditEvent:
    """``credential.issued`` on the issuing provider's chain."""
    data = credential_data(credential, **extra)
    return log(session, credential.provider_id, who, "credential.issued", credential.id, data)


STATE_ACTIONS = {
    "revoke": "credential.revoked",
    "suspend": "credential.suspended",
    "reinstate": "credential.reinstated",
}


def state_changed(
    session: Session, who: Staff, credential: Credential, action: str, reason: str
) -> AuditEvent:
    """A revocation, suspension or reinstatement (the reason as a digest: it is free text)."""
    data = {"reason_sha256": digest(reason)} if reason else {}
    return log(session, credential.provider_id, who, STATE_ACTIONS[action], credential.id, data)


# Reading: the provider's page and export


def as_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "chain": event.chain,
        "seq": event.seq,
        "at": _stamp(event.at),
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "data": event.data,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


@dataclass(frozen=True, slots=True)
class Page:
    provider: Provider
    events: list[AuditEvent]
    page: int
    pages: int
    total: int


def _provider_for(session: Session, staff: Staff, slug: str) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.slug == slug))
    if provider is None or provider.id != staff.provider_id:
        raise NotFound("provider")
    if staff.role not in VIEW_ROLES:
        raise Forbidden(_("only owners and viewers read the audit log"))
    return provider


def page_for(session: Session, staff: Staff, slug: str, page: int = 1) -> Page:
    """One page of the provider's chain, newest first (owners and viewers of that provider)."""
    provider = _provider_for(session, staff, slug)
    chain = chain_of(provider.id)
    total = session.scalar(select(func.count()).where(AuditEvent.chain == chain)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.chain == chain)
        .order_by(AuditEvent.seq.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return Page(provider, list(events), page, pages, total)


def export_for(app: App, session: Session, staff: Staff, slug: str) -> Iterator[str]:
    """The provider's whole chain as JSON lines, oldest first, each event with its hash.

    Access is checked now; the lines are read afterwards, in batches, in a transaction of
    their own (so a long chain streams without holding the request's)."""
    chain = chain_of(_provider_for(session, staff, slug).id)

    def lines() -> Iterator[str]:
        after = 0
        while True:
            with transaction(app.sessions, readonly=True) as reader:
                batch = reader.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.chain == chain, AuditEvent.seq > after)
                    .order_by(AuditEvent.seq)
                    .limit(1000)
                ).all()
                chunk = [json.dumps(as_json(e), ensure_ascii=False) + "\n" for e in batch]
            if not batch:
                return
            after = batch[-1].seq
            yield "".join(chunk)

    return lines()


# Verification


@dataclass(frozen=True, slots=True)
class Problem:
    chain: str
    seq: int
    code: str  # audit.gap | audit.broken_link | audit.hash_mismatch | audit.head_mismatch
    message: str

    def __str__(self) -> str:
        return f"{self.chain} seq {self.seq}: {self.message}"


@dataclass
class Verification:
    chains: dict[str, int] = field(default_factory=dict)  # chain → events checked
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def events(self) -> int:
        return sum(self.chains.values())


def verify(app: App) -> Verification:
    """Recompute every chain: seq without gaps, each link to the previous hash, each hash, and
    the head (so a deleted last event is noticed too)."""
    result = Verification()
    with transaction(app.sessions, readonly=True) as session:
        heads = {h.chain: h for h in session.scalars(select(AuditHead))}
        chains = set(heads) | set(session.scalars(select(AuditEvent.chain).distinct()))
        for chain in sorted(chains):
            result.chains[chain] = 0
            expected, prev = 1, GENESIS
            statement = (
                select(AuditEvent)
                .where(AuditEvent.chain == chain)
                .order_by(AuditEvent.seq)
                .execution_options(yield_per=1000)
            )
            for event in session.scalars(statement):
                result.chains[chain] += 1
                result.problems += _check(event, expected, prev)
                expected, prev = event.seq + 1, event.hash
            head = heads.get(chain)
            last = expected - 1
            if head is None:
                result.problems.append(
                    Problem(chain, last, "audit.head_mismatch", "the chain has no head row")
                )
            elif (head.seq, head.hash) != (last, prev):
                result.problems.append(
                    Problem(
                        chain,
                        head.seq,
                        "audit.head_mismatch",
                        f"the head is seq {head.seq} (hash {head.hash[:12]}…) but the chain "
                        f"ends at seq {last} (hash {prev[:12]}…): events missing at the end, "
                        "or the last one altered",
                    )
                )
    return result


def _check(event: AuditEvent, expected: int, prev: str) -> list[Problem]:
    found: list[Problem] = []
    if event.seq != expected:
        missing = (
            f"seq {expected}" if event.seq == expected + 1 else f"seq {expected}–{event.seq - 1}"
        )
        found.append(
            Problem(
                event.chain,
                event.seq,
                "audit.gap",
                f"gap: {missing} missing before seq {event.seq}"
                if event.seq > expected
                else f"gap: expected seq {expected}, found seq {event.seq}",
            )
        )
    if event.prev_hash != prev:
        found.append(
            Problem(
                event.chain,
                event.seq,
                "audit.broken_link",
                f"broken link: prev_hash {event.prev_hash[:12]}… is not the previous event's "
                f"hash {prev[:12]}…",
            )
        )
    recomputed = compute_hash(
        event.chain,
        event.seq,
        event.at,
        event.actor,
        event.action,
        event.subject,
        event.data,
        event.prev_hash,
    )
    if recomputed != event.hash:
        found.append(
            Problem(
                event.chain,
                event.seq,
                "audit.hash_mismatch",
                f"hash mismatch: stored {event.hash[:12]}…, recomputed {recomputed[:12]}… "
                f"({event.action} {event.subject}: the event was altered)",
            )
        )
    return found
