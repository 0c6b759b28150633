"""A provider's look: its logo and colour (on certificates and its public pages) and the artwork
of each micro-credential's badge. Uploads are made safe first (``render.artwork``) and kept once,
by the SHA-256 of the clean bytes, at ``/artwork/DIGEST``: an address that never changes what it
shows, so credentials can cite it."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from microcred.db.tables import Artwork, Credential, Definition, Provider, Staff
from microcred.domain.errors import DomainError, NotFound
from microcred.i18n import _
from microcred.render import artwork as safe
from microcred.render.certificate import Branding
from microcred.services import audit, definitions
from microcred.services.app import App
from microcred.services.providers import require

_DIGEST_LENGTH = 64


def _keep(app: App, session: Session, provider: Provider, upload: bytes, field: str) -> Artwork:
    try:
        clean = safe.sanitise(upload)
    except safe.ArtworkError as exc:
        raise DomainError("artwork.invalid", str(exc), field) from exc
    digest = hashlib.sha256(clean.data).hexdigest()
    kept = session.get(Artwork, digest)
    if kept is None:
        kept = Artwork(
            digest=digest,
            provider_id=provider.id,
            media_type=clean.media_type,
            data=clean.data,
            created_at=app.now(),
        )
        session.add(kept)
        session.flush()
    return kept


def set_branding(
    app: App,
    session: Session,
    staff: Staff,
    *,
    colour: str,
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> Provider:
    """The owner sets the provider's colour and logo (a new upload replaces the old one)."""
    require(staff, "manage")
    provider = session.get(Provider, staff.provider_id)
    assert provider is not None
    chosen = safe.colour(colour) if colour.strip() else None
    if colour.strip() and chosen is None:
        raise DomainError(
            "branding.colour", _("a colour is written #rrggbb, like #1f5fbf"), "colour"
        )
    provider.brand_colour = chosen
    if logo:
        provider.logo = _keep(app, session, provider, logo, "logo").digest
    elif remove_logo:
        provider.logo = None
    audit.log(
        session, provider.id, staff, "provider.branded", provider.id,
        {"logo": provider.logo, "colour": provider.brand_colour},
    )  # fmt: skip
    return provider


def set_badge_image(
    app: App, session: Session, staff: Staff, definition_id: int, upload: bytes | None
) -> Definition:
    """A draft's badge artwork (None: back to the generated badge). Published versions keep
    theirs: credentials cite it; a new version may have another."""
    require(staff, "define")
    provider = session.get(Provider, staff.provider_id)
    assert provider is not None
    row = definitions.get(session, provider, definition_id)
    if row.state != "draft":
        raise DomainError(
            "definition.not_draft",
            _("only a draft's badge can change: edit the micro-credential to make a new version"),
            "image",
        )
    data = dict(row.data)
    data["image"] = _keep(app, session, provider, upload, "image").digest if upload else ""
    row.data = data
    audit.log(session, provider.id, staff, "definition.image", row.id, {"image": data["image"]})
    return row


def artwork(session: Session, digest: str) -> Artwork:
    """Public artwork by its digest."""
    found = (
        session.get(Artwork, digest)
        if len(digest) == _DIGEST_LENGTH and all(c in "0123456789abcdef" for c in digest)
        else None
    )
    if found is None:
        raise NotFound("artwork")
    return found


def artwork_url(app: App, digest: str) -> str:
    return f"{app.settings.base_url}/artwork/{digest}"


def branding_of(session: Session, provider: Provider) -> Branding:
    """What the provider's certificates show of it."""
    logo = session.get(Artwork, provider.logo) if provider.logo else None
    return Branding(
        name=provider.legal_name,
        logo=logo.data if logo is not None else None,
        primary_colour=provider.brand_colour,
    )


def logo_digests(session: Session, provider_ids: list[int]) -> dict[int, str]:
    """The logos of several providers (public pages)."""
    rows = session.execute(
        select(Provider.id, Provider.logo).where(
            Provider.id.in_(provider_ids), Provider.logo.is_not(None)
        )
    )
    return {pid: digest for pid, digest in rows if digest}


def badge_artwork(app: App, session: Session, document: dict[str, object]) -> Artwork | None:
    """The uploaded artwork a credential's achievement cites, if it is ours."""
    subject = document.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    image = achievement.get("image") if isinstance(achievement, dict) else None
    url = image.get("id") if isinstance(image, dict) else image
    prefix = f"{app.settings.base_url}/artwork/"
    if not isinstance(url, str) or not url.startswith(prefix):
        return None
    try:
        return artwork(session, url[len(prefix) :])
    except NotFound:
        return None


def certificate_branding(session: Session, credential_id: str | None) -> Branding | None:
    """The issuing provider's branding, for a credential this platform issued."""
    credential = session.get(Credential, credential_id) if credential_id else None
    provider = session.get(Provider, credential.provider_id) if credential is not None else None
    return branding_of(session, provider) if provider is not None else None
