"""Security headers on every answer (and CORS on the machine-readable public documents), as a
plain ASGI middleware: Starlette's ``@app.middleware("http")`` runs each request through an
extra task and memory stream, a measurable share of a kept verify answer."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

OPEN_PATHS = ("/providers/", "/credentials/")  # readable from any origin (verifiers in browsers)
_ALLOW_ORIGIN = b"access-control-allow-origin"


class SecurityHeadersMiddleware:
    """Add ``headers`` where the response has not set them; ``Access-Control-Allow-Origin: *``
    on the public documents under :data:`OPEN_PATHS`."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        # as the ASGI message carries them: lower-case names, bytes (Starlette's MutableHeaders
        # rescans the list for each header it sets: a twentieth of a kept verify answer)
        self._raw = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        open_to_all = str(scope.get("path", "")).startswith(OPEN_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers") or ())
                present = {name.lower() for name, _value in raw}
                raw += [(name, value) for name, value in self._raw if name not in present]
                if open_to_all and _ALLOW_ORIGIN not in present:
                    raw.append((_ALLOW_ORIGIN, b"*"))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)
