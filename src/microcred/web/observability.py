"""Per request: the request id, the access log line, the HTTP metrics; and the answer to an
unexpected exception (logged with its traceback, shown to nobody; ADR 0018)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microcred import metrics
from microcred.i18n import _
from microcred.logs import (
    REQUEST_ID_HEADER,
    current_request_id,
    mark_logged,
    sane_request_id,
    set_request_id,
)

access_log = logging.getLogger("microcred.access")
error_log = logging.getLogger("microcred.web")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes: DEBUG only
_SECRET_PARAM = ("token", "secret", "code", "key")
UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/credentials/{credential_id}``), never the raw
    path: bounded label values for metrics, no capability tokens in logs."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else UNMATCHED


def _logged_path(scope: Scope, template: str) -> str:
    """The path as requested (still percent-encoded, so a line break cannot forge a log line),
    unless it matched no route or a path parameter is a secret (``/s/{token}``): then the
    template, so an unmatched ``/s/TOKEN/x`` logs no token either."""
    params = scope.get("path_params") or {}
    if template == UNMATCHED or any(
        part in name.lower() for name in params for part in _SECRET_PARAM
    ):
        return template
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(scope.get("path", ""))
    return "".join(c if c.isprintable() and not c.isspace() else f"%{ord(c):02X}" for c in path)


def _query_keys(scope: Scope) -> str:
    """Only the names of query parameters: their values may be tokens."""
    raw = scope.get("query_string", b"").decode("latin-1")
    keys = {pair.split("=", 1)[0] for pair in raw.split("&") if pair}
    return ",".join(sorted(k[:40] for k in keys)[:20])


class RequestContextMiddleware:
    """Outermost middleware: take the caller's ``X-Request-ID`` when sane or make one, bind it
    for the logs, echo it on the response; then one access log line and the HTTP metrics.

    The context variable is deliberately not reset at the end: the error handler and the
    server's own error log run after this middleware returns, in the same task."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = sane_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        request_id = request_id or uuid.uuid4().hex
        set_request_id(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            template = route_template(scope)
            metrics.HTTP_REQUESTS.labels(method, template, str(status)).inc()
            metrics.HTTP_LATENCY.labels(method, template).observe(elapsed)
            path = _logged_path(scope, template)
            access_log.log(
                logging.DEBUG if scope.get("path") in _QUIET else logging.INFO,
                "%s %s %s %.1fms",
                method,
                path,
                status,
                elapsed * 1000,
                extra={
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    **({"query_keys": keys} if (keys := _query_keys(scope)) else {}),
                },
            )


def request_id_of(request: Request) -> str:
    """The id the middleware gave this request."""
    return str(getattr(request.state, "request_id", None) or current_request_id() or "-")


Problem = Callable[..., Response]


def unexpected_error(
    request: Request, exc: Exception, problem: Problem, headers: Mapping[str, str]
) -> Response:
    """Log the exception with its traceback; answer 500 with the request id as a reference
    (the problem details or the error page), never the traceback."""
    request_id = request_id_of(request)
    error_log.error(
        "unexpected error answering %s %s",
        request.method,
        route_template(request.scope),
        exc_info=exc,
        extra={"request_id": request_id},
    )
    mark_logged(exc)
    message = _(
        "Something went wrong on our side. If you contact us about it, quote this reference: "
        "%(reference)s."
    ) % {"reference": request_id}
    response: Response
    try:
        response = problem(request, 500, "internal", message, request_id=request_id)
    except Exception:  # noqa: BLE001 - the error page itself failed; answer plainly
        error_log.exception("the error page failed", extra={"request_id": request_id})
        response = PlainTextResponse(message, status_code=500)
    extra: dict[str, Any] = {REQUEST_ID_HEADER: request_id, **headers}
    for name, value in extra.items():
        response.headers.setdefault(name, value)
    return response
