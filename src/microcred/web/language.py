"""The reader's language: chosen at ``/language/<code>`` (a year-long cookie), otherwise the
browser's ``Accept-Language``; set for the request before anything renders, and said back in
``Content-Language`` (with ``Vary``, so that shared caches keep one answer per language)."""

from __future__ import annotations

from http.cookies import SimpleCookie

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microcred.i18n import LANGUAGES, negotiate, set_language
from microcred.services import sessions
from microcred.web.deps import LEARNER_SESSION, STAFF_SESSION, AppDep

COOKIE = "microcred_lang"
router = APIRouter()


def local_path(target: str) -> str:
    """``target`` if it is a path on this site, else ``/`` (never a redirect elsewhere)."""
    if (
        not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(c in target for c in "\r\n\\")
        or len(target) > 2000
    ):
        return "/"
    return target


def chosen(cookie_header: str | None, accept_language: str | None) -> str:
    """The reader's choice if it is one of ours, else the browser's best fit."""
    if cookie_header and COOKIE in cookie_header:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except Exception:  # noqa: BLE001 - a malformed Cookie header: fall back to the browser
            jar = SimpleCookie()
        morsel = jar.get(COOKIE)
        if morsel is not None and morsel.value in LANGUAGES:
            return morsel.value
    return negotiate(accept_language)


class LanguageMiddleware:
    """Sets the request's language (``microcred.i18n.current``) from the cookie or the header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = accept = None
        for name, value in scope.get("headers") or ():
            if name == b"cookie":
                cookie = value.decode("latin-1")
            elif name == b"accept-language":
                accept = value.decode("latin-1")
        if cookie is None and accept is None:  # machines: English, nothing to add
            await self.app(scope, receive, send)
            return
        language = chosen(cookie, accept)
        set_language(language)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers") or ())
                if any(n == b"content-type" and v.startswith(b"text/html") for n, v in raw):
                    raw.append((b"content-language", language.encode()))
                    raw.append((b"vary", b"Accept-Language, Cookie"))
                    message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_language)


@router.get("/language/{code}", include_in_schema=False)
def choose(
    request: Request,
    app: AppDep,
    code: str,
    next: str = "/",
) -> RedirectResponse:
    """Remember the reader's language for a year (and, signed in, for their emails) and go
    back to the page they were on."""
    response = RedirectResponse(local_path(next), status_code=303)
    if code in LANGUAGES:
        sessions.remember_language(
            app, request.session.get(LEARNER_SESSION), request.session.get(STAFF_SESSION), code
        )
        response.set_cookie(
            COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=request.url.scheme == "https",
            httponly=True,
        )
    return response
