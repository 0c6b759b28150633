"""The public catalogue: published micro-credentials searched and filtered across providers
(issue 14, migration 0018).

Each family's published version has one ``catalogue_entries`` row, refreshed in the transaction
that publishes it (:func:`refresh_family`) and when a pathway is created (:func:`refresh_pathway`);
:func:`refresh_all` rebuilds every entry (at start, when the counts disagree). Full text is the
database's own: SQLite FTS5 (``catalogue_fts``, kept in step by triggers) or PostgreSQL's
generated ``tsv`` column with a GIN index; the words of a query must all occur (prefix match on
the last one). Accreditation is read at query time: an accreditation's first and last day then
show at once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import (
    Accreditation,
    CatalogueEntry,
    CataloguePathway,
    CatalogueSkill,
    Definition,
    Pathway,
    Provider,
)
from microcred.domain import stacking
from microcred.domain.catalog import DefinitionData
from microcred.domain.errors import DomainError
from microcred.domain.text import fold
from microcred.i18n import _
from microcred.services.app import App

log = logging.getLogger("microcred.catalogue")
PAGE_SIZE = 20
MAX_PAGE = 500
_WORD = re.compile(r"\w+", re.UNICODE)
PARTICIPATIONS = ("online", "onsite", "blended")


@dataclass(frozen=True, slots=True)
class Query:
    """What a visitor asks the catalogue; every part optional. Ranges are inclusive."""

    text: str = ""
    eqf_min: int | None = None
    eqf_max: int | None = None
    ects_min: float | None = None
    ects_max: float | None = None
    participation: tuple[str, ...] = ()
    language: str = ""
    assessment: str = ""  # words the type of assessment contains
    provider: str = ""  # a provider's slug
    accredited: bool = False  # by a QA body, today
    framework: str = ""  # accredited under this framework (implies accredited)
    skill: str = ""  # an ESCO skill or occupation URI
    pathway: int | None = None  # stacks into this pathway
    price_max: float | None = None
    starts_from: date | None = None
    page: int = 1

    def __post_init__(self) -> None:
        for name, low, high in (
            ("eqf_min", 1, 8),
            ("eqf_max", 1, 8),
            ("ects_min", 0, 180),
            ("ects_max", 0, 180),
            ("price_max", 0, 1_000_000),
            ("pathway", 1, 2**31 - 1),
        ):
            bound = getattr(self, name)
            if bound is not None and not low <= bound <= high:
                raise DomainError(
                    "catalogue.invalid",
                    _("%(name)s must be between %(low)s and %(high)s")
                    % {"name": name, "low": low, "high": high},
                    name,
                )
        if not 1 <= self.page <= MAX_PAGE:
            raise DomainError(
                "catalogue.invalid", _("page must be 1 to %(most)s") % {"most": MAX_PAGE}, "page"
            )
        unknown = set(self.participation) - set(PARTICIPATIONS)
        if unknown:
            raise DomainError(
                "catalogue.invalid",
                _("participation is one of: %(values)s") % {"values": ", ".join(PARTICIPATIONS)},
                "participation",
            )


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    title: str
    provider_name: str
    provider_slug: str
    path: str  # its public page
    eqf: int | None
    ects: float | None
    hours: int | None
    participation: str
    language: str
    assessment: str
    price: float | None
    currency: str | None
    next_start: date | None
    accredited: bool


@dataclass(frozen=True, slots=True)
class Results:
    query: Query
    hits: list[Hit]
    total: int
    pages: int
    facets: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def search(app: App, query: Query, *, facets: bool = True) -> Results:
    """One page of the entries that match: with words, by relevance on PostgreSQL and by title
    on SQLite; without, newest first. ``facets``: also the choices the filters offer."""
    with transaction(app.sessions, readonly=True) as session:
        dialect = session.get_bind().dialect.name
        today = app.now().date()
        accredited = _accredited(today, query.framework)
        conditions = _conditions(query, dialect, accredited)
        total = session.scalar(select(func.count()).select_from(CatalogueEntry).where(*conditions))
        statement = (
            select(
                CatalogueEntry, Provider.legal_name, Provider.slug, Definition.version, accredited
            )
            .join(Provider, Provider.id == CatalogueEntry.provider_id)
            .join(Definition, Definition.id == CatalogueEntry.id)
            .where(*conditions)
        )
        statement = _ordered(statement, query, dialect)
        rows = session.execute(
            statement.limit(PAGE_SIZE).offset((query.page - 1) * PAGE_SIZE)
        ).all()
        hits = [
            Hit(
                id=entry.id,
                title=entry.title,
                provider_name=name,
                provider_slug=slug,
                path=f"/providers/{slug}/definitions/{entry.family}/v{version}",
                eqf=entry.eqf,
                ects=entry.ects,
                hours=entry.hours,
                participation=entry.participation,
                language=entry.language,
                assessment=entry.assessment,
                price=entry.price,
                currency=entry.currency,
                next_start=entry.next_start,
                accredited=bool(is_accredited),
            )
            for entry, name, slug, version, is_accredited in rows
        ]
        return Results(
            query=query,
            hits=hits,
            total=int(total or 0),
            pages=max(1, -(-int(total or 0) // PAGE_SIZE)),
            facets=_facets(session) if facets else {},
        )


def _accredited(today: date, framework: str) -> Any:
    conditions = [
        Accreditation.provider_id == CatalogueEntry.provider_id,
        Accreditation.withdrawn_at.is_(None),
        Accreditation.valid_from <= today,
        Accreditation.valid_until >= today,
    ]
    if framework:
        conditions.append(Accreditation.framework == framework)
    return exists().where(*conditions)


def _conditions(query: Query, dialect: str, accredited: Any) -> list[Any]:
    entry = CatalogueEntry
    found: list[Any] = []
    words = _WORD.findall(fold(query.text))[:12]
    if words:
        if dialect == "postgresql":
            found.append(
                text("catalogue_entries.tsv @@ to_tsquery('simple', :terms)").bindparams(
                    terms=_pg_terms(words)
                )
            )
        else:
            match = " ".join(f'"{w}"' for w in words[:-1]) + f' "{words[-1]}"*'
            found.append(
                text(
                    "catalogue_entries.id IN "
                    "(SELECT rowid FROM catalogue_fts WHERE catalogue_fts MATCH :match)"
                ).bindparams(match=match.strip())
            )
    if query.eqf_min is not None:
        found.append(entry.eqf >= query.eqf_min)
    if query.eqf_max is not None:
        found.append(entry.eqf <= query.eqf_max)
    if query.ects_min is not None:
        found.append(entry.ects >= query.ects_min)
    if query.ects_max is not None:
        found.append(entry.ects <= query.ects_max)
    if query.participation:
        found.append(entry.participation.in_(query.participation))
    if query.language:
        found.append(
            or_(entry.language == query.language, entry.language.like(query.language + "-%"))
        )
    if query.assessment:
        found.append(entry.assessment.ilike(f"%{_escape_like(query.assessment)}%", escape="\\"))
    if query.provider:
        found.append(
            entry.provider_id.in_(select(Provider.id).where(Provider.slug == query.provider))
        )
    if query.accredited or query.framework:
        found.append(accredited)
    if query.skill:
        found.append(
            exists().where(CatalogueSkill.entry_id == entry.id, CatalogueSkill.uri == query.skill)
        )
    if query.pathway is not None:
        found.append(
            exists().where(
                CataloguePathway.entry_id == entry.id, CataloguePathway.pathway_id == query.pathway
            )
        )
    if query.price_max is not None:
        found.append(and_(entry.price.is_not(None), entry.price <= query.price_max))
    if query.starts_from is not None:
        found.append(entry.next_start >= query.starts_from)
    return found


def _ordered(statement: Select[Any], query: Query, dialect: str) -> Select[Any]:
    if _WORD.search(query.text):
        if dialect == "postgresql":
            terms = _pg_terms(_WORD.findall(fold(query.text))[:12])
            rank = text("ts_rank(catalogue_entries.tsv, to_tsquery('simple', :rank_terms)) DESC")
            return statement.order_by(rank.bindparams(rank_terms=terms), CatalogueEntry.id)
        return statement.order_by(CatalogueEntry.title, CatalogueEntry.id)
    return statement.order_by(CatalogueEntry.published_at.desc(), CatalogueEntry.id.desc())


def _skill_label(uri: str, label: str) -> str:
    """An ESCO link as a visitor reads it: an outcome's words, else its kind and code."""
    if label:
        return label
    code = uri.rsplit("/", 1)[-1][:8]
    if "/occupation/" in uri:
        return _("ESCO occupation %(code)s") % {"code": code}
    return _("ESCO skill %(code)s") % {"code": code}


def _pg_terms(words: list[str]) -> str:
    """All the words, the last one as a prefix (``first & ai:*``)."""
    return " & ".join([*words[:-1], words[-1] + ":*"])


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _facets(session: Session) -> dict[str, list[tuple[str, str]]]:
    """The choices the filters offer: languages, providers, accreditation frameworks, pathways."""
    languages = session.scalars(select(CatalogueEntry.language).distinct()).all()
    providers = session.execute(
        select(Provider.slug, Provider.legal_name)
        .where(Provider.id.in_(select(CatalogueEntry.provider_id)))
        .order_by(Provider.legal_name)
    ).all()
    frameworks = session.scalars(select(Accreditation.framework).distinct()).all()
    pathways = session.execute(
        select(Pathway.id, Pathway.name)
        .where(Pathway.id.in_(select(CataloguePathway.pathway_id)))
        .order_by(Pathway.name)
    ).all()
    skills = session.execute(
        select(CatalogueSkill.uri, func.max(CatalogueSkill.label), func.count())
        .group_by(CatalogueSkill.uri)
        .order_by(func.count().desc(), CatalogueSkill.uri)
        .limit(50)
    ).all()
    return {
        "skill": [
            (str(uri), _skill_label(str(uri), str(label or ""))) for uri, label, _n in skills
        ],
        "language": [(str(v), str(v)) for v in sorted(languages)],
        "provider": [(str(s), str(n)) for s, n in providers],
        "framework": [(str(f), str(f)) for f in sorted(frameworks)],
        "pathway": [(str(i), str(n)) for i, n in pathways],
    }


# --- the index -------------------------------------------------------------------------------


def refresh_family(app: App, session: Session, family: str) -> None:
    """Make a family's entry what its published version says (none when none is published),
    in the caller's transaction."""
    session.execute(delete(CatalogueEntry).where(CatalogueEntry.family == family))
    row = session.scalar(
        select(Definition).where(Definition.family == family, Definition.state == "published")
    )
    if row is None:
        return
    _insert(app, session, row)


def refresh_pathway(app: App, session: Session, pathway: Pathway) -> None:
    """After a pathway is created: the entries its rules name stack into it."""
    for entry_id in _entries_named(app, session, pathway.rules):
        session.merge(CataloguePathway(entry_id=entry_id, pathway_id=pathway.id))


def refresh_all(app: App) -> int:
    """Rebuild every entry (a migration's first start, a repair); the number of entries."""
    with transaction(app.sessions) as session:
        session.execute(delete(CataloguePathway))
        session.execute(delete(CatalogueSkill))
        session.execute(delete(CatalogueEntry))
        rows = session.scalars(select(Definition).where(Definition.state == "published")).all()
        for row in rows:
            _insert(app, session, row)
        for pathway in session.scalars(select(Pathway)):
            refresh_pathway(app, session, pathway)
        count = len(rows)
    if app.engine.dialect.name == "postgresql":  # fresh statistics after a large load
        with transaction(app.sessions) as session:
            session.execute(text("ANALYZE catalogue_entries, catalogue_skills, catalogue_pathways"))
    return count


def refresh_if_behind(app: App) -> None:
    """At start: rebuild when the entries and the published definitions disagree in number."""
    with transaction(app.sessions, readonly=True) as session:
        entries = session.scalar(select(func.count()).select_from(CatalogueEntry))
        published = session.scalar(
            select(func.count()).select_from(Definition).where(Definition.state == "published")
        )
    if entries != published:
        try:
            refresh_all(app)
        except IntegrityError:  # another process (another host) rebuilt them at the same time
            log.info("the catalogue was rebuilt by another process")


def _insert(app: App, session: Session, row: Definition) -> None:
    data = DefinitionData.model_validate(row.data)
    provider = session.get(Provider, row.provider_id)
    assert provider is not None
    skills = {o.esco_uri: o.statement for o in data.learning_outcomes if o.esco_uri}
    skills.update({uri: "" for uri in data.occupations if uri not in skills})
    session.execute(
        insert(CatalogueEntry).values(
            id=row.id,
            provider_id=row.provider_id,
            family=row.family,
            title=row.title,
            title_words=fold(row.title),
            body=fold(_body(data, provider)),
            eqf=_eqf(data),
            ects=data.workload_ects,
            hours=data.workload_hours,
            language=data.language,
            participation=data.participation,
            assessment=data.assessment_type[:300],
            price=data.price_amount,
            currency=data.price_currency if data.price_amount is not None else None,
            next_start=data.next_start,
            published_at=row.published_at or app.now(),
        )
    )
    for uri, label in sorted(skills.items()):
        session.execute(
            insert(CatalogueSkill).values(entry_id=row.id, uri=uri[:200], label=label[:300])
        )
    counted = counted_by(app, provider.slug, row)
    for pathway in session.scalars(select(Pathway)):
        if counted & stacking.all_achievements(pathway.rules):
            session.execute(insert(CataloguePathway).values(entry_id=row.id, pathway_id=pathway.id))


def _body(data: DefinitionData, provider: Provider) -> str:
    parts = [data.description, provider.legal_name, data.field_of_study, data.assessment_type]
    for outcome in data.learning_outcomes:
        parts += [outcome.statement, outcome.criterion]
    return "\n".join(p for p in parts if p)


def _eqf(data: DefinitionData) -> int | None:
    if data.level is None or data.level.framework != "EQF":
        return None
    try:
        return int(data.level.value)
    except ValueError:
        return None


def achievement_target(app: App, url: str) -> tuple[str, int | None] | None:
    """The family and version (None: the family itself) this platform's achievement identifier
    names; None for any other identifier."""
    prefix = f"{app.settings.base_url}/providers/"
    if not url.startswith(prefix):
        return None
    parts = url[len(prefix) :].split("/")
    if len(parts) == 3 and parts[1] == "definitions":
        return parts[2], None
    if len(parts) == 4 and parts[1] == "definitions" and parts[3][1:].isdigit():
        return parts[2], int(parts[3][1:])
    return None


def counted_by(app: App, slug: str, row: Definition) -> set[str]:
    """The identifiers a rule may name to count this version's credentials: its family's and its
    own (a credential carries both; a rule naming another version does not count it)."""
    family = f"{app.settings.base_url}/providers/{slug}/definitions/{row.family}"
    return {family, f"{family}/v{row.version}"}


def _entries_named(app: App, session: Session, rule: Any) -> set[int]:
    """The entries whose credentials count for ``rule``: a family it names, or the very version
    it names (a credential carries its version's identifier and its family's)."""
    families: set[str] = set()
    versions: set[tuple[str, int]] = set()
    for url in stacking.all_achievements(rule):
        target = achievement_target(app, url)
        if target is not None and target[1] is None:
            families.add(target[0])
        elif target is not None and target[1] is not None:
            versions.add((target[0], target[1]))
    if not families and not versions:
        return set()
    rows = session.execute(
        select(CatalogueEntry.id, CatalogueEntry.family, Definition.version)
        .join(Definition, Definition.id == CatalogueEntry.id)
        .where(CatalogueEntry.family.in_(families | {f for f, _v in versions}))
    )
    return {i for i, family, version in rows if family in families or (family, version) in versions}
