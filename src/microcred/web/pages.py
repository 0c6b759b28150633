"""The provider's pages: sign-in, definitions, assessment and issuing, bulk, credentials, keys."""

from __future__ import annotations

import contextvars
import json
import threading
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from microcred.domain.assessment import OutcomeResult
from microcred.domain.catalog import (
    MANDATORY_ELEMENTS,
    PARTICIPATION,
    SUPERVISION,
    DefinitionInvalidError,
    publication_problems,
)
from microcred.domain.errors import DomainError, NotFound
from microcred.domain.trust import FRAMEWORKS
from microcred.services import bulk, definitions, issuing, keys, providers, status, throttle
from microcred.services import rpl as rpl_service
from microcred.services import stacking as stacking_service
from microcred.services import trust as trust_service
from microcred.services.models import Definition, Staff
from microcred.services.providers import (
    ROLES,
    add_staff,
    authenticate,
    change_password,
    create_api_token,
    deactivate_staff,
    require,
    revoke_token,
    tokens,
)
from microcred.web.deps import (
    AppDep,
    Csrf,
    CurrentStaff,
    DbSession,
    client_address,
    keep_writes,
    provider_of,
)
from microcred.web.forms import definition_from_form
from microcred.web.render import refused_to, render, see_other, too_many

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)
MAX_UPLOAD = bulk.MAX_BYTES


@router.get("/")
def home(request: Request) -> Response:
    if request.session.get("staff_id"):
        return see_other("/dashboard")
    return render(request, "home.html")


@router.get("/signin")
def signin_form(request: Request) -> Response:
    return render(request, "signin.html", error=None)


@router.post("/signin", dependencies=[Csrf])
def signin(
    request: Request,
    app: AppDep,
    session: DbSession,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    try:
        staff = throttle.sign_in(
            app,
            session,
            "staff",
            email,
            client_address(request),
            lambda: authenticate(session, email, password),
        )
    except throttle.ThrottledError as exc:
        return too_many(request, "signin.html", exc.message, exc.retry_after)
    if staff is None:
        page = render(request, "signin.html", status_code=401, error="Wrong email or password.")
        keep_writes(request)  # the failure is counted
        return page
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["staff_id"] = staff.id
    return see_other("/dashboard")


@router.post("/signout", dependencies=[Csrf])
def signout(request: Request) -> Response:
    request.session.clear()
    return see_other("/")


@router.get("/dashboard")
def dashboard(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    provider = provider_of(session, staff)
    if provider.kind == "qa_body":
        return see_other("/qa")
    recent = issuing.search(session, provider, limit=10)
    defs = definitions.list_for(session, provider)
    return render(request, "dashboard.html", provider=provider, recent=recent, definitions=defs)


@router.get("/definitions")
def definition_list(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    provider = provider_of(session, staff)
    return render(request, "definitions.html", definitions=definitions.list_for(session, provider))


def _form_context(
    row: Definition | None, data: dict[str, Any], errors: list[Any]
) -> dict[str, Any]:
    outcomes = list(data.get("learning_outcomes") or [])
    return {
        "row": row,
        "data": data,
        "outcomes": outcomes + [{}] * max(2, 4 - len(outcomes)),
        "errors": errors,
        "participation": PARTICIPATION,
        "supervision": SUPERVISION,
    }


@router.get("/definitions/new")
def definition_new(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    require(staff, "define")
    provider = provider_of(session, staff)
    data = {
        "country_code": provider.country_code,
        "awarding_body": provider.legal_name,
        "language": "en",
    }
    return render(request, "definition_form.html", **_form_context(None, data, []))


@router.post("/definitions", dependencies=[Csrf])
async def definition_create(
    request: Request, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "define")
    form = await request.form()
    try:
        data = definition_from_form(form)
        row = definitions.create(app, session, provider_of(session, staff), data)
    except (DefinitionInvalidError, ValueError) as exc:
        problems = getattr(exc, "problems", [("form", str(exc))])
        return render(
            request,
            "definition_form.html",
            status_code=422,
            **_form_context(None, definition_from_form_safe(form), problems),
        )
    return see_other(f"/definitions/{row.id}")


def definition_from_form_safe(form: Any) -> dict[str, Any]:
    try:
        return definition_from_form(form)
    except ValueError:
        return {}


@router.get("/definitions/{definition_id}")
def definition_view(
    definition_id: int, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    row = definitions.get(session, provider_of(session, staff), definition_id)
    data = definitions.data_of(row)
    return render(
        request,
        "definition_view.html",
        row=row,
        data=data,
        problems=publication_problems(data) if row.state == "draft" else [],
        labels=MANDATORY_ELEMENTS,
        participation=PARTICIPATION,
        supervision=SUPERVISION,
    )


@router.get("/definitions/{definition_id}/edit")
def definition_edit(
    definition_id: int, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "define")
    row = definitions.get(session, provider_of(session, staff), definition_id)
    return render(request, "definition_form.html", **_form_context(row, row.data, []))


@router.post("/definitions/{definition_id}", dependencies=[Csrf])
async def definition_update(
    definition_id: int, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "define")
    provider = provider_of(session, staff)
    row = definitions.get(session, provider, definition_id)
    form = await request.form()
    try:
        definitions.update(session, provider, row, definition_from_form(form))
    except (DefinitionInvalidError, ValueError) as exc:
        problems = getattr(exc, "problems", [("form", str(exc))])
        return render(
            request,
            "definition_form.html",
            status_code=422,
            **_form_context(row, definition_from_form_safe(form), problems),
        )
    return see_other(f"/definitions/{row.id}")


@router.post("/definitions/{definition_id}/publish", dependencies=[Csrf])
def definition_publish(
    definition_id: int, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "define")
    row = definitions.get(session, provider_of(session, staff), definition_id)
    definitions.publish(app, session, row, by=staff)
    return see_other(f"/definitions/{row.id}")


@router.post("/definitions/{definition_id}/new-version", dependencies=[Csrf])
def definition_new_version(
    definition_id: int, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "define")
    row = definitions.get(session, provider_of(session, staff), definition_id)
    draft = definitions.new_version(app, session, row, by=staff)
    return see_other(f"/definitions/{draft.id}/edit")


@router.get("/definitions/{definition_id}/assess")
def assess_form(
    definition_id: int, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "assess")
    row = issuing.published_definition(session, provider_of(session, staff), definition_id)
    return render(
        request,
        "assess.html",
        row=row,
        data=definitions.data_of(row),
        supervision=SUPERVISION,
        today=date.today().isoformat(),
        error=None,
    )


@router.post("/definitions/{definition_id}/assess", dependencies=[Csrf])
async def assess(
    definition_id: int, request: Request, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "assess")
    provider = provider_of(session, staff)
    row = issuing.published_definition(session, provider, definition_id)
    data = definitions.data_of(row)
    form = await request.form()
    achieved = set(map(str, form.getlist("achieved")))
    results = [OutcomeResult(o.id, o.id in achieved) for o in data.learning_outcomes]
    try:
        assessed_on = date.fromisoformat(str(form.get("assessed_on", "")))
        learner = issuing.upsert_learner(
            app, session, provider, str(form.get("name", "")), str(form.get("email", ""))
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
        )
        if form.get("award") and assessment.passed:
            credential = issuing.award_assessment(app, session, staff, assessment)
            return see_other(f"/manage/credentials/{credential.id}")
    except ValueError:
        error = "The assessment date must be a date."
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
    )


@router.get("/assessments/{assessment_id}")
def assessment_view(
    assessment_id: int, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    assessment, learner, row = issuing.assessment_view(session, staff, assessment_id)
    return render(request, "assessment.html", assessment=assessment, learner=learner, row=row)


@router.post("/assessments/{assessment_id}/award", dependencies=[Csrf])
def assessment_award(
    assessment_id: int, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    assessment = issuing.get_assessment(session, staff, assessment_id)
    credential = issuing.award_assessment(app, session, staff, assessment)
    return see_other(f"/manage/credentials/{credential.id}")


@router.get("/learners")
def learner_list(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    learners = issuing.learners(session, staff.provider_id)
    return render(request, "learners.html", learners=learners, error=None)


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


# Bulk jobs run in a thread of this process; their progress is polled with htmx.
_jobs: dict[str, dict[str, Any]] = {}
_jobs_lock = threading.Lock()


@router.get("/definitions/{definition_id}/bulk")
def bulk_form(
    definition_id: int, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "issue")
    row = issuing.published_definition(session, provider_of(session, staff), definition_id)
    return render(request, "bulk.html", row=row, data=definitions.data_of(row), error=None)


@router.post("/definitions/{definition_id}/bulk", dependencies=[Csrf])
async def bulk_upload(
    definition_id: int,
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    file: UploadFile,
) -> Response:
    require(staff, "issue")
    row = issuing.published_definition(session, provider_of(session, staff), definition_id)
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return render(
            request,
            "bulk.html",
            status_code=413,
            row=row,
            data=definitions.data_of(row),
            error=f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MiB.",
        )
    job_id = uuid.uuid4().hex
    job: dict[str, Any] = {
        "done": 0,
        "total": None,
        "report": None,
        "error": None,
        "provider_id": staff.provider_id,
        "definition_id": row.id,
    }
    with _jobs_lock:
        _jobs[job_id] = job
    staff_id = staff.id

    def run() -> None:
        def progress(done: int, total: int) -> None:
            job["done"], job["total"] = done, total

        try:
            job["report"] = bulk.issue_csv(app, staff_id, row.id, data, progress).to_json()
        except DomainError as exc:
            job["error"] = exc.message
        except Exception:  # noqa: BLE001 - logged by issue_csv, reported on the page
            job["error"] = "the upload stopped on an unexpected error; rows issued so far are kept"

    # the thread carries the request's context: its log lines keep the request id
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name=f"bulk-{job_id}", daemon=True).start()
    return see_other(f"/bulk/{job_id}")


def _job(job_id: str, staff: Any) -> dict[str, Any]:
    with _jobs_lock:
        job = _jobs.get(job_id)
    if job is None or job["provider_id"] != staff.provider_id:
        raise NotFound("upload")
    return job


@router.get("/bulk/{job_id}")
def bulk_job(job_id: str, request: Request, staff: CurrentStaff) -> Response:
    return render(request, "bulk_job.html", job=_job(job_id, staff), job_id=job_id)


@router.get("/bulk/{job_id}/progress")
def bulk_progress(job_id: str, request: Request, staff: CurrentStaff) -> Response:
    return render(request, "bulk_progress.html", job=_job(job_id, staff), job_id=job_id)


@router.get("/manage/credentials")
def credential_list(
    request: Request, staff: CurrentStaff, session: DbSession, q: str = ""
) -> Response:
    found = issuing.search(session, provider_of(session, staff), q)
    return render(request, "credentials.html", credentials=found, q=q)


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


def _keys_page(
    request: Request, app: Any, session: Any, staff: Staff, token: str | None
) -> Response:
    provider = provider_of(session, staff)
    return render(
        request,
        "keys.html",
        keys=keys.list_keys(session, provider),
        did=keys.provider_did(app, provider),
        did_url=keys.did_document_url(app, provider),
        token=token,
        tokens=tokens(session, provider),
    )


@router.get("/keys")
def key_list(request: Request, app: AppDep, staff: CurrentStaff, session: DbSession) -> Response:
    return _keys_page(request, app, session, staff, None)


@router.post("/tokens/{token_id}/revoke", dependencies=[Csrf])
def token_revoke(token_id: int, app: AppDep, staff: CurrentStaff, session: DbSession) -> Response:
    revoke_token(app, session, staff, token_id)
    return see_other("/keys")


@router.post("/keys/rotate", dependencies=[Csrf])
def key_rotate(app: AppDep, staff: CurrentStaff, session: DbSession) -> Response:
    require(staff, "manage")
    keys.add_key(app, session, provider_of(session, staff), by=staff)
    return see_other("/keys")


@router.post("/tokens", dependencies=[Csrf])
def token_create(
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    name: Annotated[str, Form()] = "API token",
) -> Response:
    require(staff, "issue")
    token = create_api_token(app, session, staff, name.strip()[:100] or "API token")
    return _keys_page(request, app, session, staff, token)


def _staff_page(
    request: Request, session: Any, staff: Staff, error: str | None = None, status_code: int = 200
) -> Response:
    members = providers.members(session, staff.provider_id)
    return render(
        request, "staff.html", status_code=status_code, members=members, roles=ROLES, error=error
    )


@router.get("/staff")
def staff_list(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    return _staff_page(request, session, staff)


@router.post("/staff/password", dependencies=[Csrf])
def staff_password(
    request: Request,
    staff: CurrentStaff,
    session: DbSession,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
) -> Response:
    try:
        change_password(staff, current, new)
    except DomainError as exc:
        return _staff_page(request, session, staff, exc.message, 422)
    return see_other("/staff?changed=1")


@router.post("/staff/{member_id}/deactivate", dependencies=[Csrf])
def staff_deactivate(
    member_id: int, request: Request, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    try:
        deactivate_staff(app, session, staff, member_id)
    except DomainError as exc:
        if exc.code in ("forbidden", "not_found"):
            raise
        return _staff_page(request, session, staff, exc.message, 422)
    return see_other("/staff")


@router.post("/staff", dependencies=[Csrf])
def staff_add(
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
    password: Annotated[str, Form()] = "",
) -> Response:
    require(staff, "manage")
    try:
        add_staff(
            app,
            session,
            provider_of(session, staff),
            email,
            name.strip() or email,
            password,
            role,
            by=staff,
        )
    except DomainError as exc:
        if exc.code == "forbidden":
            raise
        return _staff_page(request, session, staff, exc.message, 422)
    return see_other("/staff")


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
        frameworks=FRAMEWORKS,
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
        return _qa_page(request, session, staff, "Give the dates as YYYY-MM-DD.", 422)
    except DomainError as exc:
        if exc.code in ("forbidden", "not_found"):
            raise
        return _qa_page(request, session, staff, exc.message, 422)
    return see_other("/qa")


@router.post("/qa/accreditations/{accreditation_id}/withdraw", dependencies=[Csrf])
def qa_withdraw(
    accreditation_id: str, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    trust_service.withdraw(app, session, staff, accreditation_id)
    return see_other("/qa")


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
    definition_id: Annotated[int, Form()],
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
        message = exc.message if isinstance(exc, DomainError) else f"not valid: {exc}"
        return refused_to(request, "/pathways", message)
    return see_other("/pathways")


@router.get("/pathways/{pathway_id}")
def pathway_view(
    pathway_id: int, request: Request, app: AppDep, staff: CurrentStaff, session: DbSession
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
    award_id: int, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    record = stacking_service.get_award(session, award_id)
    stacking_service.confirm(app, session, record, staff)
    return see_other(f"/pathways/{record.pathway_id}")


@router.get("/rpl")
def rpl_list(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    require(staff, "assess")
    applications = rpl_service.applications_for_provider(session, staff.provider_id)
    titles = definitions.titles_for(session, staff.provider_id)
    return render(request, "rpl_list.html", applications=applications, titles=titles)


@router.get("/rpl/{application_id}")
def rpl_review(
    application_id: int, request: Request, staff: CurrentStaff, session: DbSession
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
        as_staff=True,
        error=request.query_params.get("error"),
    )


@router.get("/rpl/{application_id}/evidence/{evidence_id}")
def rpl_evidence(
    application_id: int, evidence_id: int, staff: CurrentStaff, session: DbSession
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
    application_id: int,
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
