"""Input that no route can use, refused before any route runs (pure ASGI).

- A path with a control character (U+0000–U+001F, U+007F) or text that is not UTF-8, and a
  query string carrying a NUL: 400, with a message naming what and where. (PostgreSQL refuses
  NUL in text, so such input would otherwise fail deep inside a query.)
- Request bodies are limited per route while they stream in: a ``Content-Length`` over the
  limit is refused before a byte is read, and a body that grows past it (chunked, or lying
  about its length) is cut off with 413 the moment it does, so no body is ever buffered whole
  beyond its route's limit.
"""

from __future__ import annotations

import json
import re
import traceback
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microcred.i18n import _
from microcred.services import bulk


def _control(text: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def problem_of(scope: Scope) -> str | None:
    """Why this request cannot be served, or None."""
    path = scope.get("path", "")
    if _control(path) or not _utf8(path):
        return _("The address contains a control character or is not valid UTF-8.")
    query = unquote_to_bytes(scope.get("query_string", b""))
    if b"\x00" in query:
        return _("The query string contains a NUL character.")
    return None


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            reason = problem_of(scope)
            if reason is not None:
                await _refuse(scope, send, 400, "request.malformed", reason)
                return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
    wants_html = "text/html" in Headers(scope=scope).get("accept", "")
    if wants_html:
        from html import escape

        body = (
            f"<!doctype html><meta charset=utf-8><title>{status}</title>"
            f"<h1>{status}</h1><p>{escape(message)}</p>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    else:
        body = json.dumps(
            {
                "type": f"urn:microcred:problem:{code}",
                "title": message,
                "status": status,
                "code": code,
            }
        ).encode()
        content_type = b"application/problem+json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                # the rest of a refused body is not read: the connection ends with the answer
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


MIB = 1024 * 1024
# (path pattern, limit in bytes): the first that matches; multipart and form overhead included
BODY_LIMITS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^/definitions/\d+/bulk$"), bulk.MAX_BYTES + MIB // 4),
    (re.compile(r"^/definitions/\d+/assess$"), 25 * MIB + MIB // 4),  # five evidence files
    (
        re.compile(r"^/(verify|api/verify|credentials/verify|presentations/verify|wallet/import)$"),
        8 * MIB + MIB // 4,  # PDFs and images: vc.pdf and vc.baking take 8 MiB
    ),
)
DEFAULT_BODY_LIMIT = 2 * MIB + 64 * 1024  # JSON (vc.jsonsafe: 2 MiB) and forms


_JSON_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json")


def body_limit(path: str, content_type: str = "") -> int:
    """The route's limit; a JSON body gets JSON's (a PDF or an image may be larger)."""
    if content_type.split(";", 1)[0].strip().lower() in _JSON_TYPES:
        return DEFAULT_BODY_LIMIT
    for pattern, limit in BODY_LIMITS:
        if pattern.match(path):
            return limit
    return DEFAULT_BODY_LIMIT


def too_large_cause(exc: BaseException) -> BodyTooLargeError | None:
    """The body-limit error behind ``exc`` (an error FastAPI raised while reading the body)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, BodyTooLargeError):
            _release(exc)  # the partial body sits in the frames it passed through
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def too_large_message(limit: int) -> str:
    return _too_large(limit)


def _too_large(limit: int) -> str:
    return _("The request body is larger than this address accepts (%(mib)s MiB).") % {
        "mib": round(limit / MIB, 1)
    }


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = body_limit(scope.get("path", ""), headers.get("content-type", ""))
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await _refuse(scope, send, 400, "request.malformed", _("Bad Content-Length."))
                return
            if int(declared) > limit:
                await _refuse(scope, send, 413, "request.too_large", _too_large(limit))
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # stop reading: the route's work is abandoned, rolled back
                    raise BodyTooLargeError(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BaseException as exc:
            too_large = _find(exc)
            if too_large is None or started:
                raise
            limit = too_large.limit
            _release(exc)
            del exc, too_large
            await _refuse(scope, send, 413, "request.too_large", _too_large(limit))


class BodyTooLargeError(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes")
        self.limit = limit


def _release(exc: BaseException, seen: set[int] | None = None) -> None:
    """Drop the locals of the frames the error passed through: the body read so far sits in
    them, and exception groups keep those frames in reference cycles that the garbage
    collector frees late (measured: a gigabyte under a stream of oversized bodies)."""
    seen = seen if seen is not None else set()
    if id(exc) in seen:
        return
    seen.add(id(exc))
    traceback.clear_frames(exc.__traceback__)
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            _release(inner, seen)
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            _release(linked, seen)


def _find(exc: BaseException) -> BodyTooLargeError | None:
    """The body-limit error, raised as is or inside exception groups (anyio task groups in
    Starlette's middleware wrap what ``receive`` raises)."""
    if isinstance(exc, BodyTooLargeError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _find(inner)
            if found is not None:
                return found
    cause = exc.__cause__ or exc.__context__
    return _find(cause) if isinstance(cause, BodyTooLargeError) else None
