"""A quality-assurance body's pages: accredit providers, withdraw accreditations."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from microcred.domain.errors import DomainError, NotFound
from microcred.domain.trust import FRAMEWORKS
from microcred.i18n import _
from microcred.services import providers
from microcred.services import trust as trust_service
from microcred.web.deps import AppDep, Csrf, CurrentStaff, DbSession, provider_of
from microcred.web.render import confirm, render, see_other

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


def _qa_page(
    request: Request, session: Any, staff: Any, error: str | None = None, status_code: int = 200
) -> Response:
    body = provider_of(session, staff)
    if body.kind != "qa_body":
        raise NotFound("page")
    rows = trust_service.accreditations_by(session, body)
    names = providers.legal_names(session)
    return render(
        request,
        "qa.html",
        status_code=status_code,
        body=body,
        rows=rows,
        names=names,
        frameworks=FRAMEWORKS,  # English labels: the page says _(label)
        error=error,
        today=date.today().isoformat(),
    )


@router.get("/qa")
def qa_home(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    return _qa_page(request, session, staff)


@router.post("/qa/accreditations", dependencies=[Csrf])
def qa_accredit(
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    provider: Annotated[str, Form()] = "",
    framework: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "",
    valid_from: Annotated[str, Form()] = "",
    valid_until: Annotated[str, Form()] = "",
    report_url: Annotated[str, Form()] = "",
) -> Response:
    try:
        trust_service.accredit(
            app,
            session,
            staff,
            provider_slug=provider.strip(),
            framework=framework,
            scope=scope,
            valid_from=date.fromisoformat(valid_from),
            valid_until=date.fromisoformat(valid_until),
            report_url=report_url.strip() or None,
        )
    except ValueError:
        return _qa_page(request, session, staff, _("Give the dates as YYYY-MM-DD."), 422)
    except DomainError as exc:
        if exc.code in ("forbidden", "not_found"):
            raise
        return _qa_page(request, session, staff, exc.message, 422)
    return see_other("/qa")


@router.post("/qa/accreditations/{accreditation_id}/withdraw/confirm", dependencies=[Csrf])
def qa_withdraw_confirm(
    accreditation_id: str, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    trust_service.granted_by(session, staff, accreditation_id)  # theirs, or 404
    return confirm(
        request,
        heading=_("Withdraw this accreditation?"),
        lines=[
            _("From now on, verifiers no longer show the provider as accredited by you for it."),
            _("Credentials the provider issued stay authentic; they lose this accreditation."),
            _("It cannot be undone: to accredit the provider again, grant a new accreditation."),
        ],
        action=f"/qa/accreditations/{accreditation_id}/withdraw",
        button=_("Withdraw"),
        back="/qa",
        public=_("the withdrawal is published in the platform's trust registry at once."),
    )


@router.post("/qa/accreditations/{accreditation_id}/withdraw", dependencies=[Csrf])
def qa_withdraw(
    accreditation_id: str, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    trust_service.withdraw(app, session, staff, accreditation_id)
    return see_other("/qa")
