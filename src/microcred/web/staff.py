"""The provider's home, sign-in and dashboard; its signing keys, API tokens and staff."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from microcred.domain.errors import DomainError, NotFound
from microcred.i18n import _
from microcred.services import (
    definitions,
    issuing,
    keys,
    onboarding,
    providers,
    search,
    sessions,
    throttle,
    usage,
)
from microcred.services.models import Staff
from microcred.services.providers import (
    ROLES,
    add_staff,
    authenticate,
    change_password,
    create_api_token,
    deactivate_staff,
    members,
    require,
    revoke_token,
    tokens,
)
from microcred.web.deps import (
    STAFF_SESSION,
    AppDep,
    Csrf,
    CurrentStaff,
    DbSession,
    RowId,
    client_address,
    keep_writes,
    provider_of,
)
from microcred.web.render import confirm, render, see_other, too_many

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.get("/")
def home(request: Request, app: AppDep) -> Response:
    if request.session.get(STAFF_SESSION):
        return see_other("/dashboard")
    latest = search.search(app, search.Query(), facets=False).hits[:6]  # the newest ones
    return render(request, "home.html", latest=latest)


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
        page = render(request, "signin.html", status_code=401, error=_("Wrong email or password."))
        keep_writes(request)  # the failure is counted
        return page
    sessions.end(app, session, request.session.get(STAFF_SESSION))  # whoever was signed in
    request.session.clear()  # a new session on sign-in: no fixation
    request.session[STAFF_SESSION] = sessions.start(app, session, "staff", staff.id)
    return see_other("/dashboard")


@router.post("/signout", dependencies=[Csrf])
def signout(request: Request, app: AppDep, session: DbSession) -> Response:
    sessions.end(app, session, request.session.get(STAFF_SESSION))
    request.session.clear()
    return see_other("/")


@router.post("/signout/everywhere", dependencies=[Csrf])
def signout_everywhere(
    request: Request, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    """Every session of this member ends, on every device, this one included."""
    sessions.end_all(app, session, "staff", staff.id)
    request.session.clear()
    return see_other("/signin?everywhere=1")


@router.get("/dashboard")
def dashboard(request: Request, app: AppDep, staff: CurrentStaff, session: DbSession) -> Response:
    provider = provider_of(session, staff)
    if provider.kind == "qa_body":
        return see_other("/qa")
    if provider.kind == "platform":  # the platform's operators: applications to join
        return see_other("/operator")
    recent = issuing.search(session, provider, limit=10)
    defs = definitions.list_for(session, provider)
    steps = onboarding.checklist(session, provider)
    return render(
        request,
        "dashboard.html",
        provider=provider,
        recent=recent,
        definitions=defs,
        steps=steps if not all(s.done for s in steps) else [],
        titles=definitions.titles_for(session, provider.id),
        usage=usage.usage(session, provider.id, app.now().date(), 30),
        all_time=usage.all_time(session, provider.id),
        metrics=usage.METRICS,
    )


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
def token_revoke(token_id: RowId, app: AppDep, staff: CurrentStaff, session: DbSession) -> Response:
    revoke_token(app, session, staff, token_id)
    return see_other("/keys")


@router.post("/keys/rotate/confirm", dependencies=[Csrf])
def key_rotate_confirm(request: Request, staff: CurrentStaff) -> Response:
    require(staff, "manage")
    return confirm(
        request,
        heading=_("Make a new signing key?"),
        lines=[
            _("New credentials are signed with the new key from now on."),
            _("The old key is retired, not deleted: it stays in your DID document, so every "
              "credential it signed keeps verifying."),
        ],
        action="/keys/rotate",
        button=_("Make a new key"),
        back="/keys",
        public=_("your DID document lists the new key at once."),
    )  # fmt: skip


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
        request,
        "staff.html",
        status_code=status_code,
        members=members,
        roles=ROLES,  # codes: the page words them, _(role)
        error=error,
    )


@router.get("/staff")
def staff_list(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    return _staff_page(request, session, staff)


@router.post("/staff/password", dependencies=[Csrf])
def staff_password(
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
) -> Response:
    try:
        change_password(app, staff, current, new, keep_session=request.session.get(STAFF_SESSION))
    except DomainError as exc:
        return _staff_page(request, session, staff, exc.message, 422)
    return see_other("/staff?changed=1")


@router.post("/staff/{member_id}/deactivate/confirm", dependencies=[Csrf])
def staff_deactivate_confirm(
    member_id: RowId, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "manage")
    member = next((m for m in members(session, staff.provider_id) if m.id == member_id), None)
    if member is None:
        raise NotFound("staff member")
    return confirm(
        request,
        heading=_("Remove %(name)s's access?") % {"name": member.name},
        lines=[
            _("They are signed out everywhere and their API tokens stop working at once."),
            _("What they did stays in the audit log, under their name."),
        ],
        action=f"/staff/{member_id}/deactivate",
        button=_("Remove access"),
        back="/staff",
    )


@router.post("/staff/{member_id}/deactivate", dependencies=[Csrf])
def staff_deactivate(
    member_id: RowId, request: Request, app: AppDep, staff: CurrentStaff, session: DbSession
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
