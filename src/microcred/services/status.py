"""Status lists: random, atomic index allocation; revoke, suspend, reinstate; publication.

Each credential holds one index in one of its provider's lists, used in two list credentials:
``/providers/SLUG/status/N/revocation`` and ``.../suspension``. Every credential names its index in
the revocation list; only credentials of definitions that enable suspension also name it in the
suspension list, and only those can be suspended (ADR 0015). Indexes are drawn at random (group
privacy) under a row lock on the list, and the unique (list, index) constraint on credentials makes
reuse impossible even if the lock were bypassed. The published bits are computed from the
credentials' states at publication time, so two revocations made at once both appear.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microcred import metrics
from microcred.db.batch import among
from microcred.db.session import READONLY, transaction
from microcred.db.tables import (
    BulkRow,
    Credential,
    CredentialEvent,
    Provider,
    PublishedStatusList,
    Staff,
    StatusList,
    StatusReserved,
)
from microcred.domain.award import status_purposes
from microcred.domain.errors import DomainError, NotFound
from microcred.i18n import N_, _
from microcred.services import audit, jobs, notify, usage, verdicts
from microcred.services.app import App
from microcred.services.keys import active_key, active_row, provider_did
from microcred.services.providers import get_provider, require
from microcred.vc import status_list
from microcred.vc.credential import sign_credential

_log = logging.getLogger(__name__)
LIST_SIZE = status_list.MIN_BITS
FILL_LIMIT = LIST_SIZE // 2  # open a new list before random draws start to collide often
# A credential's states (``Credential.state``), their words marked for translation: shown as
# ``_(state)`` (a template: ``{{ _(credential.state) }}``).
STATES = (N_("active"), N_("revoked"), N_("suspended"))


def list_url(app: App, provider: Provider, number: int, purpose: str) -> str:
    return f"{app.settings.base_url}/providers/{provider.slug}/status/{number}/{purpose}"


def allocate(app: App, session: Session, provider: Provider) -> tuple[StatusList, int]:
    """A fresh random index in the provider's current list (see :func:`allocate_many`)."""
    return allocate_many(app, session, provider, 1)[0]


def allocate_many(
    app: App, session: Session, provider: Provider, count: int
) -> list[tuple[StatusList, int]]:
    """``count`` fresh random indexes, drawn in blocks: a few statements for a bulk chunk.

    The caller holds the provider's row lock (``issuing.issue`` and the bulk chunks take it
    first thing), so two issuers never open the same new list or draw against a stale count.
    Each index is drawn uniformly among the free ones of the current list (a random sample,
    the ones in use set aside), so the index says nothing about the order of issue.
    """
    found: list[tuple[StatusList, int]] = []
    while len(found) < count:
        current, room = _current_list(app, session, provider)
        wanted = min(count - len(found), room)
        chosen: dict[int, None] = {}  # in the order drawn
        for _attempt in range(64):
            # twice what is wanted, at least 16: enough free ones in one round, since
            # FILL_LIMIT keeps at least half of every list free
            candidates = _RANDOM.sample(range(current.size), min(current.size, 2 * wanted + 16))
            busy = _in_use(session, provider, current, candidates)
            chosen.update((i, None) for i in candidates if i not in busy)
            if len(chosen) >= wanted:
                break
        else:  # pragma: no cover
            raise DomainError("status.list_full", _("could not find a free status index"))
        chosen = dict.fromkeys(list(chosen)[:wanted])
        current.allocated += len(chosen)
        found.extend((current, index) for index in chosen)
    session.flush()
    return found


_RANDOM = secrets.SystemRandom()


def _current_list(app: App, session: Session, provider: Provider) -> tuple[StatusList, int]:
    """The list to draw from, a new one when the current is full, and the room left in it."""
    current = session.scalars(
        select(StatusList)
        .where(StatusList.provider_id == provider.id)
        .order_by(StatusList.number.desc())
        .limit(1)
        .with_for_update()
    ).first()
    # a restore may know of lists this database never saw (issued after its backup)
    reserved_top = session.scalar(
        select(func.max(StatusReserved.list_number)).where(
            StatusReserved.provider_id == provider.id
        )
    )
    reserved_here = (
        session.scalar(
            select(func.count())
            .select_from(StatusReserved)
            .where(
                StatusReserved.provider_id == provider.id,
                StatusReserved.list_number == current.number,
            )
        )
        if current is not None and reserved_top is not None
        else 0
    ) or 0
    if current is None or current.allocated + reserved_here >= FILL_LIMIT:
        number = max(current.number if current else 0, reserved_top or 0) + 1
        current = StatusList(
            provider_id=provider.id,
            number=number,
            size=LIST_SIZE,
            allocated=0,
            created_at=app.now(),
        )
        session.add(current)
        session.flush()
        for purpose in status_list.PURPOSES:
            publish(app, session, provider, current, purpose)  # served from the first issue on
        reserved_here = 0
    return current, FILL_LIMIT - current.allocated - reserved_here


def _in_use(
    session: Session, provider: Provider, current: StatusList, candidates: list[int]
) -> set[int]:
    """Which of ``candidates`` are taken: by a credential, held for a bulk row not yet issued,
    or in use by a credential this database lost (reserved by a restore)."""
    busy: set[int] = set()
    for start in range(0, len(candidates), 500):
        part = candidates[start : start + 500]
        busy.update(
            session.scalars(
                select(Credential.status_index).where(
                    Credential.status_list_id == current.id,
                    among(session, Credential.status_index, part),
                )
            )
        )
        busy.update(
            i
            for i in session.scalars(
                select(BulkRow.status_index).where(
                    BulkRow.status_list_id == current.id,
                    among(session, BulkRow.status_index, part),
                )
            )
            if i is not None
        )
        busy.update(
            session.scalars(
                select(StatusReserved.status_index).where(
                    StatusReserved.provider_id == provider.id,
                    StatusReserved.list_number == current.number,
                    among(session, StatusReserved.status_index, part),
                )
            )
        )
    return busy


def suspendable(credential: Credential) -> bool:
    """Whether the signed credential names a suspension status entry (so it can be suspended)."""
    return "suspension" in status_purposes(json.loads(credential.document))


def change_state(
    app: App, session: Session, staff: Staff, credential_id: str, action: str, reason: str
) -> Credential:
    """``revoke`` (final), ``suspend``, or ``reinstate`` (lifts a suspension)."""
    require(staff, "revoke")
    credential = session.get(Credential, credential_id, with_for_update=True)
    if credential is None or credential.provider_id != staff.provider_id:
        raise NotFound("credential")
    if credential.state == "revoked":
        raise DomainError("status.already_revoked", _("a revoked credential stays revoked"))
    if action == "suspend" and not suspendable(credential):
        raise DomainError(
            "status.not_suspendable",
            _(
                "this credential cannot be suspended: it was issued without a suspension status "
                "entry (suspension was not enabled for its definition); it can only be revoked"
            ),
        )
    reason = reason.strip()
    if action in ("revoke", "suspend") and not reason:
        raise DomainError("status.reason_required", _("give a reason"), "reason")
    if action == "revoke":
        credential.state = "revoked"
    elif action == "suspend":
        if credential.state == "suspended":
            raise DomainError("status.already_suspended", _("the credential is already suspended"))
        credential.state = "suspended"
    elif action == "reinstate":
        if credential.state != "suspended":
            raise DomainError(
                "status.not_suspended", _("only a suspended credential can be reinstated")
            )
        credential.state = "active"
    else:
        raise DomainError(
            "status.action_invalid", _("unknown action %(action)s") % {"action": repr(action)}
        )
    credential.state_reason = reason or None
    session.add(
        CredentialEvent(
            credential_id=credential.id,
            action=action,
            reason=reason or None,
            actor_id=staff.id,
            at=app.now(),
        )
    )
    session.flush()
    status_row = session.get(StatusList, credential.status_list_id)
    provider = session.get(Provider, credential.provider_id)
    assert status_row is not None
    assert provider is not None
    for purpose in status_list.PURPOSES:
        publish(app, session, provider, status_row, purpose)  # the new bits, signed and stored
    audit.state_changed(session, staff, credential, action, reason)
    if action == "revoke":
        usage.count_credentials(session, [credential], "revoked", app.now())
    metrics.count_on_commit(session, metrics.CREDENTIAL_STATUS_CHANGES.labels(action).inc)
    notify.credential_status(app, session, credential, action, reason)  # after commit
    return credential


def published_list(
    app: App, session: Session, provider: Provider, number: int, purpose: str
) -> str:
    """The signed status-list credential (JSON text), as stored in the database, so every web
    process serves the same bytes. It is re-signed when its bits, the issuer or its signing key
    changed since it was stored (and stored again when the request may write)."""
    if purpose not in status_list.PURPOSES:
        raise NotFound("status list")
    row = session.scalar(
        select(StatusList).where(StatusList.provider_id == provider.id, StatusList.number == number)
    )
    if row is None:
        raise NotFound("status list")
    if _writable(session):
        return publish(app, session, provider, row, purpose)
    fingerprint, indexes = _fingerprint(app, session, provider, row, purpose)
    stored = _stored(session, row, purpose)
    if stored is not None and stored.fingerprint == fingerprint:
        return stored.document
    return _sign(app, session, provider, row, purpose, indexes)


def served_list(app: App, slug: str, number: int, purpose: str) -> str:
    """:func:`published_list` for a relying party's GET, in a read-only transaction of its own."""
    with transaction(app.sessions, readonly=True) as session:
        return published_list(app, session, get_provider(session, slug), number, purpose)


def publish(app: App, session: Session, provider: Provider, row: StatusList, purpose: str) -> str:
    """Sign the list as it is now and store it (in the caller's transaction): called when its
    bits change (revoke, suspend, reinstate), when it is created, and after a key rotation."""
    session.get(StatusList, row.id, with_for_update=True)  # one publisher per list at a time
    fingerprint, indexes = _fingerprint(app, session, provider, row, purpose)
    stored = _stored(session, row, purpose)
    if stored is not None and stored.fingerprint == fingerprint:
        return stored.document
    text = _sign(app, session, provider, row, purpose, indexes)
    if stored is None:
        stored = PublishedStatusList(status_list_id=row.id, purpose=purpose)
        session.add(stored)
    stored.fingerprint = fingerprint
    stored.document = text
    stored.signed_at = app.now()
    verdicts.changed(session, [provider.id])  # kept verdicts read the old bits (ADR 0022)
    session.flush()
    return text


def publish_stale(app: App) -> None:
    """At start-up: sign and store every list whose stored copy is missing or stale (after an
    upgrade, or a change of base URL), so that reads serve stored lists from the first GET. A
    provider whose key cannot be opened (a wrong MICROCRED_KEK) is logged and skipped."""
    with transaction(app.sessions) as session:
        for provider in session.scalars(select(Provider)).all():
            try:
                with session.begin_nested():
                    publish_all(app, session, provider)
            except DomainError as exc:
                _log.warning("status lists of %s not re-signed: %s", provider.slug, exc.message)


@jobs.task("status.republish", queue="status", max_attempts=10, wait=10)
def republish(app: App, provider_id: int) -> None:
    """Re-sign every list of a provider (the job a key rotation enqueues)."""
    with transaction(app.sessions) as session:
        provider = session.get(Provider, provider_id)
        if provider is not None:
            publish_all(app, session, provider)


def publish_all(app: App, session: Session, provider: Provider) -> None:
    """Re-sign every list of the provider (after its signing key changed)."""
    for row in session.scalars(select(StatusList).where(StatusList.provider_id == provider.id)):
        for purpose in status_list.PURPOSES:
            publish(app, session, provider, row, purpose)


def _stored(session: Session, row: StatusList, purpose: str) -> PublishedStatusList | None:
    return session.scalar(
        select(PublishedStatusList).where(
            PublishedStatusList.status_list_id == row.id, PublishedStatusList.purpose == purpose
        )
    )


def _fingerprint(
    app: App, session: Session, provider: Provider, row: StatusList, purpose: str
) -> tuple[str, list[int]]:
    state = "revoked" if purpose == "revocation" else "suspended"
    indexes = sorted(
        session.scalars(
            select(Credential.status_index).where(
                Credential.status_list_id == row.id, Credential.state == state
            )
        )
    )
    key_row = active_row(session, provider)  # the public key only: reads decrypt nothing
    signed_over = [
        list_url(app, provider, row.number, purpose),
        provider_did(app, provider),
        key_row.public_multibase,
        indexes,
    ]
    return hashlib.sha256(json.dumps(signed_over).encode()).hexdigest(), indexes


def _sign(
    app: App,
    session: Session,
    provider: Provider,
    row: StatusList,
    purpose: str,
    indexes: list[int],
) -> str:
    url = list_url(app, provider, row.number, purpose)
    did = provider_did(app, provider)
    key_row, key_pair = active_key(app, session, provider)
    unsigned = status_list.list_credential(
        url, did, purpose, status_list.encode(indexes, row.size), _stamp(row.created_at)
    )
    signed = sign_credential(
        unsigned,
        key_pair,
        created=app.now(),
        controller=did,
        verification_method=f"{did}#{key_row.fragment}",
        proof_as_list=False,
    )
    return json.dumps(signed, ensure_ascii=False)


def _writable(session: Session) -> bool:
    options = session.connection().get_execution_options()
    return not options.get(READONLY, False)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
