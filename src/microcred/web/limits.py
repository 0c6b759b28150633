"""Input that no route can use, refused before any route runs (pure ASGI).

- A path with a control character (U+0000–U+001F, U+007F) or text that is not UTF-8, and a
  query string carrying a NUL: 400, with a message naming what and where. (PostgreSQL refuses
  NUL in text, so such input would otherwise fail deep inside a query.)
"""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from microcred.i18n import _


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
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
