"""Quality-assurance bodies, accreditations (signed EndorsementCredentials), and trust registries:
the platform's own (published signed, and in the DCC registry format) and external ones."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import Accreditation, Provider, Staff
from microcred.domain import trust
from microcred.domain.errors import DomainError, Forbidden, NotFound
from microcred.i18n import _
from microcred.services import audit, verdicts
from microcred.services.app import App
from microcred.services.keys import active_key, add_key, provider_did
from microcred.services.providers import require
from microcred.vc.credential import sign_credential
from microcred.vc.did_web import did_web_from_url
from microcred.vc.jsonsafe import parse_json
from microcred.vc.loader import OB_V3P0_303, VC_V2, default_loader
from microcred.vc.policy import TrustFinding
from microcred.vc.proofs import EDDSA_JCS_2022, create_proof

PLATFORM_SLUG = "platform"


def accredit(
    app: App,
    session: Session,
    staff: Staff,
    *,
    provider_slug: str,
    framework: str,
    scope: str,
    valid_from: date,
    valid_until: date,
    report_url: str | None,
) -> Accreditation:
    """A QA body accredits a provider; the accreditation is a signed EndorsementCredential."""
    require(staff, "issue")
    qa_body = session.get(Provider, staff.provider_id)
    assert qa_body is not None
    if qa_body.kind != "qa_body":
        raise Forbidden(_("only a quality-assurance body can accredit providers"))
    provider = session.scalar(
        select(Provider).where(Provider.slug == provider_slug, Provider.kind == "provider")
    )
    if provider is None:
        raise DomainError(
            "trust.unknown_provider",
            _("no provider %(slug)s") % {"slug": repr(provider_slug)},
            "provider",
        )
    if framework not in trust.FRAMEWORKS:
        raise DomainError(
            "trust.framework_invalid", _("choose ESG, EQAVET or national"), "framework"
        )
    if valid_until <= valid_from:
        raise DomainError(
            "trust.dates_invalid", _("valid until must be after valid from"), "valid_until"
        )
    if report_url and not report_url.startswith(("https://", "http://")):
        raise DomainError(
            "trust.report_invalid", _("the QA report link must be a URL"), "report_url"
        )
    if not scope.strip():
        raise DomainError(
            "trust.scope_missing", _("describe the scope of the accreditation"), "scope"
        )
    accreditation_id = str(uuid.uuid4())
    qa_did = provider_did(app, qa_body)
    comment = (
        f"{qa_body.legal_name} accredits {provider.legal_name} under "
        f"{trust.FRAMEWORKS[framework]}. Scope: {scope.strip()}."
        + (f" QA report: {report_url}" if report_url else "")
    )
    unsigned = {
        "@context": [VC_V2, OB_V3P0_303],
        "id": f"{app.settings.base_url}/accreditations/{accreditation_id}",
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": f"Accreditation of {provider.legal_name}",
        "issuer": {"id": qa_did, "type": ["Profile"], "name": qa_body.legal_name},
        "validFrom": f"{valid_from.isoformat()}T00:00:00Z",
        "validUntil": f"{valid_until.isoformat()}T23:59:59Z",
        "credentialSubject": {
            "id": provider_did(app, provider),
            "type": ["EndorsementSubject"],
            "endorsementComment": comment,
        },
    }
    key_row, key_pair = active_key(app, session, qa_body)
    signed = sign_credential(
        unsigned,
        key_pair,
        created=app.now(),
        controller=qa_did,
        verification_method=f"{qa_did}#{key_row.fragment}",
    )
    row = Accreditation(
        id=accreditation_id,
        qa_body_id=qa_body.id,
        provider_id=provider.id,
        framework=framework,
        scope=scope.strip(),
        valid_from=valid_from,
        valid_until=valid_until,
        report_url=report_url or None,
        document=json.dumps(signed, ensure_ascii=False, indent=2),
        created_at=app.now(),
    )
    session.add(row)
    session.flush()
    verdicts.changed(session, [provider.id])  # its registry entry changed (ADR 0022)
    audit.log(session, qa_body.id, staff, "accreditation.granted", row.id, _audit_data(row))
    return row


def _audit_data(row: Accreditation) -> dict[str, Any]:
    return {
        "provider_id": row.provider_id,
        "framework": row.framework,
        "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat(),
        "document_sha256": audit.digest(row.document),
    }


def granted_by(session: Session, staff: Staff, accreditation_id: str) -> Accreditation:
    """One of the accreditations the staff member's QA body granted."""
    require(staff, "revoke")
    row = session.get(Accreditation, accreditation_id)
    if row is None or row.qa_body_id != staff.provider_id:
        raise NotFound("accreditation")
    return row


def withdraw(app: App, session: Session, staff: Staff, accreditation_id: str) -> Accreditation:
    row = granted_by(session, staff, accreditation_id)
    if row.withdrawn_at is None:
        row.withdrawn_at = app.now()
        verdicts.changed(session, [row.provider_id])  # its registry entry changed (ADR 0022)
        data = {"provider_id": row.provider_id}
        audit.log(session, row.qa_body_id, staff, "accreditation.withdrawn", row.id, data)
    return row


def _entry(app: App, session: Session, provider: Provider) -> trust.RegistryEntry:
    rows = session.scalars(select(Accreditation).where(Accreditation.provider_id == provider.id))
    accreditations = []
    for row in rows:
        qa_body = session.get(Provider, row.qa_body_id)
        assert qa_body is not None
        accreditations.append(
            trust.Accreditation(
                qa_body=qa_body.legal_name,
                qa_body_did=provider_did(app, qa_body),
                framework=row.framework,
                scope=row.scope,
                valid_from=row.valid_from,
                valid_until=row.valid_until,
                report_url=row.report_url,
                withdrawn=row.withdrawn_at is not None,
                withdrawn_on=row.withdrawn_at.date() if row.withdrawn_at else None,
            )
        )
    return trust.RegistryEntry(
        did=provider_did(app, provider),
        name=provider.legal_name,
        registry="microcred",
        url=provider.website,
        country=provider.country_code,
        accreditations=tuple(accreditations),
    )


def current_accreditations(
    app: App, session: Session, provider: Provider, moment: datetime
) -> list[dict[str, Any]]:
    """A provider's accreditations valid at ``moment``, for certificates and pages."""
    entry = _entry(app, session, provider)
    return [
        {
            "qa_body": a.qa_body,
            "framework": trust.FRAMEWORKS.get(a.framework, a.framework),
            "valid_until": a.valid_until.isoformat(),
            "scope": a.scope,
        }
        for a in entry.accreditations
        if a.current(moment)
    ]


def local_entries(app: App, session: Session) -> list[trust.RegistryEntry]:
    providers = session.scalars(select(Provider).where(Provider.kind == "provider")).all()
    return [_entry(app, session, p) for p in providers]


class StaticRegistry:
    """Entries read from a registry document: ours, or the DCC ("dcc-legacy") format."""

    def __init__(self, name: str, entries: Iterable[trust.RegistryEntry]) -> None:
        self.name = name
        self.entries = {e.did: e for e in entries}

    def lookup(self, did: str) -> trust.RegistryEntry | None:
        return self.entries.get(did)


def parse_registry(name: str, data: Mapping[str, Any]) -> StaticRegistry:
    entries: list[trust.RegistryEntry] = []
    if isinstance(data.get("entries"), list):  # microcred's format
        for item in data["entries"]:
            accreditations = tuple(
                trust.Accreditation(
                    qa_body=a["qaBody"],
                    qa_body_did=a.get("qaBodyId", ""),
                    framework=a["framework"],
                    scope=a.get("scope", ""),
                    valid_from=date.fromisoformat(a["validFrom"]),
                    valid_until=date.fromisoformat(a["validUntil"]),
                    report_url=a.get("report"),
                )
                for a in item.get("accreditations", [])
            )
            entries.append(
                trust.RegistryEntry(
                    did=item["id"],
                    name=item["name"],
                    registry=name,
                    url=item.get("url"),
                    country=item.get("country"),
                    accreditations=accreditations,
                )
            )
    elif isinstance(data.get("registry"), Mapping):  # DCC legacy issuer registry
        for did, item in data["registry"].items():
            entries.append(
                trust.RegistryEntry(
                    did=did,
                    name=item.get("name", did),
                    registry=name,
                    url=item.get("url"),
                    country=item.get("location"),
                )
            )
    else:
        raise DomainError("trust.registry_invalid", f"{name} is not a registry document")
    return StaticRegistry(name, entries)


def load_registry(source: str, fetch: Any = None) -> StaticRegistry:
    """A registry from a file path or (through the safe fetcher) a URL."""
    if source.startswith(("https://", "http://")):
        if fetch is None:
            raise DomainError("trust.registry_unreachable", "no fetcher for a registry URL")
        raw = fetch(source)
    else:
        raw = Path(source).read_bytes()
    return parse_registry(source, parse_json(raw))


class RegistryTrust:
    """The verifier's trust checker: the platform's own registry, then the external ones."""

    def __init__(
        self, app: App | None, external: Iterable[StaticRegistry] = (), reads: Any = None
    ) -> None:
        self._app = app
        self._external = list(external)
        self._reads = reads  # services.verdicts.Reads: the providers whose entry it read
        # one checker serves one request or page: look each issuer up once within it
        self._found: dict[str, trust.RegistryEntry | None] = {}

    def lookup(self, did: str) -> trust.RegistryEntry | None:
        if did not in self._found:
            self._found[did] = self._lookup(did)
        return self._found[did]

    def _local_slug(self, did: str) -> str | None:
        """The provider slug of a did:web of this platform (``…:providers:SLUG``), else None."""
        assert self._app is not None
        prefix = did_web_from_url(self._app.settings.host, ["providers", "x"])[:-1]
        return did[len(prefix) :] or None if did.startswith(prefix) else None

    def _lookup(self, did: str) -> trust.RegistryEntry | None:
        slug = self._local_slug(did) if self._app is not None else None
        if self._app is not None and slug is not None:
            with transaction(self._app.sessions, readonly=True) as session:
                provider = session.scalar(
                    select(Provider).where(Provider.slug == slug, Provider.kind == "provider")
                )
                if provider is not None and provider_did(self._app, provider) == did:
                    if self._reads is not None:
                        self._reads.provider(provider)
                    local = _entry(self._app, session, provider)
                    # Hosting is not recognition: a provider is in the platform's registry
                    # once a QA body has accredited it (a lapsed accreditation still shows).
                    if local.accreditations:
                        return local
        for registry in self._external:
            entry = registry.lookup(did)
            if entry is not None:
                return entry
        return None

    def check(self, issuer_id: str, moment: datetime) -> TrustFinding:
        status = trust.assess(self.lookup(issuer_id), moment)
        details: dict[str, Any] = {}
        if status.entry is not None:
            details = {
                "registered_name": status.entry.name,
                "registry": status.entry.registry,
                "accreditations": [
                    {
                        "qa_body": a.qa_body,
                        "framework": a.framework,
                        "scope": a.scope,
                        "valid_from": a.valid_from.isoformat(),
                        "valid_until": a.valid_until.isoformat(),
                        "current": a.current(moment),
                        "report": a.report_url,
                    }
                    for a in status.entry.accreditations
                ],
            }
        return TrustFinding(status.outcome, status.code, status.message, details)


def platform_signer(app: App, session: Session) -> Provider:
    """The platform's own signing identity (created once), used to sign the registry."""
    platform = session.scalar(select(Provider).where(Provider.slug == PLATFORM_SLUG))
    if platform is not None:
        return platform
    try:
        with session.begin_nested():  # web processes starting together race to create it
            platform = Provider(
                slug=PLATFORM_SLUG,
                legal_name="microcred trust registry",
                country_code="EU",
                kind="platform",
                created_at=app.now(),
            )
            session.add(platform)
            session.flush()
            add_key(app, session, platform)
    except IntegrityError:  # another process made it first (and has committed it)
        platform = session.scalar(select(Provider).where(Provider.slug == PLATFORM_SLUG))
        assert platform is not None
    return platform


def published_registry(app: App, session: Session) -> dict[str, Any]:
    """The registry of providers with a current accreditation, signed (eddsa-jcs-2022)."""
    moment = app.now()
    entries = []
    for entry in local_entries(app, session):
        current = [a for a in entry.accreditations if a.current(moment)]
        if not current:
            continue
        entries.append(
            {
                "id": entry.did,
                "name": entry.name,
                "url": entry.url,
                "country": entry.country,
                "accreditations": [
                    {
                        "qaBody": a.qa_body,
                        "qaBodyId": a.qa_body_did,
                        "framework": a.framework,
                        "scope": a.scope,
                        "validFrom": a.valid_from.isoformat(),
                        "validUntil": a.valid_until.isoformat(),
                        "report": a.report_url,
                    }
                    for a in current
                ],
            }
        )
    document: dict[str, Any] = {
        "@context": ["https://w3id.org/security/data-integrity/v2"],
        "id": f"{app.settings.base_url}/registry.json",
        "name": "microcred registry of quality-assured providers",
        "updated": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entries": entries,
    }
    signer = platform_signer(app, session)
    did = provider_did(app, signer)
    key_row, key_pair = active_key(app, session, signer)
    document["proof"] = create_proof(
        document,
        key_pair,
        f"{did}#{key_row.fragment}",
        suite=EDDSA_JCS_2022,
        created=moment,
        loader=default_loader(),
    )
    return document


def dcc_registry(app: App, session: Session) -> dict[str, Any]:
    """The same registry in the DCC issuer-registry ("dcc-legacy") format."""
    moment = app.now()
    registry = {}
    for entry in local_entries(app, session):
        if any(a.current(moment) for a in entry.accreditations):
            registry[entry.did] = {
                "name": entry.name,
                "url": entry.url or "",
                "location": entry.country or "",
            }
    return {"meta": {"created": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}, "registry": registry}


def accreditations_by(session: Session, body: Provider) -> list[Accreditation]:
    """The accreditations a QA body granted, latest ending first."""
    return list(
        session.scalars(
            select(Accreditation)
            .where(Accreditation.qa_body_id == body.id)
            .order_by(Accreditation.valid_until.desc())
        ).all()
    )


def accreditation_document(session: Session, accreditation_id: str) -> str:
    """The signed accreditation credential as published."""
    row = session.get(Accreditation, accreditation_id)
    if row is None:
        raise NotFound("accreditation")
    return row.document


def prepare_platform_signer(app: App) -> None:
    """The registry's signing identity, created (in its own transaction) if missing."""
    with transaction(app.sessions) as session:
        platform_signer(app, session)
