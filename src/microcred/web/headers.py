"""Security headers on every answer (and CORS on the machine-readable public documents), as a
plain ASGI middleware: Starlette's ``@app.middleware("http")`` runs each request through an
extra task and memory stream, a measurable share of a kept verify answer."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

OPEN_PATHS = ("/providers/", "/credentials/")  # readable from any origin (verifiers in browsers)


class SecurityHeadersMiddleware:
    """Add ``headers`` where the response has not set them; ``Access-Control-Allow-Origin: *``
    on the public documents under :data:`OPEN_PATHS`."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self.headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        open_to_all = str(scope.get("path", "")).startswith(OPEN_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if open_to_all:
                    headers.setdefault("Access-Control-Allow-Origin", "*")
            await send(message)

        await self.app(scope, receive, send_with_headers)
