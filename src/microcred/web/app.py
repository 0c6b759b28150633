"""The FastAPI application: routers, sessions, security headers, error pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import HTTPException as FastApiHTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from microcred import __version__, logs
from microcred.config import load_settings
from microcred.domain.catalog import DefinitionInvalidError
from microcred.domain.errors import DomainError, Forbidden, NotFound
from microcred.i18n import _
from microcred.services import search, unit, usage
from microcred.services import status as status_lists
from microcred.services.app import App, settle_memory
from microcred.services.trust import prepare_platform_signer
from microcred.services.verification import load_configured_registries
from microcred.web import (
    api,
    audit,
    branding,
    bulk,
    catalogue,
    definitions,
    issuing,
    onboarding,
    pathways,
    public,
    rpl,
    staff,
    trust,
    vc_api,
    verifier,
    wallet,
)
from microcred.web.deps import SignInRequired
from microcred.web.europass import router as europass_router
from microcred.web.headers import SecurityHeadersMiddleware
from microcred.web.health import router as health_router
from microcred.web.language import LanguageMiddleware
from microcred.web.language import router as language_router
from microcred.web.limits import (
    BodyLimitMiddleware,
    InputGuardMiddleware,
    too_large_cause,
    too_large_message,
)
from microcred.web.observability import RequestContextMiddleware, unexpected_error
from microcred.web.render import render

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HSTS = "max-age=31536000; includeSubDomains"
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


_MACHINE_PATHS = re.compile(
    r"^/(providers/[^/]+/(did\.json|status/.*)|credentials/[^/]+\.json|registry(\.json|/.*)"
    r"|accreditations/.*)$"
)


def _wants_json(request: Request) -> bool:
    return (
        request.url.path.startswith("/api/")
        or bool(_MACHINE_PATHS.match(request.url.path))
        or vc_api.wants_json(request.url.path)
        or "json" in request.headers.get("accept", "").split(",")[0]
    )


def _problem(request: Request, status: int, code: str, message: str, **extra: object) -> Response:
    if _wants_json(request):
        body = {
            "type": f"urn:microcred:problem:{code}",
            "title": message,
            "status": status,
            "code": code,
            **extra,
        }
        return JSONResponse(body, status_code=status, media_type="application/problem+json")
    return render(request, "error.html", status_code=status, status=status, message=message)


def create_app(app: App) -> FastAPI:
    @asynccontextmanager
    async def lifespan(web: FastAPI) -> AsyncIterator[None]:
        async with unit.event_loop_reads(app) as reads:  # kept verify answers (web/verifier.py)
            web.state.reads = reads
            try:
                with usage.flushing(app):  # views and verifications counted (ADR 0031)
                    yield
            finally:
                web.state.reads = None

    web = FastAPI(
        title="microcred",
        version=__version__,
        description="Issue, manage and verify Open Badges 3.0 micro-credentials.",
        lifespan=lifespan,
    )
    web.state.microcred = app
    load_configured_registries(app)
    prepare_platform_signer(app)  # the registry's signing identity exists before any GET
    status_lists.publish_stale(app)  # stored signed status lists, from the first GET
    search.refresh_if_behind(app)  # catalogue entries for what was published before them
    web.add_middleware(
        SessionMiddleware,
        secret_key=app.settings.secret_key,
        session_cookie="microcred_session",
        same_site="lax",
        https_only=app.settings.base_url.startswith("https://"),
        max_age=8 * 3600,
    )

    hsts = app.settings.production and app.settings.base_url.startswith("https://")
    # browsers keep to https for a year once they have seen the site over it
    headers = {**SECURITY_HEADERS, **({"Strict-Transport-Security": HSTS} if hsts else {})}
    web.add_middleware(SecurityHeadersMiddleware, headers=headers)
    web.add_middleware(BodyLimitMiddleware)  # per-route body limits, while the body streams
    web.add_middleware(InputGuardMiddleware)  # NUL and control characters: refused first
    web.add_middleware(LanguageMiddleware)  # the reader's language, before anything renders
    # outermost: the request id, the access log and the HTTP metrics see every answer
    web.add_middleware(RequestContextMiddleware)

    @web.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return unexpected_error(request, exc, _problem, SECURITY_HEADERS)

    @web.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired) -> Response:
        if _wants_json(request):
            return _problem(request, 401, "sign_in_required", _("sign in first"))
        path = request.url.path
        target = "/account/signin" if path.startswith(("/wallet", "/account")) else "/signin"
        return RedirectResponse(f"{target}?next={path}", status_code=303)

    @web.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _problem(request, 404, exc.code, exc.message)

    @web.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _problem(request, 403, exc.code, exc.message)

    @web.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        extra: dict[str, object] = {"field": exc.field} if exc.field else {}
        problems = getattr(exc, "problems", None)
        if problems:
            extra["problems"] = [{"field": f, "message": m} for f, m in problems]
        return _problem(request, 422, exc.code, exc.message, **extra)

    @web.exception_handler(DefinitionInvalidError)
    async def _invalid(request: Request, exc: DefinitionInvalidError) -> Response:
        return _problem(
            request,
            422,
            "definition.invalid",
            str(exc),
            problems=[{"field": f, "message": m} for f, m in exc.problems],
        )

    @web.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        cut_off = too_large_cause(exc)  # FastAPI reports a body it could not finish as a 400
        if cut_off is not None:
            exc = HTTPException(413, too_large_message(cut_off.limit), {"Connection": "close"})
        if _wants_json(request):
            response = _problem(request, exc.status_code, "http", str(exc.detail))
        else:
            response = render(
                request,
                "error.html",
                status_code=exc.status_code,
                status=exc.status_code,
                message=str(exc.detail),
            )
        for name, value in (exc.headers or {}).items():  # Allow on 405, WWW-Authenticate on 401
            response.headers[name] = value
        return response

    @web.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> Response:
        """The database refused a value the routes let through (a NUL in a form field on
        PostgreSQL, a number past its range): the request's transaction is rolled back."""
        logs.log_refused_value(exc)
        return _problem(
            request,
            400,
            "request.unstorable",
            _(
                "A value in the request cannot be used: it contains a NUL character or a number "
                "out of range."
            ),
        )

    @web.exception_handler(RequestValidationError)
    async def _unprocessable(request: Request, exc: RequestValidationError) -> Response:
        """Which parameter is wrong and why, without echoing the input back (it may not even
        be encodable: a lone surrogate)."""
        problems = [
            {
                "field": ".".join(str(part) for part in error.get("loc", ())),
                "message": str(error.get("msg", "invalid")),
            }
            for error in exc.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
        return _problem(
            request, 422, "request.invalid", summary or _("invalid request"), problems=problems
        )

    web.add_exception_handler(FastApiHTTPException, _http)  # type: ignore[arg-type]
    web.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    web.include_router(health_router)
    web.include_router(language_router)
    web.include_router(public.router)
    web.include_router(catalogue.router)
    web.include_router(catalogue.api)
    web.include_router(onboarding.router)
    web.include_router(api.router)
    web.include_router(verifier.router)
    web.include_router(vc_api.router)
    web.include_router(wallet.router)
    # the provider's pages, by domain (the order their routes are matched in)
    for pages in (staff, definitions, issuing, bulk, trust, pathways, rpl, branding):
        web.include_router(pages.router)
    web.include_router(audit.router)
    web.include_router(europass_router)  # ELM 3 exports for Europass (ADR 0028)
    return web


def create_app_from_env() -> FastAPI:
    """The application from ``MICROCRED_*`` settings, for ``uvicorn --factory`` and
    ``microcred serve --workers N`` (each worker process calls it). Migrations are not run
    here: ``microcred serve`` runs them once before the workers start (``/readyz`` says so
    when the schema is behind)."""
    settings = load_settings()
    logs.configure(settings)
    web = create_app(App.start(settings, run_migrations=False))
    settle_memory()
    return web
