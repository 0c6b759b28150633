"""The public side of definitions, providers and pathways: the pages behind the identifiers that
credentials cite (issue 14). Each use case reads in a read-only transaction of its own and hands
out plain values, so pages render after it closed.

- ``/providers/{slug}/definitions/{family}/v{version}``: a published (or since retired) version,
  as a page or as the OB 3.0 ``Achievement`` every credential of that version embeds.
- ``/providers/{slug}/definitions/{family}``: the family (pathway rules name it), the latest
  published version.
- ``/providers/{slug}``: the provider's profile; ``/providers/{slug}/pathways/{id}``: a pathway
  with its rules in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import Definition, Pathway, Provider
from microcred.domain import stacking
from microcred.domain.award import achievement_elements
from microcred.domain.catalog import DefinitionData
from microcred.domain.errors import DomainError, NotFound
from microcred.domain.trust import FRAMEWORKS
from microcred.i18n import _
from microcred.services import definitions, search, trust
from microcred.services.app import App
from microcred.services.issuing import achievement_of
from microcred.services.keys import provider_did, provider_did_prefix
from microcred.services.providers import get_provider
from microcred.vc.loader import OB_V3P0_303 as OB3_CONTEXT
from microcred.vc.loader import VC_V2 as VC2_CONTEXT

PUBLIC_STATES = ("published", "retired")  # a retired version's credentials still cite it


def family_path(slug: str, family: str) -> str:
    return f"/providers/{slug}/definitions/{family}"


def version_path(slug: str, family: str, version: int) -> str:
    return f"{family_path(slug, family)}/v{version}"


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    path: str


@dataclass(frozen=True, slots=True)
class Version:
    number: int
    state: str
    path: str


@dataclass(frozen=True, slots=True)
class DefinitionPage:
    id: int
    provider_name: str
    provider_path: str
    title: str
    data: DefinitionData
    version: int
    state: str  # published | retired
    path: str
    achievement: dict[str, Any]  # as credentials of this version embed it, with its @context
    elements: dict[str, str]  # the Annex I elements a definition states, as text
    versions: list[Version]
    latest: Version | None  # the published version, when this is not it
    stacks_into: list[Link]  # the platform's pathways that name this family
    accreditations: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ProviderPage:
    slug: str
    kind: str  # provider | qa_body | platform
    name: str
    country_code: str
    region: str
    website: str
    contact_email: str
    domain: str  # the domain it proved when it applied (services/onboarding.py), else empty
    domain_verified: bool
    did: str
    accreditations: list[dict[str, Any]]
    granted: list[dict[str, Any]]  # a QA body's accreditations of providers, current ones
    definitions: list[Link]  # the published version of each family
    pathways: list[Link]
    profile: dict[str, Any]  # the OB 3.0 Profile, as JSON-LD


@dataclass(frozen=True, slots=True)
class PathwayPage:
    name: str
    provider_name: str
    provider_path: str
    award: Link | None  # the macro-credential it awards
    rules: list[stacking.RuleLine]
    award_mode: str


def definition_page(
    app: App, slug: str, family: str, version: int, language: str | None = None
) -> DefinitionPage:
    """A public version of a definition (in one of its other languages: ``language``); NotFound
    for drafts, for what does not exist and for a language it is not given in."""
    with transaction(app.sessions, readonly=True) as session:
        provider = _provider(session, slug)
        rows = _family(session, provider, family)
        row = next((r for r in rows if r.version == version), None)
        if row is None:
            raise NotFound("definition")
        data = definitions.data_of(row)
        if language is not None and language not in data.translations:
            raise NotFound("definition")
        achievement = achievement_of(app, provider, row, language)
        data = data.in_language(language) if language else data
        versions = [
            Version(r.version, r.state, version_path(slug, family, r.version)) for r in rows
        ]
        latest = next((v for v in versions if v.state == "published"), None)
        return DefinitionPage(
            id=row.id,
            provider_name=provider.legal_name,
            provider_path=f"/providers/{slug}",
            title=data.title,
            data=data,
            version=row.version,
            state=row.state,
            path=version_path(slug, family, row.version),
            achievement={"@context": [VC2_CONTEXT, OB3_CONTEXT], **achievement},
            elements=_elements(provider, data, achievement),
            versions=versions,
            latest=latest if latest is not None and latest.number != row.version else None,
            stacks_into=_pathways_naming(app, session, provider, row),
            accreditations=trust.current_accreditations(app, session, provider, app.now()),
        )


def _elements(
    provider: Provider, data: DefinitionData, achievement: dict[str, Any]
) -> dict[str, str]:
    country = data.country_code or provider.country_code
    region = data.region or provider.region
    return {
        "awarding_body": data.awarding_body or provider.legal_name,
        "country": country + (f", {region}" if region else ""),
        **achievement_elements(achievement),
    }


def latest_version_path(app: App, slug: str, family: str) -> str:
    """Where a family's identifier leads: its published version (else its latest public one)."""
    with transaction(app.sessions, readonly=True) as session:
        rows = _family(session, _provider(session, slug), family)
        chosen = next((r for r in rows if r.state == "published"), rows[0])
        return version_path(slug, family, chosen.version)


def provider_page(app: App, slug: str) -> ProviderPage:
    """A provider's profile, or a QA body's (with the accreditations it granted)."""
    with transaction(app.sessions, readonly=True) as session:
        provider = get_provider(session, slug)
        rows = session.scalars(
            select(Definition)
            .where(Definition.provider_id == provider.id, Definition.state == "published")
            .order_by(Definition.title)
        ).all()
        pathways = session.scalars(
            select(Pathway).where(Pathway.provider_id == provider.id).order_by(Pathway.name)
        ).all()
        did = provider_did(app, provider)
        profile: dict[str, Any] = {
            "@context": [VC2_CONTEXT, OB3_CONTEXT],
            "id": did,
            "type": ["Profile"],
            "name": provider.legal_name,
            **({"url": provider.website} if provider.website else {}),
            **({"email": provider.contact_email} if provider.contact_email else {}),
            "address": {
                "type": ["Address"],
                "addressCountryCode": provider.country_code,
                **({"addressRegion": provider.region} if provider.region else {}),
            },
        }
        return ProviderPage(
            slug=provider.slug,
            kind=provider.kind,
            name=provider.legal_name,
            country_code=provider.country_code,
            region=provider.region or "",
            website=provider.website or "",
            contact_email=provider.contact_email or "",
            domain=provider.domain or "",
            domain_verified=provider.domain_verified_at is not None,
            did=did,
            accreditations=trust.current_accreditations(app, session, provider, app.now()),
            granted=_granted(session, provider, app),
            definitions=[Link(r.title, version_path(slug, r.family, r.version)) for r in rows],
            pathways=[Link(p.name, f"/providers/{slug}/pathways/{p.id}") for p in pathways],
            profile=profile,
        )


def pathway_page(app: App, slug: str, pathway_id: int) -> PathwayPage:
    with transaction(app.sessions, readonly=True) as session:
        provider = _provider(session, slug)
        pathway = session.get(Pathway, pathway_id)
        if pathway is None or pathway.provider_id != provider.id:
            raise NotFound("pathway")
        awarded = session.get(Definition, pathway.definition_id)
        award = (
            Link(awarded.title, version_path(slug, awarded.family, awarded.version))
            if awarded is not None and awarded.state in PUBLIC_STATES
            else None
        )
        names = achievement_names(app, session, stacking.all_achievements(pathway.rules))
        return PathwayPage(
            name=pathway.name,
            provider_name=provider.legal_name,
            provider_path=f"/providers/{slug}",
            award=award,
            rules=stacking.rule_lines(pathway.rules, names),
            award_mode=pathway.award_mode,
        )


def in_language(
    app: App, session: Session, document: Mapping[str, Any], language: str
) -> dict[str, Any]:
    """A credential's achievement as its issuer gives it in ``language``: ``name``,
    ``description`` and ``outcomes`` (statements by result description id). Empty unless the
    credential itself names that language's version (``related``) and it is one of ours."""
    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    if not isinstance(achievement, Mapping) or achievement.get("inLanguage") == language:
        return {}
    named = {
        r.get("inLanguage")
        for r in achievement.get("related") or []
        if isinstance(r, Mapping) and isinstance(r.get("inLanguage"), str)
    }
    target = search.achievement_target(app, str(achievement.get("id", "")))
    if language not in named or target is None or target[1] is None:
        return {}
    family, version = target
    row = session.scalar(
        select(Definition).where(Definition.family == family, Definition.version == version)
    )
    if row is None or row.state not in ("published", "retired"):
        return {}
    translation = definitions.data_of(row).translations.get(language)
    if translation is None:
        return {}
    return {
        "name": translation.title,
        "description": translation.description,
        "outcomes": {k: v.statement for k, v in translation.outcomes.items()},
        "language": language,
    }


def platform_paths(app: App, document: Mapping[str, Any]) -> dict[str, str]:
    """The public pages of this platform a credential leads to: its achievement's
    (``achievement``) and its issuer's profile (``issuer``), where this platform publishes them."""
    found: dict[str, str] = {}
    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    achievement_id = achievement.get("id") if isinstance(achievement, Mapping) else None
    prefix = app.settings.base_url + "/providers/"
    if isinstance(achievement_id, str) and achievement_id.startswith(prefix):
        found["achievement"] = achievement_id[len(app.settings.base_url) :]
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    platform_did = provider_did_prefix(app)
    if isinstance(issuer_id, str) and issuer_id.startswith(platform_did):
        slug = issuer_id[len(platform_did) :]
        if slug and ":" not in slug and "#" not in slug:
            found["issuer"] = f"/providers/{slug}"
    return found


def achievement_names(app: App, session: Session, urls: set[str]) -> dict[str, str]:
    """The titles of the platform's definitions behind achievement identifiers (a family's or a
    version's URL), for rules and progress shown in words; other identifiers are left out."""
    families: dict[str, list[str]] = {}
    for url in urls:
        target = search.achievement_target(app, url)
        if target is not None:
            families.setdefault(target[0], []).append(url)
    if not families:
        return {}
    rows = session.scalars(
        select(Definition)
        .where(Definition.family.in_(families), Definition.state.in_(PUBLIC_STATES))
        .order_by(Definition.version.desc())
    ).all()
    titles: dict[str, str] = {}
    for row in rows:
        titles.setdefault(row.family, row.title)  # the newest public version's title
    return {
        url: titles[family]
        for family, found in families.items()
        if family in titles
        for url in found
    }


def _granted(session: Session, body: Provider, app: App) -> list[dict[str, Any]]:
    if body.kind != "qa_body":
        return []
    today = app.now().date()
    found = []
    for row in trust.accreditations_by(session, body):
        holder = session.get(Provider, row.provider_id)
        if (
            holder is None
            or row.withdrawn_at is not None
            or not row.valid_from <= today <= row.valid_until
        ):
            continue
        found.append(
            {
                "provider": Link(holder.legal_name, f"/providers/{holder.slug}"),
                "framework": FRAMEWORKS.get(row.framework, row.framework),
                "scope": row.scope,
                "valid_until": row.valid_until.isoformat(),
                "path": f"/accreditations/{row.id}",
            }
        )
    return found


def _provider(session: Session, slug: str) -> Provider:
    provider = get_provider(session, slug)
    if provider.kind != "provider":
        raise NotFound("provider")
    return provider


def _family(session: Session, provider: Provider, family: str) -> list[Definition]:
    """A family's public versions, newest first; NotFound when it has none."""
    rows = list(
        session.scalars(
            select(Definition)
            .where(
                Definition.provider_id == provider.id,
                Definition.family == family,
                Definition.state.in_(PUBLIC_STATES),
            )
            .order_by(Definition.version.desc())
        )
    )
    if not rows:
        raise NotFound("definition")
    return rows


def _pathways_naming(app: App, session: Session, provider: Provider, row: Definition) -> list[Link]:
    """Every pathway on the platform whose rules count this version's credentials: they name
    its family or this very version."""
    counted = search.counted_by(app, provider.slug, row)
    found = []
    for pathway in session.scalars(select(Pathway).order_by(Pathway.name)):
        if counted & stacking.all_achievements(pathway.rules):
            owner = session.get(Provider, pathway.provider_id)
            if owner is not None:
                found.append(Link(pathway.name, f"/providers/{owner.slug}/pathways/{pathway.id}"))
    return found


# --- comparing -------------------------------------------------------------------------------

MIN_COMPARED, MAX_COMPARED = 2, 4


@dataclass(frozen=True, slots=True)
class Compared:
    """One micro-credential in a comparison, with what the rows show of it."""

    id: int
    title: str
    path: str
    current: Link | None  # when this version is no longer offered: the one that is
    provider: Link
    data: DefinitionData
    elements: dict[str, str]
    workload: str  # normalised: ECTS, hours, the provider's conversion, US credit hours
    hours_per_ects: float | None
    skills: list[str]  # ESCO skill and occupation URIs
    outcomes: list[str]
    accreditations: list[dict[str, Any]]
    stacks_into: list[Link]


@dataclass(frozen=True, slots=True)
class Comparison:
    items: list[Compared]
    shared_skills: set[str]  # named by two or more of them
    shared_outcomes: set[str]  # the same statement (case and spaces aside) in two or more


def compare(app: App, ids: list[int]) -> Comparison:
    """Two to four published micro-credentials side by side; DomainError names what is wrong."""
    unique = list(dict.fromkeys(ids))
    if not MIN_COMPARED <= len(unique) <= MAX_COMPARED:
        raise DomainError(
            "compare.count",
            _("choose %(least)s to %(most)s different micro-credentials to compare")
            % {"least": MIN_COMPARED, "most": MAX_COMPARED},
            "id",
        )
    with transaction(app.sessions, readonly=True) as session:
        items = [_compared(app, session, definition_id) for definition_id in unique]
    skill_counts: dict[str, int] = {}
    outcome_counts: dict[str, int] = {}
    for item in items:
        for uri in set(item.skills):
            skill_counts[uri] = skill_counts.get(uri, 0) + 1
        for statement in {_normal(o) for o in item.outcomes}:
            outcome_counts[statement] = outcome_counts.get(statement, 0) + 1
    return Comparison(
        items=items,
        shared_skills={u for u, n in skill_counts.items() if n > 1},
        shared_outcomes={o for o, n in outcome_counts.items() if n > 1},
    )


def normal_statement(statement: str) -> str:
    """How outcome statements are matched across micro-credentials."""
    return _normal(statement)


def _normal(statement: str) -> str:
    return " ".join(statement.lower().split())


def _compared(app: App, session: Session, definition_id: int) -> Compared:
    row = session.get(Definition, definition_id)
    if row is None or row.state not in PUBLIC_STATES:  # a shared link outlives a new version
        raise NotFound("definition")
    provider = session.get(Provider, row.provider_id)
    assert provider is not None
    data = definitions.data_of(row)
    achievement = achievement_of(app, provider, row)
    per_ects = (
        round(data.workload_hours / data.workload_ects, 1)
        if data.workload_hours and data.workload_ects
        else None
    )
    # in the reader's language (a comparison is made for one request)
    workload = f"{data.workload_ects:g} ECTS" if data.workload_ects else ""
    if data.workload_hours:
        workload += " · " + _("%(hours)s h") % {"hours": data.workload_hours}
    if per_ects:
        workload += " " + _("(%(hours)s h per ECTS, as the provider states)") % {
            "hours": f"{per_ects:g}"
        }
    if data.us_credit_hours:
        workload += " · " + _("%(credits)s US credit hours") % {
            "credits": f"{data.us_credit_hours:g}"
        }
    skills = [o.esco_uri for o in data.learning_outcomes if o.esco_uri] + data.occupations
    current = None
    if row.state == "retired":
        newer = session.scalar(
            select(Definition).where(
                Definition.family == row.family, Definition.state == "published"
            )
        )
        if newer is not None:
            current = Link(newer.title, version_path(provider.slug, newer.family, newer.version))
    return Compared(
        id=row.id,
        title=row.title,
        path=version_path(provider.slug, row.family, row.version),
        current=current,
        provider=Link(provider.legal_name, f"/providers/{provider.slug}"),
        data=data,
        elements=_elements(provider, data, achievement),
        workload=workload,
        hours_per_ects=per_ects,
        skills=skills,
        outcomes=[o.statement for o in data.learning_outcomes],
        accreditations=trust.current_accreditations(app, session, provider, app.now()),
        stacks_into=_pathways_naming(app, session, provider, row),
    )


def public_paths(app: App) -> list[str]:
    """Every public page of providers, published micro-credentials and pathways (a sitemap)."""
    with transaction(app.sessions, readonly=True) as session:
        slugs = {row.id: row.slug for row in session.execute(select(Provider.id, Provider.slug))}
        paths = [f"/providers/{slug}" for slug in sorted(slugs.values())]
        for provider_id, family, version in session.execute(
            select(Definition.provider_id, Definition.family, Definition.version)
            .where(Definition.state == "published")
            .order_by(Definition.id)
        ):
            paths.append(version_path(slugs[provider_id], family, version))
        for pathway_id, provider_id in session.execute(
            select(Pathway.id, Pathway.provider_id).order_by(Pathway.id)
        ):
            paths.append(f"/providers/{slugs[provider_id]}/pathways/{pathway_id}")
        return paths
