"""The provider's pathways to macro-credentials: create, follow, confirm awards."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from microcred.domain.errors import DomainError
from microcred.i18n import _
from microcred.services import definitions
from microcred.services import stacking as stacking_service
from microcred.web.deps import AppDep, Csrf, CurrentStaff, DbSession, FormRowId, RowId, provider_of
from microcred.web.render import refused_to, render, see_other

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.get("/pathways")
def pathway_list(
    request: Request, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    provider = provider_of(session, staff)
    own = stacking_service.pathways_of(session, provider.id)
    published = definitions.published(session)
    components = [(stacking_service.family_url(app, session, d), d) for d in published]
    mine = [d for d in published if d.provider_id == provider.id]
    return render(
        request,
        "pathways.html",
        pathways=own,
        components=components,
        mine=mine,
        error=request.query_params.get("error"),
    )


@router.post("/pathways", dependencies=[Csrf])
def pathway_create(
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    definition_id: FormRowId,
    name: Annotated[str, Form()] = "",
    components: Annotated[list[str] | None, Form()] = None,
    at_least: Annotated[str, Form()] = "",
    min_ects: Annotated[str, Form()] = "",
    trusted: Annotated[str, Form()] = "",
    award_mode: Annotated[str, Form()] = "auto",
    rules_json: Annotated[str, Form()] = "",
) -> Response:

    try:
        if rules_json.strip():
            rules = json.loads(rules_json)
        else:
            match_extra = {"trusted": True} if trusted else {}
            leaves: list[Any] = [
                {"credential": {"achievement": [c], **match_extra}} for c in components or []
            ]
            parts: list[Any] = []
            if leaves:
                count = int(at_least) if at_least.strip() else len(leaves)
                parts.append({"at_least": count, "of": leaves})
            if min_ects.strip():
                parts.append({"min_ects": float(min_ects), "where": match_extra})
            rules = {"all": parts}
        stacking_service.create_pathway(
            app,
            session,
            staff,
            definition_id=definition_id,
            name=name,
            rules=rules,
            award_mode=award_mode,
        )
    except (ValueError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.code in ("forbidden", "not_found"):
            raise
        message = (
            exc.message
            if isinstance(exc, DomainError)
            else _("not valid: %(error)s") % {"error": exc}
        )
        return refused_to(request, "/pathways", message)
    return see_other("/pathways")


@router.get("/pathways/{pathway_id}")
def pathway_view(
    pathway_id: RowId, request: Request, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    pathway = stacking_service.get_pathway(session, staff.provider_id, pathway_id)
    close = [
        {
            "name": c.account.name,
            "progress": c.evaluation.progress,
            "missing": c.evaluation.missing,
        }
        for c in stacking_service.close_to_completion(app, session, pathway)
    ]
    awards = stacking_service.awards_of(session, pathway)
    return render(
        request,
        "pathway.html",
        pathway=pathway,
        close=close,
        awards=awards,
        rules=json.dumps(pathway.rules, indent=2),
    )


@router.post("/pathways/awards/{award_id}/confirm", dependencies=[Csrf])
def pathway_confirm(
    award_id: RowId, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    record = stacking_service.get_award(session, award_id)
    stacking_service.confirm(app, session, record, staff)
    return see_other(f"/pathways/{record.pathway_id}")
