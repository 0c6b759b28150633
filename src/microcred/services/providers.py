"""Providers (organisations) and their staff: creation, sign-in, roles."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from microcred.db.session import transaction
from microcred.db.tables import ApiToken, Provider, Staff
from microcred.domain.errors import DomainError, Forbidden, NotFound
from microcred.i18n import N_, _
from microcred.services import audit, notify, sessions
from microcred.services.app import App
from microcred.services.keys import add_key, provider_did

ROLES = (N_("owner"), N_("issuer"), N_("assessor"), N_("viewer"))  # shown as _(role)
PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset(ROLES),
    "assess": frozenset({"owner", "issuer", "assessor"}),
    "issue": frozenset({"owner", "issuer"}),
    "revoke": frozenset({"owner", "issuer"}),
    "define": frozenset({"owner", "issuer"}),
    "manage": frozenset({"owner"}),
}
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_hasher = PasswordHasher()


# what a role may not do, a whole sentence per permission (the role's word translated in it)
_REFUSALS = {
    "view": N_("a %(role)s cannot view"),
    "assess": N_("a %(role)s cannot assess"),
    "issue": N_("a %(role)s cannot issue"),
    "revoke": N_("a %(role)s cannot revoke"),
    "define": N_("a %(role)s cannot define"),
    "manage": N_("a %(role)s cannot manage"),
}


def require(staff: Staff, permission: str) -> None:
    if staff.role not in PERMISSIONS[permission]:
        raise Forbidden(_(_REFUSALS[permission]) % {"role": _(staff.role)})


def create_provider(
    app: App,
    session: Session,
    *,
    slug: str,
    legal_name: str,
    country_code: str,
    owner_email: str,
    owner_password: str,
    owner_name: str = "Owner",
    region: str | None = None,
    website: str | None = None,
    contact_email: str | None = None,
    kind: str = "provider",
) -> tuple[Provider, Staff]:
    if not _SLUG.match(slug):
        raise DomainError(
            "provider.slug_invalid", _("use lower-case letters, digits and -"), "slug"
        )
    if not re.match(r"^[A-Z]{2}$", country_code):
        raise DomainError(
            "provider.country_invalid", _("a two-letter country code"), "country_code"
        )
    if session.scalar(select(Provider).where(Provider.slug == slug)):
        raise DomainError("provider.slug_taken", _("%(slug)s is taken") % {"slug": slug}, "slug")
    provider = Provider(
        slug=slug,
        legal_name=legal_name,
        country_code=country_code,
        region=region,
        website=website,
        contact_email=contact_email,
        kind=kind,
        created_at=app.now(),
    )
    session.add(provider)
    session.flush()
    audit.log(session, provider.id, None, "provider.created", provider.id, {"kind": kind})
    owner = add_staff(app, session, provider, owner_email, owner_name, owner_password, "owner")
    add_key(app, session, provider)
    return provider, owner


def add_staff(
    app: App,
    session: Session,
    provider: Provider,
    email: str,
    name: str,
    password: str,
    role: str,
    by: Staff | None = None,
) -> Staff:
    if role not in ROLES:
        raise DomainError(
            "staff.role_invalid",
            _("role must be one of %(roles)s") % {"roles": ", ".join(ROLES)},
            "role",
        )
    if len(password) < 10:
        raise DomainError("staff.password_short", _("use at least 10 characters"), "password")
    email = email.strip().lower()
    if session.scalar(select(Staff).where(Staff.email == email)):
        raise DomainError("staff.email_taken", _("that email already has an account"), "email")
    staff = Staff(
        provider_id=provider.id,
        email=email,
        name=name,
        password_hash=_hasher.hash(password),
        role=role,
        created_at=app.now(),
    )
    session.add(staff)
    try:
        session.flush()
    except IntegrityError as exc:
        raise DomainError(
            "staff.email_taken", _("that email already has an account"), "email"
        ) from exc
    audit.log(session, provider.id, by, "staff.added", staff.id, {"role": role})
    if by is not None:  # an owner added them: an invitation, after commit
        notify.staff_invited(app, session, provider, staff, by)
    return staff


def set_password(staff: Staff, password: str, by: Staff | None = None) -> None:
    if len(password) < 10:
        raise DomainError("staff.password_short", _("use at least 10 characters"), "password")
    staff.password_hash = _hasher.hash(password)
    session = object_session(staff)
    assert session is not None, "set_password needs the member's session (for the audit log)"
    audit.log(session, staff.provider_id, by, "staff.password_changed", staff.id)


def change_password(
    app: App, staff: Staff, current: str, new: str, *, keep_session: object = None
) -> None:
    """A member changes their own password (an owner chose the first one). Their other
    sessions end; ``keep_session`` (the token of the session asking) stays signed in."""
    try:
        _hasher.verify(staff.password_hash, current)
    except (VerificationError, InvalidHashError) as exc:
        raise DomainError(
            "staff.password_wrong", _("your current password is not right"), "current"
        ) from exc
    if new == current:
        raise DomainError("staff.password_same", _("choose a password you have not used"), "new")
    set_password(staff, new, by=staff)
    session = object_session(staff)
    assert session is not None
    sessions.end_all(app, session, "staff", staff.id, keep=keep_session)


def authenticate(session: Session, email: str, password: str) -> Staff | None:
    staff = session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if staff is None or staff.deactivated_at is not None:
        _hasher.hash(password)  # same work either way: no user enumeration by timing
        return None
    try:
        _hasher.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return staff


def get_provider(session: Session, slug: str) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.slug == slug))
    if provider is None:
        raise NotFound("provider")
    return provider


def create_api_token(app: App, session: Session, staff: Staff, name: str) -> str:
    token = "mc_" + secrets.token_urlsafe(32)
    row = ApiToken(
        staff_id=staff.id,
        name=name,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        created_at=app.now(),
    )
    session.add(row)
    session.flush()
    audit.log(session, staff.provider_id, staff, "token.created", row.id, {"staff_id": staff.id})
    return token


def staff_for_token(session: Session, token: str) -> Staff | None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None:
        return None
    staff = session.get(Staff, row.staff_id)
    return staff if staff is not None and staff.deactivated_at is None else None


def tokens(session: Session, provider: Provider) -> list[tuple[ApiToken, Staff]]:
    """Every API token of the provider's staff, newest first, with its holder."""
    return [
        (token, member)
        for token, member in session.execute(
            select(ApiToken, Staff)
            .join(Staff, Staff.id == ApiToken.staff_id)
            .where(Staff.provider_id == provider.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    ]


def revoke_token(app: App, session: Session, actor: Staff, token_id: int) -> ApiToken:
    """Owners revoke any token of their provider; others only their own."""
    row = session.get(ApiToken, token_id)
    holder = session.get(Staff, row.staff_id) if row else None
    if row is None or holder is None or holder.provider_id != actor.provider_id:
        raise NotFound("API token")
    if holder.id != actor.id:
        require(actor, "manage")
    if row.revoked_at is None:
        row.revoked_at = app.now()
        audit.log(
            session, holder.provider_id, actor, "token.revoked", row.id, {"staff_id": holder.id}
        )
    return row


def deactivate_staff(app: App, session: Session, actor: Staff, staff_id: int) -> Staff:
    """An owner removes a member: no more sign-in or API access, tokens revoked; the row stays
    (assessments, decisions and credentials name who did them)."""
    require(actor, "manage")
    member = session.get(Staff, staff_id)
    if member is None or member.provider_id != actor.provider_id:
        raise NotFound("staff member")
    if member.id == actor.id:
        raise DomainError("staff.self", _("you cannot remove yourself; ask another owner"))
    if member.deactivated_at is not None:
        return member
    now = app.now()
    member.deactivated_at = now
    revoked = []
    for token in session.scalars(
        select(ApiToken).where(ApiToken.staff_id == member.id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now
        revoked.append(token.id)
    session.flush()
    sessions.end_all(app, session, "staff", member.id)
    audit.log(session, member.provider_id, actor, "staff.removed", member.id, {"tokens": revoked})
    return member


def get_staff(session: Session, staff_id: int) -> Staff | None:
    """A staff member by id (the signed-in one), or None."""
    return session.get(Staff, staff_id)


def provider_of(session: Session, staff: Staff) -> Provider:
    """The staff member's organisation."""
    provider = session.get(Provider, staff.provider_id)
    assert provider is not None
    return provider


def members(session: Session, provider_id: int) -> list[Staff]:
    """The provider's staff, by name."""
    return list(
        session.scalars(
            select(Staff).where(Staff.provider_id == provider_id).order_by(Staff.name)
        ).all()
    )


def legal_names(session: Session) -> dict[int, str]:
    """Every organisation's legal name, by id."""
    return {p.id: p.legal_name for p in session.scalars(select(Provider))}


def staff_id_by_email(app: App, email: str) -> int | None:
    """The staff member a command acts as, by sign-in email."""
    with app.sessions() as session:
        return session.scalar(select(Staff.id).where(Staff.email == email.strip().lower()))


def register(app: App, **fields: Any) -> str:
    """Create a provider (or QA body), its owner and first key in one transaction; its DID."""
    with transaction(app.sessions) as session:
        provider, _owner = create_provider(app, session, **fields)
        return provider_did(app, provider)


def provider_by_id(session: Session, provider_id: int) -> Provider | None:
    """An organisation by id, or None."""
    return session.get(Provider, provider_id)
