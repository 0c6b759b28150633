"""Provider sign-up (issue 14): an organisation applies to become a provider or a QA body, proves
it controls its domain, and an operator (staff of the platform's own provider) approves it; the
new owner then follows a checklist to a first issued credential.

The domain is proven by a file at ``https://DOMAIN/.well-known/microcred-verification.txt``
holding the application's domain token, fetched through the platform's safe fetcher (public
addresses only, time and size limits). An application's page is reached by a link whose token
only the applicant holds (its hash is stored); the owner's password is chosen when applying and
stored only as its argon2 hash, so nothing secret is ever sent by email.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import Credential, Definition, Provider, ProviderApplication, Staff
from microcred.domain.emails import is_address
from microcred.domain.errors import DomainError, Forbidden, NotFound
from microcred.i18n import _
from microcred.services import audit, notify
from microcred.services.app import App
from microcred.services.providers import _SLUG, add_staff, create_provider
from microcred.services.trust import prepare_platform_signer
from microcred.vc.errors import VcError
from microcred.vc.message import text as shown

WELL_KNOWN = "/.well-known/microcred-verification.txt"
HOLD = timedelta(days=30)  # how long a pending application keeps its short name from others
KINDS = ("provider", "qa_body")
_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
_hasher = PasswordHasher()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def verification_url(application: ProviderApplication) -> str:
    return f"https://{application.domain}{WELL_KNOWN}"


def apply(
    app: App, session: Session, fields: dict[str, str], password: str
) -> tuple[ProviderApplication, str]:
    """Record an application; the link token for the applicant's page. DomainError names the
    first field that is wrong."""
    kind = fields.get("kind", "provider")
    if kind not in KINDS:
        raise DomainError("apply.kind", _("apply as a provider or a QA body"), "kind")
    slug = fields.get("slug", "").strip().lower()
    if not _SLUG.match(slug) or slug == "platform":
        raise DomainError(
            "apply.slug", _("a short name of lower-case letters, digits and -"), "slug"
        )
    taken = session.scalar(select(Provider.id).where(Provider.slug == slug)) or session.scalar(
        select(ProviderApplication.id).where(
            ProviderApplication.slug == slug,
            ProviderApplication.state == "pending",
            ProviderApplication.created_at > app.now() - HOLD,  # a pending one holds it a while
        )
    )
    if taken:
        raise DomainError("apply.slug_taken", _("that short name is taken"), "slug")
    legal_name = fields.get("legal_name", "").strip()
    if not 2 <= len(legal_name) <= 300:
        raise DomainError("apply.legal_name", _("the organisation's legal name"), "legal_name")
    country = fields.get("country_code", "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise DomainError(
            "apply.country", _("a two-letter country code, like DE or IE"), "country_code"
        )
    website = fields.get("website", "").strip()
    host = (urlsplit(website).hostname or "") if website.startswith("https://") else ""
    if not _HOST.match(host) or len(website) > 500:
        raise DomainError(
            "apply.website", _("the organisation's website, starting with https://"), "website"
        )
    domain = fields.get("domain", "").strip().lower() or host
    if not _HOST.match(domain):
        raise DomainError("apply.domain", _("a domain name, like academy.example"), "domain")
    if host != domain and not host.endswith("." + domain):  # the proof covers the website
        raise DomainError(
            "apply.domain", _("the website must be on the domain you prove"), "domain"
        )
    contact_name = fields.get("contact_name", "").strip()
    if not 1 <= len(contact_name) <= 200:
        raise DomainError("apply.contact_name", _("the contact person's name"), "contact_name")
    email = fields.get("contact_email", "").strip().lower()
    if not is_address(email) or len(email) > 320:
        raise DomainError("apply.contact_email", _("a valid email address"), "contact_email")
    if len(password) < 10:
        raise DomainError("apply.password", _("use at least 10 characters"), "password")
    token = secrets.token_urlsafe(24)
    application = ProviderApplication(
        token_hash=_digest(token),
        kind=kind,
        slug=slug,
        legal_name=legal_name,
        country_code=country,
        region=fields.get("region", "").strip()[:200] or None,
        website=website[:500],
        domain=domain,
        contact_name=contact_name,
        contact_email=email,
        password_hash=_hasher.hash(password),
        domain_token="microcred-verification=" + secrets.token_hex(16),
        state="pending",
        created_at=app.now(),
    )
    session.add(application)
    session.flush()
    notify.application(app, session, application, "received", token)  # after the commit
    return application, token


def submit(app: App, fields: dict[str, str], password: str) -> str:
    """:func:`apply` in a transaction of its own (the web form); the applicant's link token."""
    with transaction(app.sessions) as session:
        return apply(app, session, fields, password)[1]


def by_token(session: Session, token: str) -> ProviderApplication:
    application = session.scalar(
        select(ProviderApplication).where(ProviderApplication.token_hash == _digest(token))
    )
    if application is None:
        raise NotFound("application")
    return application


def check_domain(app: App, token: str) -> None:
    """Fetch the domain's verification file; the domain is proven when it holds the token.
    DomainError says what was found instead. No transaction is open while the other host is
    asked (a slow host must not hold a database lock or connection): the application is read,
    the file fetched, then the proof recorded on its own."""
    with transaction(app.sessions, readonly=True) as session:
        application = by_token(session, token)
        if application.domain_verified_at is not None or application.state != "pending":
            return
        url, line = verification_url(application), application.domain_token
    try:
        body = app.fetcher.fetch(url)
    except VcError as error:
        raise DomainError(
            "apply.domain_unproven",
            _("%(url)s could not be read: %(why)s") % {"url": url, "why": shown(error.message)},
            "domain",
        ) from None
    lines = {text.strip() for text in body.decode("utf-8", "replace").splitlines()}
    if line not in lines:
        raise DomainError(
            "apply.domain_unproven",
            _("%(url)s does not hold this application's line") % {"url": url},
            "domain",
        )
    with transaction(app.sessions) as session:
        application = by_token(session, token)
        if application.domain_verified_at is None:
            application.domain_verified_at = app.now()


def _require_operator(session: Session, operator: Staff) -> None:
    provider = session.get(Provider, operator.provider_id)
    if provider is None or provider.kind != "platform" or operator.role != "owner":
        raise Forbidden(_("only the platform's operators decide applications"))


def pending(session: Session, operator: Staff) -> list[ProviderApplication]:
    _require_operator(session, operator)
    return list(
        session.scalars(
            select(ProviderApplication)
            .where(ProviderApplication.state == "pending")
            .order_by(ProviderApplication.created_at)
        )
    )


def _pending_one(session: Session, operator: Staff, application_id: int) -> ProviderApplication:
    _require_operator(session, operator)
    application = session.get(ProviderApplication, application_id, with_for_update=True)
    if application is None:
        raise NotFound("application")
    if application.state != "pending":
        raise DomainError("apply.decided", _("this application has been decided already"))
    return application


def approve(app: App, session: Session, operator: Staff, application_id: int) -> Provider:
    """Create the provider (or QA body), its owner with the password they chose, and its key."""
    application = _pending_one(session, operator, application_id)
    if application.domain_verified_at is None:
        raise DomainError(
            "apply.domain_unproven", _("the organisation has not proven its domain yet"), "domain"
        )
    if session.scalar(select(Staff.id).where(Staff.email == application.contact_email)):
        raise DomainError(
            "apply.contact_email",
            _("%(email)s already has an account: reject with a reason")
            % {"email": application.contact_email},
            "contact_email",
        )
    placeholder = secrets.token_urlsafe(24)  # replaced by the chosen password's hash below
    provider, owner = create_provider(
        app,
        session,
        slug=application.slug,
        legal_name=application.legal_name,
        country_code=application.country_code,
        region=application.region,
        website=application.website,
        contact_email=application.contact_email,
        owner_email=application.contact_email,
        owner_password=placeholder,
        owner_name=application.contact_name,
        kind=application.kind,
    )
    owner.password_hash = application.password_hash
    application.password_hash = ""  # kept no longer than needed
    provider.domain = application.domain
    provider.domain_verified_at = application.domain_verified_at
    application.state = "approved"
    application.decided_at = app.now()
    application.decided_by = operator.id
    application.provider_id = provider.id
    audit.log(session, operator.provider_id, operator, "application.approved", provider.id)
    notify.application(app, session, application, "approved")
    return provider


def reject(
    app: App, session: Session, operator: Staff, application_id: int, reason: str
) -> ProviderApplication:
    application = _pending_one(session, operator, application_id)
    reason = reason.strip()
    if not reason:
        raise DomainError("apply.reason", _("say why, for the applicant"), "reason")
    application.state = "rejected"
    application.password_hash = ""
    application.reason = reason[:1000]
    application.decided_at = app.now()
    application.decided_by = operator.id
    audit.log(session, operator.provider_id, operator, "application.rejected", application.id)
    notify.application(app, session, application, "rejected")
    return application


def add_operator(app: App, email: str, name: str, password: str) -> None:
    """An operator: an owner of the platform's own provider (``microcred provider operator``),
    in a transaction of its own."""
    prepare_platform_signer(app)  # the platform's provider exists from the first start on
    with transaction(app.sessions) as session:
        platform = session.scalar(select(Provider).where(Provider.kind == "platform"))
        assert platform is not None
        add_staff(app, session, platform, email, name, password, "owner")


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    done: bool
    path: str


def checklist(session: Session, provider: Provider) -> list[Step]:
    """A new provider's first steps, each done or not, with where to do it."""
    members = session.scalar(
        select(func.count()).select_from(Staff).where(Staff.provider_id == provider.id)
    )
    states = set(
        session.scalars(select(Definition.state).where(Definition.provider_id == provider.id))
    )
    issued = session.scalar(select(Credential.id).where(Credential.provider_id == provider.id))
    steps: list[tuple[str, bool, str]] = [
        (_("Invite your staff (assessors, issuers)"), (members or 0) > 1, "/staff"),
        (_("Draft your first micro-credential"), bool(states), "/definitions/new"),
        (_("Publish it"), "published" in states, "/definitions"),
        (_("Issue a first credential"), issued is not None, "/definitions"),
    ]
    return [Step(label, done, path) for label, done, path in steps]


def describe(application: ProviderApplication) -> dict[str, Any]:
    """What the applicant's page and the operator's queue show of an application."""
    return {
        "id": application.id,
        "kind": application.kind,
        "slug": application.slug,
        "legal_name": application.legal_name,
        "country_code": application.country_code,
        "website": application.website,
        "domain": application.domain,
        "domain_verified": application.domain_verified_at is not None,
        "contact_name": application.contact_name,
        "contact_email": application.contact_email,
        "state": application.state,
        "reason": application.reason or "",
        "verification_url": verification_url(application),
        "domain_token": application.domain_token,
        "created_at": application.created_at,
    }
