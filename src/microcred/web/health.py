"""Operations endpoints: ``/healthz`` (the process answers), ``/readyz`` (it can serve:
database, migrations), ``/metrics`` (Prometheus; loopback or a bearer token only)."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from microcred import metrics
from microcred.services.health import queue_state, readiness
from microcred.web.deps import AppDep

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
# set by a reverse proxy: the request came from elsewhere even if the proxy is on loopback
_PROXIED = ("x-forwarded-for", "forwarded", "x-real-ip")


@router.get("/healthz")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz")
def readyz(app: AppDep) -> JSONResponse:
    checks = readiness(app)
    ready = all(c.ok for c in checks)
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": {c.name: c.detail for c in checks}},
        status_code=200 if ready else 503,
        headers=NO_STORE,
    )


def _from_loopback(request: Request) -> bool:
    if any(name in request.headers for name in _PROXIED):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer_ok(request: Request, token: str | None) -> bool:
    if not token:
        return False
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    given_bytes = given.strip().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(given_bytes, token.encode())


@router.get("/metrics")
def prometheus_metrics(request: Request, app: AppDep) -> Response:
    """Not public: from loopback without a proxy in between, or with
    ``Authorization: Bearer MICROCRED_METRICS_TOKEN``; 404 for everyone else."""
    if not (_from_loopback(request) or _bearer_ok(request, app.settings.metrics_token)):
        raise HTTPException(status_code=404, detail="Not Found")
    body, content_type = metrics.exposition()
    queue = queue_state(app)
    if queue is not None:
        body += metrics.queue_exposition(
            queue.waiting, queue.running, queue.failed, queue.oldest_waiting_seconds
        )
    return Response(body, media_type=content_type, headers=NO_STORE)
