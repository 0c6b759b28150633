"""Recognition of prior learning, the assessor's side: review applications and decide."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from microcred.domain.errors import DomainError, NotFound
from microcred.services import definitions
from microcred.services import rpl as rpl_service
from microcred.services.providers import require
from microcred.web.deps import AppDep, Csrf, CurrentStaff, DbSession, RowId
from microcred.web.render import refused_to, render, see_other

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.get("/rpl")
def rpl_list(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    require(staff, "assess")
    applications = rpl_service.applications_for_provider(session, staff.provider_id)
    titles = definitions.titles_for(session, staff.provider_id)
    return render(
        request, "rpl_list.html", applications=applications, titles=titles,
        applicants=rpl_service.applicants(session, applications),
    )  # fmt: skip


@router.get("/rpl/{application_id}")
def rpl_review(
    application_id: RowId, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "assess")
    application = rpl_service.get_for_staff(session, staff, application_id)
    definition = definitions.by_id(session, application.definition_id)
    assert definition is not None
    return render(
        request,
        "rpl_application.html",
        application=application,
        definition=definition,
        outcomes=definitions.data_of(definition).learning_outcomes,
        evidence=rpl_service.evidence_of(session, application),
        decisions=rpl_service.decisions_of(session, application),
        applicant=rpl_service.applicants(session, [application]).get(application.account_id or 0),
        as_staff=True,
        error=request.query_params.get("error"),
    )


@router.get("/rpl/{application_id}/evidence/{evidence_id}")
def rpl_evidence(
    application_id: RowId, evidence_id: RowId, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "assess")
    application = rpl_service.get_for_staff(session, staff, application_id)
    found = next(
        (e for e in rpl_service.evidence_of(session, application) if e.id == evidence_id), None
    )
    if found is None or found.content is None:
        raise NotFound("evidence")
    return Response(
        found.content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": 'attachment; filename="evidence"'},
    )


async def _decision_form(request: Request) -> tuple[str, str, dict[str, bool]]:
    """The decision form: its action, message and the ``met_<outcome id>`` boxes ticked."""
    form = await request.form()
    met = {str(k)[len("met_") :]: True for k in form if str(k).startswith("met_")}
    return str(form.get("action", "")), str(form.get("message", "")), met


@router.post("/rpl/{application_id}/decision", dependencies=[Csrf])
def rpl_decide(
    application_id: RowId,
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    decision: Annotated[tuple[str, str, dict[str, bool]], Depends(_decision_form)],
) -> Response:
    action, message, met = decision
    try:
        rpl_service.decide(app, session, staff, application_id, action, message, met)
    except DomainError as exc:
        if exc.code in ("not_found", "forbidden"):
            raise
        return refused_to(request, f"/rpl/{application_id}", exc.message)
    return see_other(f"/rpl/{application_id}")
