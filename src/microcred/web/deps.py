"""Request plumbing: the app, a database session per request, the signed-in staff, CSRF."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlalchemy.orm import Session

from microcred.i18n import _
from microcred.services import providers, ratelimit, sessions, unit
from microcred.services.app import App
from microcred.services.models import Provider, Staff
from microcred.services.providers import staff_for_token

CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class StaffView:
    id: int
    name: str
    role: str
    provider_id: int


class SignInRequired(Exception):  # noqa: N818 - control flow, turned into a redirect
    pass


async def get_app(request: Request) -> App:
    """``async``: FastAPI runs a plain ``def`` dependency in the thread pool, a hop per request
    for an attribute read."""
    app: App = request.app.state.microcred
    return app


def refuse(request: Request) -> None:
    """Mark the request refused: its transaction is rolled back instead of committed (a handler
    that renders a refusal itself, 4xx or a redirect carrying the error, writes nothing)."""
    request.state.refused = True


def keep_writes(request: Request) -> None:
    """A refusal whose one write must stay: a failed sign-in is counted to throttle guessing
    (the ``sign_in_failures`` exemption of the refusal guard)."""
    request.state.refused = False


def refused(request: Request) -> bool:
    return bool(getattr(request.state, "refused", False))


def get_session(request: Request, app: Annotated[App, Depends(get_app)]) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error
    or when the handler refused (:func:`refuse`).
    GET and HEAD requests read without taking SQLite's write lock. ``DbSession`` uses it with
    ``scope="function"`` so the commit happens before the response is sent: a browser following
    a 303 must see what the POST wrote."""
    readonly = request.method in ("GET", "HEAD")
    with unit.open_request_session(app, readonly=readonly) as (session, transaction):
        yield session
        if refused(request):
            transaction.rollback()  # the use case refused: nothing it wrote is kept


DbSession = Annotated[Session, Depends(get_session, scope="function")]
AppDep = Annotated[App, Depends(get_app)]

# Row ids in paths and forms: the database's integer range, so an out-of-range id is a clear
# 422 naming the parameter, not a database error.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
FormRowId = Annotated[int, Form(ge=1, le=MAX_ROW_ID)]
BodyRowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return str(token)


def check_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Every form POST carries the session's token; a missing or wrong one is refused."""
    expected = request.session.get(CSRF_FIELD)
    if not expected or not secrets.compare_digest(str(expected), csrf_token):
        raise HTTPException(status_code=403, detail=_("missing or invalid CSRF token"))


def client_address(request: Request) -> str | None:
    """The visitor's address (uvicorn takes it from X-Forwarded-For only from trusted proxies)."""
    return request.client.host if request.client else None


STAFF_SESSION = "staff_session"
LEARNER_SESSION = "learner_session"


def current_staff(request: Request, app: AppDep, session: DbSession) -> Staff:
    token = request.session.get(STAFF_SESSION)
    staff_id = sessions.subject(app, session, "staff", token) if token else None
    staff = providers.get_staff(session, staff_id) if staff_id else None
    if staff is None or staff.deactivated_at is not None:
        request.session.pop(STAFF_SESSION, None)  # ended, expired or removed: signed out
        raise SignInRequired
    # A detached snapshot for templates (error pages render after the session closed).
    request.state.staff = StaffView(staff.id, staff.name, staff.role, staff.provider_id)
    return staff


def api_staff(request: Request, session: DbSession) -> Staff:
    header = request.headers.get("authorization", "")
    scheme, _sep, token = header.partition(" ")
    staff = staff_for_token(session, token.strip()) if scheme.lower() == "bearer" else None
    if staff is None:
        raise HTTPException(
            status_code=401,
            detail=_("a valid API token is required (Authorization: Bearer mc_...)"),
            headers={"WWW-Authenticate": "Bearer"},
        )
    return staff


def provider_of(session: Session, staff: Staff) -> Provider:
    return providers.provider_of(session, staff)


CurrentStaff = Annotated[Staff, Depends(current_staff)]
ApiStaff = Annotated[Staff, Depends(api_staff)]
Csrf = Depends(check_csrf)


def rate_limited(scope: str, *, only_with_query: str | None = None) -> Any:
    """A route dependency: count the request against its caller's quota for ``scope`` (an
    API token's, else the client address's) and answer 429 with ``Retry-After`` past it.
    ``only_with_query``: count only requests carrying that query parameter."""

    async def check(request: Request, app: AppDep) -> None:
        # ``async``: a request drawn from this process's lease is counted without leaving the
        # event loop; only a draw from the shared count (the database) runs in the thread pool.
        if only_with_query and not request.query_params.get(only_with_query):
            return
        scheme, _sep, token = request.headers.get("authorization", "").partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        address = client_address(request)
        decision = ratelimit.leased(app, scope, bearer, address)
        if decision is None:
            decision = await run_in_threadpool(ratelimit.check, app, scope, bearer, address)
        limit = decision.limit
        if not decision.allowed:
            raise HTTPException(
                status_code=429,
                detail=_(
                    "Too many requests: at most %(limit)s a minute here. "
                    "Try again in %(seconds)s seconds."
                )
                % {"limit": limit, "seconds": decision.retry_after},
                headers={"Retry-After": str(decision.retry_after)},
            )

    return Depends(check)
