"""Provider sign-up (services/onboarding.py): the public application form, the applicant's page
(its domain proof), the operators' queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool

from microcred.domain.errors import DomainError
from microcred.services import onboarding
from microcred.web.deps import AppDep, Csrf, CurrentStaff, DbSession, RowId, rate_limited
from microcred.web.render import refused_to, render, see_other

router = APIRouter(include_in_schema=False)
FIELDS = (
    "kind",
    "slug",
    "legal_name",
    "country_code",
    "region",
    "website",
    "domain",
    "contact_name",
    "contact_email",
)


@router.get("/apply")
def apply_form(request: Request) -> Response:
    return render(request, "apply.html", values={"kind": "provider"}, error=None, field=None)


@router.post("/apply", dependencies=[Csrf, rate_limited("upload")])
async def apply_submit(request: Request, app: AppDep) -> Response:
    form = await request.form()
    values = {name: str(form.get(name, ""))[:1000] for name in FIELDS}
    password = str(form.get("password", ""))
    try:  # off the event loop: the password's hash and the database
        token = await run_in_threadpool(onboarding.submit, app, values, password)
    except DomainError as error:  # the form again, as filled in, the reason beside the field
        return render(
            request,
            "apply.html",
            status_code=422,
            values=values,
            error=error.message,
            field=error.field,
        )
    return see_other(f"/apply/status/{token}")


@router.get("/apply/status/{token}")
def apply_status(token: str, request: Request, session: DbSession) -> Response:
    application = onboarding.by_token(session, token)
    return render(
        request, "apply_status.html", application=onboarding.describe(application), token=token
    )


@router.post("/apply/status/{token}/check", dependencies=[Csrf, rate_limited("upload")])
def apply_check(token: str, request: Request, app: AppDep) -> Response:
    try:  # the service opens no transaction while it asks the other host
        onboarding.check_domain(app, token)
    except DomainError as error:
        return refused_to(request, f"/apply/status/{token}", error.message)
    return see_other(f"/apply/status/{token}?proven=1")


@router.get("/operator")
def operator_queue(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    applications = [onboarding.describe(a) for a in onboarding.pending(session, staff)]
    return render(request, "operator.html", applications=applications)


@router.post("/operator/applications/{application_id}/approve", dependencies=[Csrf])
def operator_approve(
    application_id: RowId, request: Request, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    try:
        provider = onboarding.approve(app, session, staff, application_id)
    except DomainError as error:
        return refused_to(request, "/operator", error.message)
    return see_other(f"/operator?approved={provider.slug}")


@router.post("/operator/applications/{application_id}/reject", dependencies=[Csrf])
def operator_reject(
    application_id: RowId,
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        onboarding.reject(app, session, staff, application_id, reason)
    except DomainError as error:
        return refused_to(request, "/operator", error.message)
    return see_other("/operator")
