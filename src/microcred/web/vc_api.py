"""The W3C VC API's issuer routes: issue a credential, update its status, publish a status list.

Errors are RFC 9457 problem details (``application/problem+json``): 400 for a request body that
is not what the API takes, 422 for a credential that breaks the VC Data Model, with an
``errors`` list naming each field (``pointer`` is a JSON pointer into the request body).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from microcred.domain.errors import DomainError, Forbidden, NotFound
from microcred.i18n import _
from microcred.services import status, vc_api
from microcred.services.providers import require
from microcred.vc.errors import VcError
from microcred.vc.jsonsafe import DEFAULT_MAX_BYTES, parse_json
from microcred.vc.message import text as shown
from microcred.web.deps import ApiStaff, AppDep, DbSession, RowId, provider_of
from microcred.web.problems import problem_responses

router = APIRouter(responses=problem_responses())
PROBLEM = "application/problem+json"
JSON_PATHS = ("/credentials/issue", "/credentials/status")


def wants_json(path: str) -> bool:
    """The VC API's routes answer errors (401 included) as problem details, never pages."""
    return path in JSON_PATHS or (path.startswith("/providers/") and path.endswith("/publish"))


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def problem(
    status_code: int,
    code: str,
    title: str,
    detail: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:microcred:problem:{code}",
        "title": title,
        "status": status_code,
        "code": code,
        "detail": detail or title,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status_code, media_type=PROBLEM)


def _bad_request(field: str, message: str) -> JSONResponse:
    return problem(
        400,
        "request.invalid",
        _("The request body is not a valid VC API request"),
        message,
        [{"field": field, "pointer": f"/{field}", "code": "request.invalid", "message": message}],
    )


def _domain_problem(exc: DomainError) -> JSONResponse:
    status_code = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else 422
    errors = None
    if exc.field:
        pointer = "/" + exc.field.replace(".", "/")
        errors = [
            {"field": exc.field, "pointer": pointer, "code": exc.code, "message": exc.message}
        ]
    return problem(status_code, exc.code, exc.message, exc.message, errors)


def _body(raw: bytes) -> dict[str, Any] | JSONResponse:
    try:
        body = parse_json(raw, max_bytes=DEFAULT_MAX_BYTES)
    except VcError as exc:
        return problem(400, exc.code, _("The request body is not JSON"), shown(exc.message))
    if not isinstance(body, dict):
        return problem(400, "request.invalid", _("The request body must be a JSON object"))
    return body


@router.post("/credentials/issue", status_code=201, tags=["W3C VC API"])
def issue(raw: RawBody, app: AppDep, staff: ApiStaff, session: DbSession) -> Response:
    """Issue ``credential`` as the token's provider: 201 ``{"verifiableCredential": ...}``.

    The credential is checked against the VC Data Model (1.1 or 2.0) and issued like any other:
    a status entry (revocation), a stored row, an audit event. Unknown ``options`` are ignored.
    """
    body = _body(raw)
    if isinstance(body, JSONResponse):
        return body
    credential = body.get("credential")
    if not isinstance(credential, dict):
        return _bad_request("credential", _("credential (a JSON object) is required"))
    options = body.get("options")
    if options is not None and not isinstance(options, dict):
        return _bad_request("options", _("options must be an object"))
    try:
        _row, signed = vc_api.issue_document(app, session, staff, credential)
    except vc_api.InvalidCredentialError as exc:
        errors = [{**p.to_json(), "pointer": "/credential" + p.pointer} for p in exc.violations]
        return problem(
            422,
            exc.code,
            _("The credential does not conform to the VC Data Model"),
            exc.message,
            errors,
        )
    except DomainError as exc:
        return _domain_problem(exc)
    return JSONResponse({"verifiableCredential": signed}, status_code=201)


@router.post("/credentials/status", tags=["W3C VC API"])
def update_status(raw: RawBody, app: AppDep, staff: ApiStaff, session: DbSession) -> Response:
    """Update a credential's status: ``{"credentialId", "credentialStatus": {"type":
    "BitstringStatusListEntry", "statusPurpose": "revocation"|"suspension"}, "status": true}``.

    ``status`` defaults to true (set the bit); false lifts a suspension. The list credential is
    re-signed when it is next read, so it is published at once.
    """
    body = _body(raw)
    if isinstance(body, JSONResponse):
        return body
    credential_id = body.get("credentialId")
    if not isinstance(credential_id, str) or not credential_id:
        return _bad_request("credentialId", _("credentialId (a string) is required"))
    entry = body.get("credentialStatus")
    if isinstance(entry, list) and len(entry) == 1:
        entry = entry[0]
    if not isinstance(entry, dict):
        return _bad_request(
            "credentialStatus",
            _("credentialStatus (an object with type and statusPurpose) is required"),
        )
    value = body.get("status", True)
    if not isinstance(value, bool):
        return _bad_request("status", _("status must be true or false"))
    try:
        rows = vc_api.update_status(app, session, staff, credential_id, entry, value)
    except DomainError as exc:
        return _domain_problem(exc)
    return JSONResponse(
        {
            "credentialId": credential_id,
            "credentialStatus": {"type": entry["type"], "statusPurpose": entry["statusPurpose"]},
            "status": value,
            "credentials": [{"id": row.id, "state": row.state} for row in rows],
        }
    )


@router.post("/providers/{slug}/status/{number}/{purpose}/publish", tags=["W3C VC API"])
def publish(
    slug: str, number: RowId, purpose: str, app: AppDep, staff: ApiStaff, session: DbSession
) -> Response:
    """Publish a status list now (204). Lists are recomputed and re-signed whenever they are read
    after a change, so this only signs the current bits ahead of the first reader."""
    provider = provider_of(session, staff)
    try:
        require(staff, "revoke")
        if provider.slug != slug:
            raise NotFound("status list")
        status.published_list(app, session, provider, number, purpose)
    except DomainError as exc:
        return _domain_problem(exc)
    return Response(status_code=204)
