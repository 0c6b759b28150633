"""The public pages behind the identifiers credentials cite: a definition's versions, a
provider's profile, a pathway's rules (services/catalogue.py). Each answers as a page, or as
JSON-LD to a client that asks for it (``Accept: application/ld+json``)."""

from __future__ import annotations

import json
import math
import re
from datetime import date
from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse

from microcred.domain.catalog import (
    MANDATORY_ELEMENTS,
    OPTIONAL_ELEMENTS,
    PARTICIPATION,
    SUPERVISION,
)
from microcred.domain.errors import DomainError
from microcred.i18n import _
from microcred.services import catalogue, search
from microcred.web.deps import MAX_ROW_ID, AppDep, RowId
from microcred.web.problems import problem_responses
from microcred.web.render import refused_to, render

# Pages first (HTML unless JSON-LD is asked for), like the public credential page: not in the
# OpenAPI description, which documents the JSON API.
router = APIRouter(responses=problem_responses(), tags=["public"], include_in_schema=False)
api = APIRouter(responses=problem_responses(), tags=["catalogue"])  # the JSON API, documented
JSON_LD = "application/ld+json"
_JSON_TYPES = (JSON_LD, "application/json")


def wants_json_ld(request: Request) -> bool:
    """Whether the client prefers JSON (-LD) to HTML, by its ``Accept`` header's q-values; a
    browser (``text/html`` first) gets the page."""
    best_json, best_html = 0.0, 0.0
    for part in request.headers.get("accept", "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _sep, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.lower() in _JSON_TYPES:
            best_json = max(best_json, quality)
        elif media.lower() in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, quality)
    return best_json > best_html


def _json_ld(document: dict[str, object]) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type=JSON_LD,
        headers={"Vary": "Accept"},
    )


def _page(request: Request, name: str, **context: Any) -> Response:
    response = render(request, name, **context)
    response.headers["Vary"] = "Accept"
    return response


@router.get("/providers/{slug}")
def provider_profile(slug: str, request: Request, app: AppDep) -> Response:
    """A provider's public profile (an OB 3.0 ``Profile`` as JSON-LD), or a QA body's."""
    page = catalogue.provider_page(app, slug)
    if wants_json_ld(request):
        return _json_ld(page.profile)
    return _page(request, "provider_public.html", page=page)


@router.get("/providers/{slug}/definitions/{family}")
def definition_family(slug: str, family: str, app: AppDep) -> Response:
    """A definition's family (pathway rules name it): its published version."""
    return RedirectResponse(catalogue.latest_version_path(app, slug, family), status_code=303)


@router.get("/providers/{slug}/definitions/{family}/v{version}")
def definition_version(
    slug: str, family: str, version: RowId, request: Request, app: AppDep
) -> Response:
    """A version of a micro-credential: its page, or the OB 3.0 ``Achievement`` its credentials
    embed (JSON-LD)."""
    return _version(request, catalogue.definition_page(app, slug, family, version))


@router.get("/providers/{slug}/definitions/{family}/v{version}/{language}")
def definition_version_in(
    slug: str,
    family: str,
    version: RowId,
    language: Annotated[str, Path(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=20)],
    request: Request,
    app: AppDep,
) -> Response:
    """The same version in another of its languages: the related achievement its credentials
    name (``related``, ``inLanguage``), or its page."""
    return _version(request, catalogue.definition_page(app, slug, family, version, language))


def _version(request: Request, page: catalogue.DefinitionPage) -> Response:
    """A version's page, or the OB 3.0 ``Achievement`` as JSON-LD to ``Accept``."""
    if wants_json_ld(request):
        return _json_ld(page.achievement)
    return _page(
        request,
        "definition_public.html",
        page=page,
        data=page.data,
        mandatory=MANDATORY_ELEMENTS,
        optional=OPTIONAL_ELEMENTS,
        participation=PARTICIPATION,
        supervision=SUPERVISION,
    )


@router.get("/providers/{slug}/pathways/{pathway_id}")
def pathway_public(slug: str, pathway_id: RowId, request: Request, app: AppDep) -> Response:
    """A pathway: the macro-credential it awards and its rules in words."""
    page = catalogue.pathway_page(app, slug, pathway_id)
    return _page(request, "pathway_public.html", page=page)


# --- the catalogue ---------------------------------------------------------------------------


def _number(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name, "").strip().replace(",", ".")  # decimal comma too
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > 1e9:
        raise DomainError(
            "catalogue.invalid", _("%(name)s must be a number") % {"name": name}, name
        )
    return value


def _integer(request: Request, name: str) -> int | None:
    value = _number(request, name)
    if value is None:
        return None
    if value != int(value):
        raise DomainError(
            "catalogue.invalid", _("%(name)s must be a whole number") % {"name": name}, name
        )
    return int(value)


def catalogue_query(request: Request) -> search.Query:
    """The catalogue's query from the address (the same parameters for the page and the API)."""
    params = request.query_params
    starts = params.get("starts_from", "").strip()
    try:
        starts_from = date.fromisoformat(starts) if starts else None
    except ValueError:
        raise DomainError(
            "catalogue.invalid", _("starts_from must be a date (YYYY-MM-DD)"), "starts_from"
        ) from None
    return search.Query(
        text=params.get("q", "")[:200],
        eqf_min=_integer(request, "eqf_min"),
        eqf_max=_integer(request, "eqf_max"),
        ects_min=_number(request, "ects_min"),
        ects_max=_number(request, "ects_max"),
        participation=tuple(p for p in params.getlist("mode") if p),
        language=params.get("lang", "")[:35],
        assessment=params.get("assessment", "")[:100],
        provider=params.get("provider", "")[:64],
        accredited=params.get("accredited", "") in ("1", "on", "true"),
        framework=params.get("framework", "")[:40],
        skill=params.get("skill", "")[:200],
        pathway=_integer(request, "pathway"),
        price_max=_number(request, "price_max"),
        starts_from=starts_from,
        page=1 if (page := _integer(request, "page")) is None else page,
    )


def _page_link(request: Request, page: int) -> str:
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return "?" + urlencode([*pairs, ("page", str(page))])


@router.get("/catalogue")
def catalogue_page(request: Request, app: AppDep) -> Response:
    """Search and filter every published micro-credential (stable, shareable addresses)."""
    try:
        query = catalogue_query(request)
    except DomainError as error:  # the words and choices kept; the wrong one is named
        params = request.query_params
        kept = search.Query(
            text=params.get("q", "")[:200],
            language=params.get("lang", "")[:35],
            assessment=params.get("assessment", "")[:100],
            provider=params.get("provider", "")[:64],
            accredited=params.get("accredited", "") in ("1", "on", "true"),
        )
        results = search.search(app, kept)
        return render(
            request,
            "catalogue.html",
            status_code=422,
            results=results,
            error=error.message,
            modes=PARTICIPATION,
            previous=None,
            following=None,
        )
    results = search.search(app, query)
    return render(
        request,
        "catalogue.html",
        results=results,
        error=None,
        modes=PARTICIPATION,
        previous=_page_link(request, query.page - 1) if query.page > 1 else None,
        following=_page_link(request, query.page + 1) if query.page < results.pages else None,
    )


@api.get("/api/catalogue")
def catalogue_api(request: Request, app: AppDep) -> dict[str, Any]:
    """The catalogue as JSON: the same parameters as ``/catalogue`` (q, eqf_min, eqf_max,
    ects_min, ects_max, mode (repeatable: online, onsite, blended), lang, assessment, provider,
    accredited, framework, skill, pathway, price_max, starts_from, page)."""
    query = catalogue_query(request)
    results = search.search(app, query)
    base = app.settings.base_url
    return {
        "total": results.total,
        "page": query.page,
        "pages": results.pages,
        "items": [
            {
                "id": hit.id,
                "title": hit.title,
                "url": base + hit.path,
                "provider": {
                    "name": hit.provider_name,
                    "url": f"{base}/providers/{hit.provider_slug}",
                },
                "eqf": hit.eqf,
                "ects": hit.ects,
                "hours": hit.hours,
                "participation": hit.participation,
                "language": hit.language,
                "assessment": hit.assessment,
                "price": None
                if hit.price is None
                else {"amount": hit.price, "currency": hit.currency},
                "next_start": hit.next_start.isoformat() if hit.next_start else None,
                "accredited": hit.accredited,
            }
            for hit in results.hits
        ],
    }


@router.get("/compare")
def compare_page(request: Request, app: AppDep) -> Response:
    """Two to four micro-credentials side by side (``?id=1&id=2``): a shareable address."""
    ids: list[int] = []
    for raw in request.query_params.getlist("id"):
        if not re.fullmatch(r"[0-9]{1,10}", raw) or not 1 <= int(raw) <= MAX_ROW_ID:
            raise DomainError("compare.invalid", _("each id must be a catalogue number"), "id")
        ids.append(int(raw))
    try:
        comparison = catalogue.compare(app, ids)
    except DomainError as error:
        back = _catalogue_referer(request)
        if back is None or error.code != "compare.count":
            raise
        return refused_to(request, back, error.message)  # back to the search, with the reason
    return render(
        request,
        "compare.html",
        comparison=comparison,
        mandatory=MANDATORY_ELEMENTS,
        optional=OPTIONAL_ELEMENTS,
        normal=catalogue.normal_statement,
        supervision=SUPERVISION,
    )


def _catalogue_referer(request: Request) -> str | None:
    """The catalogue search the visitor came from (this site's), to go back to it."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or referer.path != "/catalogue":
        return None
    pairs = [(k, v) for k, v in parse_qsl(referer.query) if k not in ("error", "id")]
    return "/catalogue" + ("?" + urlencode(pairs) if pairs else "")


@router.get("/sitemap.xml")
def sitemap(app: AppDep) -> Response:
    """Every public page: the catalogue, providers, published micro-credentials, pathways."""
    base = app.settings.base_url
    entries = [f"{base}/", f"{base}/catalogue", f"{base}/verify"]
    entries += [base + path for path in catalogue.public_paths(app)]
    body = ['<?xml version="1.0" encoding="UTF-8"?>']
    body.append('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
    body += [f"<url><loc>{escape(url)}</loc></url>" for url in entries]
    body.append("</urlset>")
    return Response("\n".join(body), media_type="application/xml")
