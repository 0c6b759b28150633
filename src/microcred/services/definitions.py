"""Micro-credential definitions: drafts, publication, versions."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microcred.db.tables import Definition, Provider, Staff
from microcred.domain.catalog import DefinitionData, parse_definition, publication_problems
from microcred.domain.errors import DomainError, NotFound
from microcred.i18n import N_, _
from microcred.services import audit, search
from microcred.services.app import App


class PublicationBlockedError(DomainError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(
            "definition.incomplete",
            _("cannot publish: %(problems)s")
            % {"problems": "; ".join(f"{f}: {m}" for f, m in problems)},
        )
        self.problems = problems


# A definition's states (``Definition.state``), their words marked for translation: shown as
# ``_(state)`` (a template: ``{{ _(row.state) }}``). ``vc_api``: HIDDEN_STATES, never shown.
STATES = (N_("draft"), N_("published"), N_("retired"))


def _defaults(provider: Provider, data: dict[str, Any]) -> dict[str, Any]:
    merged = {"country_code": provider.country_code, "awarding_body": provider.legal_name}
    if provider.region:
        merged["region"] = provider.region
    merged.update({k: v for k, v in data.items() if v not in (None, "")})
    return merged


def create(app: App, session: Session, provider: Provider, data: dict[str, Any]) -> Definition:
    parsed = parse_definition(_defaults(provider, data))
    row = Definition(
        provider_id=provider.id,
        family=str(uuid.uuid4()),
        version=1,
        state="draft",
        title=parsed.title or "Untitled",
        data=parsed.model_dump(mode="json"),
        created_at=app.now(),
    )
    session.add(row)
    session.flush()
    return row


# The hidden definition that VC API credentials hang under (services.vc_api): never listed,
# edited, published or versioned.
HIDDEN_STATES = ("vc_api",)


def get(session: Session, provider: Provider, definition_id: int) -> Definition:
    row = session.get(Definition, definition_id)
    if row is None or row.provider_id != provider.id or row.state in HIDDEN_STATES:
        raise NotFound("definition")
    return row


def data_of(row: Definition) -> DefinitionData:
    return DefinitionData.model_validate(row.data)


def update(
    session: Session, provider: Provider, row: Definition, data: dict[str, Any]
) -> Definition:
    if row.state != "draft":
        raise DomainError(
            "definition.not_draft",
            _("a published definition is changed by making a new version"),
        )
    data = dict(data)
    for kept in ("image", "translations"):  # set on pages of their own: the form leaves them
        if kept not in data and kept in row.data:
            data[kept] = row.data[kept]
    outcome_ids = {str(o.get("id")) for o in data.get("learning_outcomes") or [] if o.get("id")}
    data["translations"] = {  # outcomes removed since: their translations go with them
        tag: {**t, "outcomes": {k: v for k, v in (t.get("outcomes") or {}).items()
                                if k in outcome_ids}}
        for tag, t in (data.get("translations") or {}).items()
    }  # fmt: skip
    parsed = parse_definition(_defaults(provider, data))
    row.data = parsed.model_dump(mode="json")
    row.title = parsed.title or "Untitled"
    session.flush()
    return row


def set_translations(
    session: Session, provider: Provider, row: Definition, translations: dict[str, Any]
) -> Definition:
    """A draft's title, description and outcomes in other languages (all of them at once)."""
    return update(session, provider, row, {**row.data, "translations": translations})


def publish(app: App, session: Session, row: Definition, by: Staff | None = None) -> Definition:
    if row.state != "draft":
        raise DomainError("definition.not_draft", _("only a draft can be published"))
    problems = publication_problems(data_of(row))
    if problems:
        raise PublicationBlockedError(problems)
    for older in session.scalars(
        select(Definition).where(Definition.family == row.family, Definition.state == "published")
    ):
        older.state = "retired"
    row.state = "published"
    row.published_at = app.now()
    session.flush()
    search.refresh_family(app, session, row.family)  # the catalogue shows it from the commit on
    audit.log(session, row.provider_id, by, "definition.published", row.id, _version(row))
    return row


def _version(row: Definition) -> dict[str, Any]:
    return {"family": row.family, "version": row.version}


def new_version(app: App, session: Session, row: Definition, by: Staff | None = None) -> Definition:
    """A draft copy with the next version number; issued credentials keep their version."""
    latest = session.scalar(
        select(func.max(Definition.version)).where(Definition.family == row.family)
    )
    draft = session.scalar(
        select(Definition).where(Definition.family == row.family, Definition.state == "draft")
    )
    if draft is not None:
        return draft
    copy = Definition(
        provider_id=row.provider_id,
        family=row.family,
        version=(latest or 0) + 1,
        state="draft",
        title=row.title,
        data=dict(row.data),
        created_at=app.now(),
    )
    session.add(copy)
    session.flush()
    audit.log(session, row.provider_id, by, "definition.versioned", copy.id, _version(copy))
    return copy


def list_for(session: Session, provider: Provider) -> list[Definition]:
    return list(
        session.scalars(
            select(Definition)
            .where(Definition.provider_id == provider.id, Definition.state.not_in(HIDDEN_STATES))
            .order_by(Definition.family, Definition.version.desc())
        )
    )


def by_id(session: Session, definition_id: int) -> Definition | None:
    """A definition by id, whoever's it is (to show what a record refers to)."""
    return session.get(Definition, definition_id)


def published(session: Session) -> list[Definition]:
    """Every published definition on the platform."""
    return list(session.scalars(select(Definition).where(Definition.state == "published")).all())


def titles_for(session: Session, provider_id: int) -> dict[int, str]:
    """The provider's definitions' titles, by id."""
    return {
        d.id: d.title
        for d in session.scalars(select(Definition).where(Definition.provider_id == provider_id))
    }
