"""Assessment and issuing: assess a learner, award, learners, and the issued credentials."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from microcred.domain.assessment import OutcomeResult
from microcred.domain.catalog import SUPERVISION
from microcred.domain.errors import DomainError
from microcred.i18n import N_, _
from microcred.services import definitions, issuing, listing, status
from microcred.services.providers import require
from microcred.web.deps import AppDep, Csrf, CurrentStaff, DbSession, RowId, provider_of
from microcred.web.forms import typed_number
from microcred.web.render import attachment, confirm, render, see_other

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.get("/definitions/{definition_id}/assess")
def assess_form(
    definition_id: RowId, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "assess")
    row = issuing.published_definition(session, provider_of(session, staff), definition_id)
    return render(
        request,
        "assess.html",
        row=row,
        data=definitions.data_of(row),
        supervision=SUPERVISION,  # English labels: the page says _(label)
        today=date.today().isoformat(),
        error=None,
        learners=issuing.learners(session, staff.provider_id),
        typed={},
    )


def _score(typed: str, outcome_id: str) -> float | None:
    """A score as typed (``85``, ``72,5``), or None when left empty."""
    try:
        return typed_number(typed)
    except ValueError as exc:
        raise DomainError(
            "assessment.score", _("a score is a number from 0 to 100"), f"score_{outcome_id}"
        ) from exc


@router.post("/definitions/{definition_id}/assess", dependencies=[Csrf])
async def assess(
    definition_id: RowId, request: Request, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "assess")
    provider = provider_of(session, staff)
    row = issuing.published_definition(session, provider, definition_id)
    data = definitions.data_of(row)
    form = await request.form()
    achieved = set(map(str, form.getlist("achieved")))
    evidence = [
        (upload.filename or "", await upload.read(issuing.MAX_EVIDENCE_BYTES + 1))
        for upload in form.getlist("evidence")
        if isinstance(upload, UploadFile) and upload.filename
    ]
    try:
        results = [
            OutcomeResult(
                o.id,
                o.id in achieved,
                _score(str(form.get(f"score_{o.id}", "")), o.id),
                str(form.get(f"note_{o.id}", "")).strip(),
            )
            for o in data.learning_outcomes
        ]
        assessed_on = date.fromisoformat(str(form.get("assessed_on", "")))
        chosen = str(form.get("learner_id", "")).strip()
        learner = (
            issuing.learner_of(session, provider.id, int(chosen))  # picked from the list
            if chosen.isdigit() and len(chosen) < 10
            else issuing.upsert_learner(
                app, session, provider, str(form.get("name", "")), str(form.get("email", ""))
            )
        )
        assessment = issuing.record_assessment(
            app,
            session,
            staff,
            learner=learner,
            definition_id=row.id,
            results=results,
            grade=str(form.get("grade", "")).strip() or None,
            supervision=str(form.get("supervision", "")),
            assessed_on=assessed_on,
            note=str(form.get("note", "")),
            evidence=evidence,
        )
        if form.get("award") and assessment.passed:
            credential = issuing.award_assessment(app, session, staff, assessment)
            return see_other(f"/manage/credentials/{credential.id}")
    except ValueError:
        error = _("The assessment date must be a date.")
    except DomainError as exc:
        error = exc.message
    else:
        return see_other(f"/assessments/{assessment.id}")
    return render(
        request,
        "assess.html",
        status_code=422,
        row=row,
        data=data,
        supervision=SUPERVISION,
        today=date.today().isoformat(),
        error=error,
        learners=issuing.learners(session, staff.provider_id),
        typed={
            **{k: str(form.get(k, "")) for k in ("name", "email", "learner_id", "note")},
            **{k: str(v) for k, v in form.items() if k.startswith(("score_", "note_"))},
            "achieved": achieved,
        },
    )


@router.get("/assessments/{assessment_id}")
def assessment_view(
    assessment_id: RowId, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    assessment, learner, row = issuing.assessment_view(session, staff, assessment_id)
    outcomes = definitions.data_of(row).learning_outcomes if row is not None else []
    return render(
        request, "assessment.html", assessment=assessment, learner=learner, row=row,
        outcomes={o.id: o for o in outcomes},
        evidence=issuing.evidence_of(session, assessment),
    )  # fmt: skip


@router.get("/assessments/{assessment_id}/evidence/{evidence_id}")
def assessment_evidence(
    assessment_id: RowId, evidence_id: RowId, staff: CurrentStaff, session: DbSession
) -> Response:
    """An evidence file, for the provider's staff only (a download: never shown inline)."""
    found = issuing.evidence_file_of(session, staff, assessment_id, evidence_id)
    stem = found.name.rsplit(".", 1)[0]
    headers = {
        **attachment(stem, _EXTENSIONS.get(found.media_type, "bin"), "evidence"),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return Response(found.content, media_type=found.media_type, headers=headers)


_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg",
               "text/plain; charset=utf-8": "txt"}  # fmt: skip


@router.post("/assessments/{assessment_id}/award", dependencies=[Csrf])
def assessment_award(
    assessment_id: RowId, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    assessment = issuing.get_assessment(session, staff, assessment_id)
    credential = issuing.award_assessment(app, session, staff, assessment)
    return see_other(f"/manage/credentials/{credential.id}")


@router.get("/learners")
def learner_list(
    request: Request,
    staff: CurrentStaff,
    session: DbSession,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The provider's learners, a page at a time, searchable; the same as CSV."""
    found = listing.learners(session, staff.provider_id, q, page)
    return render(
        request, "learners.html", found=found, q=q,
        query_string=urlencode({"q": q} if q else {}), error=None,
    )  # fmt: skip


@router.get("/learners.csv")
def learner_csv(
    app: AppDep,
    staff: CurrentStaff,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    return StreamingResponse(
        listing.learners_csv(app, staff.provider_id, q),
        media_type="text/csv; charset=utf-8",
        headers=attachment(f"learners {app.now().date().isoformat()}", "csv"),
    )


def _definition_filter(definition: str) -> int | None:
    return int(definition) if definition.isdigit() and len(definition) < 10 else None


@router.get("/assessments")
def assessment_list(
    request: Request,
    staff: CurrentStaff,
    session: DbSession,
    definition: Annotated[str, Query(max_length=12)] = "",
    outcome: Annotated[str, Query(max_length=12)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The provider's assessments, newest first, by micro-credential and result; as CSV too."""
    require(staff, "view")
    found = listing.assessments(
        session, staff.provider_id, _definition_filter(definition), outcome, page
    )
    filters = {"definition": definition, "outcome": outcome}
    return render(
        request, "assessments.html", found=found, filters=filters,
        query_string=urlencode({k: v for k, v in filters.items() if v}),
        definitions=definitions.list_for(session, provider_of(session, staff)),
    )  # fmt: skip


@router.get("/assessments.csv")
def assessment_csv(
    app: AppDep,
    staff: CurrentStaff,
    definition: Annotated[str, Query(max_length=12)] = "",
    outcome: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    return StreamingResponse(
        listing.assessments_csv(app, staff.provider_id, _definition_filter(definition), outcome),
        media_type="text/csv; charset=utf-8",
        headers=attachment(f"assessments {app.now().date().isoformat()}", "csv"),
    )


@router.post("/learners", dependencies=[Csrf])
def learner_add(
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> Response:
    require(staff, "assess")
    issuing.upsert_learner(app, session, provider_of(session, staff), name, email)
    return see_other("/learners")


def _credential_query(
    q: str, definition: str, state: str, issued_from: str, issued_to: str, page: int
) -> listing.CredentialQuery:
    """The list's filters as the page's form sends them; a date that is not one is refused."""
    try:
        start = date.fromisoformat(issued_from) if issued_from.strip() else None
        end = date.fromisoformat(issued_to) if issued_to.strip() else None
    except ValueError as exc:
        raise DomainError(
            "list.date", _("dates are written YYYY-MM-DD, like 2026-12-02"), "issued_from"
        ) from exc
    return listing.CredentialQuery(
        text=q[:200],
        definition_id=int(definition) if definition.isdigit() and len(definition) < 10 else None,
        state=state,
        issued_from=start,
        issued_to=end,
        page=page,
    )


@router.get("/manage/credentials")
def credential_list(
    request: Request,
    staff: CurrentStaff,
    session: DbSession,
    q: Annotated[str, Query(max_length=200)] = "",
    definition: Annotated[str, Query(max_length=12)] = "",
    state: Annotated[str, Query(max_length=12)] = "",
    issued_from: Annotated[str, Query(max_length=10)] = "",
    issued_to: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The provider's credentials, filtered, a page at a time; the same as CSV."""
    query = _credential_query(q, definition, state, issued_from, issued_to, page)
    found = listing.credentials(session, staff.provider_id, query)
    filters = {"q": q, "definition": definition, "state": state,
               "issued_from": issued_from, "issued_to": issued_to}  # fmt: skip
    return render(
        request,
        "credentials.html",
        found=found,
        filters=filters,
        query_string=urlencode({k: v for k, v in filters.items() if v}),
        definitions=definitions.list_for(session, provider_of(session, staff)),
        states=listing.STATES,
    )


@router.get("/manage/credentials.csv")
def credential_csv(
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    q: Annotated[str, Query(max_length=200)] = "",
    definition: Annotated[str, Query(max_length=12)] = "",
    state: Annotated[str, Query(max_length=12)] = "",
    issued_from: Annotated[str, Query(max_length=10)] = "",
    issued_to: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    query = _credential_query(q, definition, state, issued_from, issued_to, 1)
    name = f"issued credentials {app.now().date().isoformat()}"
    return StreamingResponse(
        listing.credentials_csv(app, staff.provider_id, query),
        media_type="text/csv; charset=utf-8",
        headers=attachment(name, "csv"),
    )


@router.get("/manage/credentials/{credential_id}")
def credential_manage(
    credential_id: str, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    credential = issuing.get_credential(session, staff.provider_id, credential_id)
    row = definitions.by_id(session, credential.definition_id)
    return render(
        request,
        "credential_manage.html",
        credential=credential,
        row=row,
        suspendable=status.suspendable(credential),
        error=None,
    )


_CONFIRM = {
    "revoke": (
        N_("Revoke this credential?"),
        N_("Revoke"),
        N_("It cannot be undone: the credential stays revoked for good."),
        N_("Everyone who verifies it, here or with any other verifier, sees it revoked within "
           "minutes (its status list is signed again now)."),
    ),
    "suspend": (
        N_("Suspend this credential?"),
        N_("Suspend"),
        N_("It does not verify until you lift the suspension."),
        N_("Everyone who verifies it, here or with any other verifier, sees it suspended within "
           "minutes (its status list is signed again now)."),
    ),
    "reinstate": (
        N_("Lift the suspension?"),
        N_("Lift suspension"),
        N_("The credential verifies again."),
        N_("Verifiers see the change within minutes (its status list is signed again now)."),
    ),
}  # fmt: skip


@router.post("/manage/credentials/{credential_id}/status/confirm", dependencies=[Csrf])
def credential_status_confirm(
    credential_id: str,
    request: Request,
    staff: CurrentStaff,
    session: DbSession,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """What revoking, suspending or reinstating will do, before it is done."""
    require(staff, "revoke")
    credential = issuing.get_credential(session, staff.provider_id, credential_id)
    if action not in _CONFIRM:
        raise DomainError("status.action", _("choose revoke, suspend or reinstate"), "action")
    heading, button, effect, reach = _CONFIRM[action]
    row = definitions.by_id(session, credential.definition_id)
    who = _("“%(title)s”, issued to %(name)s.") % {
        "title": row.title if row else "", "name": credential.recipient_name,
    }  # fmt: skip
    public = None
    if action != "reinstate":
        public = (
            _("the reason, “%(reason)s”, is shown on the credential's public page and to "
              "everyone who verifies it. Write nothing you would not publish.")
            % {"reason": reason.strip()}
            if reason.strip()
            else _("the credential's public page and every verifier show that it was %(done)s, "
                   "with no reason given.")
            % {"done": _("revoked") if action == "revoke" else _("suspended")}
        )  # fmt: skip
    return confirm(
        request, heading=_(heading), lines=[who, _(effect), _(reach)],
        action=f"/manage/credentials/{credential_id}/status", button=_(button),
        back=f"/manage/credentials/{credential_id}",
        fields={"action": action, "reason": reason}, public=public,
    )  # fmt: skip


@router.post("/manage/credentials/{credential_id}/status", dependencies=[Csrf])
def credential_status(
    credential_id: str,
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        status.change_state(app, session, staff, credential_id, action, reason)
    except DomainError as exc:
        if exc.code in ("not_found", "forbidden"):
            raise
        credential = issuing.get_credential(session, staff.provider_id, credential_id)
        row = definitions.by_id(session, credential.definition_id)
        return render(
            request,
            "credential_manage.html",
            status_code=422,
            credential=credential,
            row=row,
            suspendable=status.suspendable(credential),
            error=exc.message,
        )
    return see_other(f"/manage/credentials/{credential_id}")
