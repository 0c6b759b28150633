"""The W3C VC API's issuer side: issue a caller's credential through the issuing service, and
update a credential's status.

A credential issued here is checked against the VC Data Model first (``vc.datamodel``); then,
in one transaction under the provider's lock like ``issuing.issue``, it gets a status index and
the provider's revocation entry, is signed, stored verbatim as a ``Credential`` row and recorded
as an ``issued`` event. Rows need a definition: each provider has one hidden definition (state
``vc_api``) that its VC API credentials hang under, created on first use and never listed,
published or versioned. Status changes go through ``status.change_state``, as in the provider
pages.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from microcred import metrics
from microcred.db.tables import Credential, CredentialEvent, Definition, Provider, Staff
from microcred.domain.catalog import parse_definition
from microcred.domain.errors import DomainError, NotFound
from microcred.i18n import _, ngettext
from microcred.services import audit, usage
from microcred.services.app import App
from microcred.services.definitions import HIDDEN_STATES
from microcred.services.issuing import credential_text
from microcred.services.keys import active_key, provider_did
from microcred.services.providers import require
from microcred.services.status import allocate, change_state, list_url
from microcred.vc import datamodel, status_list
from microcred.vc.credential import sign_credential
from microcred.vc.datamodel import Problem
from microcred.vc.dates import parse_datetime
from microcred.vc.errors import VcError
from microcred.vc.loader import VC_V1
from microcred.vc.message import text as shown

STATE = HIDDEN_STATES[0]  # never listed, published or versioned
TITLE = "Issued through the W3C VC API"
STATUS_V1 = "https://www.w3.org/ns/credentials/status/v1"
ENTRY_TYPES = (status_list.ENTRY_TYPE, status_list.LIST_TYPE)
REASON = "set through the W3C VC API (POST /credentials/status)"


class InvalidCredentialError(DomainError):
    """The credential breaks the VC Data Model (or cannot be signed as it is): every problem."""

    def __init__(self, violations: list[Problem]) -> None:
        count = len(violations)
        super().__init__(
            "credential.invalid",
            ngettext(
                "the credential does not conform to the VC Data Model (%(count)d problem): "
                "%(problems)s",
                "the credential does not conform to the VC Data Model (%(count)d problems): "
                "%(problems)s",
                count,
            )
            % {
                "count": count,
                "problems": "; ".join(
                    f"{p.field or 'credential'}: {shown(p.message)}" for p in violations
                ),
            },
        )
        self.violations = violations


def definition_for(app: App, session: Session, provider: Provider) -> Definition:
    """The provider's hidden VC API definition, made on first use (under the provider lock)."""
    row = session.scalar(
        select(Definition).where(Definition.provider_id == provider.id, Definition.state == STATE)
    )
    if row is None:
        data = parse_definition({"title": TITLE, "awarding_body": provider.legal_name})
        row = Definition(
            provider_id=provider.id,
            family=str(uuid.uuid4()),
            version=1,
            state=STATE,
            title=TITLE,
            data=data.model_dump(mode="json"),
            created_at=app.now(),
        )
        session.add(row)
        session.flush()
    return row


def issue_document(
    app: App, session: Session, staff: Staff, credential: Mapping[str, Any]
) -> tuple[Credential, dict[str, Any]]:
    """Validate, add the revocation entry, sign and store; the row and the signed credential.

    Raises :class:`InvalidCredentialError` naming every problem; nothing is written then.
    """
    require(staff, "issue")
    violations = datamodel.problems(credential)
    if "proof" in credential:
        violations.append(
            Problem("/proof", "credential.already_signed", _("send the credential without a proof"))
        )
    own = f"{app.settings.base_url}/"
    if isinstance(credential.get("id"), str) and credential["id"].startswith(own):
        violations.append(
            Problem(
                "/id",
                "datamodel.id_reserved",
                _("id must not be an address of this platform (%(prefix)s…): it names its pages")
                % {"prefix": own},
            )
        )
    provider = session.get(Provider, staff.provider_id, with_for_update=True)
    assert provider is not None
    did = provider_did(app, provider)
    violations += _issuer_is(credential, did)
    if violations:
        raise InvalidCredentialError(violations)
    issued_at = app.now().replace(microsecond=0)
    # A savepoint: a credential that cannot be signed (a term its @context does not define)
    # leaves no status index, list or definition behind.
    with session.begin_nested():
        definition = definition_for(app, session, provider)
        status_row, index = allocate(app, session, provider)
        key_row, key_pair = active_key(app, session, provider)
        url = list_url(app, provider, status_row.number, "revocation")
        unsigned = _with_status(credential, status_list.entry(url, index, "revocation"))
        try:
            signed = sign_credential(
                unsigned,
                key_pair,
                created=issued_at,
                controller=did,
                verification_method=f"{did}#{key_row.fragment}",
                proof_as_list=False,  # the VC API answers with one proof object
                loader=app.loader,
            )
        except VcError as exc:
            raise InvalidCredentialError([Problem("", exc.code, exc.message)]) from exc
        name, subject_id = _subject_names(credential)
        row = Credential(
            id=str(uuid.uuid4()),
            provider_id=provider.id,
            definition_id=definition.id,
            learner_id=None,
            recipient_name=(name or subject_id or "")[:200],
            recipient_email="",
            status_list_id=status_row.id,
            status_index=index,
            state="active",
            document=credential_text(signed),
            key_fragment=key_row.fragment,
            issued_at=issued_at,
            valid_until=_valid_until(credential),
        )
        session.add(row)
        session.flush()
        session.add(
            CredentialEvent(credential_id=row.id, action="issued", actor_id=staff.id, at=app.now())
        )
        session.flush()
        audit.issued(session, staff, row, via="vc_api")
        usage.count_credentials(session, [row], "issued", app.now())
        metrics.count_on_commit(session, metrics.CREDENTIALS_ISSUED.labels("vc_api").inc)
    return row, signed


def update_status(
    app: App,
    session: Session,
    staff: Staff,
    credential_id: str,
    entry: Mapping[str, Any],
    status: bool = True,
) -> list[Credential]:
    """Set (``status=True``) or clear one status of a credential: revoke, suspend, reinstate.

    ``credential_id`` is the row's id, the credential's public URL or its own ``id``; every
    credential of the provider carrying that id is updated. Setting a status it already has is
    a success, so a retry is harmless.
    """
    require(staff, "revoke")
    kind, purpose = entry.get("type"), entry.get("statusPurpose")
    if kind not in ENTRY_TYPES:
        raise DomainError(
            "status.unsupported",
            _("credentialStatus.type must be %(type)s, not %(given)s")
            % {"type": status_list.ENTRY_TYPE, "given": repr(kind)},
            "credentialStatus.type",
        )
    if purpose not in status_list.PURPOSES:
        raise DomainError(
            "status.purpose_invalid",
            _("statusPurpose must be revocation or suspension, not %(given)s")
            % {"given": repr(purpose)},
            "credentialStatus.statusPurpose",
        )
    if purpose == "revocation" and not status:
        raise DomainError("status.already_revoked", _("a revocation cannot be undone"), "status")
    action = {"revocation": "revoke", "suspension": "suspend" if status else "reinstate"}[purpose]
    target = {"revoke": "revoked", "suspend": "suspended", "reinstate": "active"}[action]
    rows = find(app, session, staff.provider_id, credential_id)
    # all or nothing: a refusal on a later row must not leave the earlier ones changed
    with session.begin_nested():
        for row in rows:
            if row.state != target:
                change_state(app, session, staff, row.id, action, REASON)
    return rows


def find(app: App, session: Session, provider_id: int, credential_id: str) -> list[Credential]:
    """The provider's credentials known by ``credential_id`` (row id, public URL or own id)."""
    prefix = f"{app.settings.base_url}/credentials/"
    row_id = credential_id.removeprefix(prefix)
    row = session.get(Credential, row_id) if len(row_id) == 36 else None
    if row is not None and row.provider_id == provider_id:
        return [row]
    # By the credential's own id: narrowed in SQL by its JSON text, then read exactly.
    quoted = json.dumps(credential_id, ensure_ascii=False)
    candidates = session.scalars(
        select(Credential)
        .where(
            Credential.provider_id == provider_id,
            or_(  # stored compact (issuing.credential_text), or indented before it
                Credential.document.contains(f'"id":{quoted}', autoescape=True),
                Credential.document.contains(f'"id": {quoted}', autoescape=True),
            ),
        )
        .order_by(Credential.issued_at)
    )
    found = [c for c in candidates if json.loads(c.document).get("id") == credential_id]
    if not found:
        raise NotFound("credential")
    return found


def _issuer_is(credential: Mapping[str, Any], did: str) -> list[Problem]:
    issuer = credential.get("issuer")
    named, pointer = (
        (issuer.get("id"), "/issuer/id") if isinstance(issuer, Mapping) else (issuer, "/issuer")
    )
    if isinstance(named, str) and datamodel.is_uri(named) and named != did:
        return [
            Problem(
                pointer,
                "credential.issuer_mismatch",
                _("the issuer must be this provider, %(did)s; the credential names %(named)s")
                % {"did": did, "named": named},
            )
        ]
    return []


def _with_status(credential: Mapping[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """A copy with the provider's status entry added beside any the caller sent."""
    document = copy.deepcopy(dict(credential))
    present = document.get("credentialStatus")
    if present is None:
        document["credentialStatus"] = entry
    else:
        document["credentialStatus"] = [
            *(present if isinstance(present, list) else [present]),
            entry,
        ]
    contexts = document["@context"]
    if datamodel.version(document) == VC_V1:  # VC 1.1 does not define the entry's terms
        contexts = contexts if isinstance(contexts, list) else [contexts]
        if STATUS_V1 not in contexts:
            document["@context"] = [*contexts, STATUS_V1]
    return document


def _subject_names(credential: Mapping[str, Any]) -> tuple[str | None, str | None]:
    subject = credential.get("credentialSubject")
    first = subject[0] if isinstance(subject, list) and subject else subject
    if not isinstance(first, Mapping):
        return None, None
    name, subject_id = first.get("name"), first.get("id")
    return (
        name if isinstance(name, str) else None,
        subject_id if isinstance(subject_id, str) else None,
    )


def _valid_until(credential: Mapping[str, Any]) -> datetime | None:
    for name in ("validUntil", "expirationDate"):
        if name in credential:
            return parse_datetime(credential[name], name)
    return None
