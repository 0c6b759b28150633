"""The public pages behind the identifiers credentials cite: a definition's versions, a
provider's profile, a pathway's rules (services/catalogue.py). Each answers as a page, or as
JSON-LD to a client that asks for it (``Accept: application/ld+json``)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from microcred.domain.catalog import (
    MANDATORY_ELEMENTS,
    OPTIONAL_ELEMENTS,
    PARTICIPATION,
    SUPERVISION,
)
from microcred.services import catalogue
from microcred.web.deps import AppDep, RowId
from microcred.web.problems import problem_responses
from microcred.web.render import render

# Pages first (HTML unless JSON-LD is asked for), like the public credential page: not in the
# OpenAPI description, which documents the JSON API.
router = APIRouter(responses=problem_responses(), tags=["public"], include_in_schema=False)
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
    page = catalogue.definition_page(app, slug, family, version)
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
