"""Europass export: a definition or an issued credential as ELM 3 JSON-LD (``domain.europass``),
read in the caller's transaction. ADR 0028, docs/europass.md."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from microcred.db.tables import Definition, Provider, Staff
from microcred.domain import europass
from microcred.domain.errors import DomainError, NotFound
from microcred.i18n import _
from microcred.render.images import badge_png
from microcred.services import definitions, issuing, providers
from microcred.services.app import App
from microcred.services.keys import provider_did

PUBLIC_STATES = ("published", "retired")  # credentials were issued under both


class ErasedError(DomainError):
    """The credential's document was erased at the learner's request (410)."""

    def __init__(self) -> None:
        super().__init__("credential.erased", _("erased at the learner's request"))


def achievement_id(app: App, provider: Provider, row: Definition) -> str:
    """The definition's id in credentials (as ``issuing.signing_plan`` names the achievement)."""
    return (
        f"{app.settings.base_url}/providers/{provider.slug}/definitions/{row.family}/v{row.version}"
    )


def credential_document(session: Session, credential_id: str) -> dict[str, Any]:
    """The issued credential as an unsigned ELM ``EuropeanDigitalCredential``: public, as the
    signed credential is. NotFound; :class:`ErasedError`; ``NotExportableError`` for one issued
    through the W3C VC API (any subject, no definition behind it)."""
    row = issuing.credential_by_id(session, credential_id)
    if row is None:
        raise NotFound("credential")
    if not row.document:
        raise ErasedError
    definition = definitions.by_id(session, row.definition_id)
    if definition is None or definition.state in definitions.HIDDEN_STATES:
        raise europass.NotExportableError(
            _(
                "this credential was issued through the VC API, not from a micro-credential "
                "definition: it has no ELM form"
            )
        )
    document = json.loads(row.document)
    return europass.credential_document(
        document, data=definitions.data_of(definition), image_png=badge_png(document)
    )


def definition_document(
    app: App, session: Session, definition_id: int, staff: Staff | None
) -> dict[str, Any]:
    """The definition as an ELM ``LearningOpportunity``: public once published (or retired); a
    draft only for its provider's staff. NotFound otherwise (a draft's existence is not told)."""
    row = definitions.by_id(session, definition_id)
    if row is None or row.state in definitions.HIDDEN_STATES:
        raise NotFound("definition")
    if row.state not in PUBLIC_STATES and (staff is None or staff.provider_id != row.provider_id):
        raise NotFound("definition")
    provider = providers.provider_by_id(session, row.provider_id)
    if provider is None:
        raise NotFound("definition")
    data = definitions.data_of(row)
    organisation = europass.Organisation(  # as issuing.signing_plan states the issuer
        did=provider_did(app, provider),
        name=data.awarding_body or provider.legal_name,
        country_code=data.country_code or provider.country_code,
        region=data.region or provider.region,
        website=provider.website,
    )
    return europass.definition_document(
        data, spec_id=achievement_id(app, provider, row), organisation=organisation
    )
