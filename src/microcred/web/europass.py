"""Europass export routes: a credential or a definition as ELM 3 JSON-LD (services.europass).
Errors are answered as problem details, whatever the Accept header: these are documents for
machines."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from microcred.domain.errors import DomainError, NotFound
from microcred.i18n import _
from microcred.services import europass
from microcred.services.app import App
from microcred.services.models import Staff
from microcred.services.providers import staff_for_token
from microcred.web.deps import AppDep, DbSession, RowId, SignInRequired, current_staff
from microcred.web.problems import PROBLEM, problem_responses

JSON_LD = "application/ld+json"
_PROBLEM_SCHEMA = {"schema": {"type": "object"}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The ELM 3 JSON-LD document (EDC application profile), unsigned.",
        "content": {JSON_LD: {"schema": {"type": "object"}}},
    },
    **problem_responses(),
    410: {
        "description": "Erased at the learner's request.",
        "content": {PROBLEM: _PROBLEM_SCHEMA},
    },
}
router = APIRouter(tags=["europass"], responses=_RESPONSES)


def _problem(status: int, code: str, title: str, detail: str | None = None) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:microcred:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _refused(exc: DomainError, missing: str) -> Response:
    """``missing``: the sentence a 404 answers (``No such credential.``), translated."""
    if isinstance(exc, NotFound):
        return _problem(404, exc.code, missing)
    if isinstance(exc, europass.ErasedError):
        return _problem(410, exc.code, _("This credential was erased at the learner's request."))
    return _problem(422, exc.code, _("This cannot be exported to Europass."), exc.message)


def _document(document: dict[str, Any], filename: str) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False),
        media_type=JSON_LD,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _caller(request: Request, app: App, session: Session) -> Staff | None:
    """The signed-in staff member (session cookie or API token), or None: never a redirect."""
    try:
        return current_staff(request, app, session)
    except SignInRequired:
        pass
    scheme, _sep, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return staff_for_token(session, token.strip())
    return None


@router.get("/credentials/{credential_id}/europass.jsonld")
def credential_europass(credential_id: str, session: DbSession) -> Response:
    """The issued credential in the European Learning Model, for Europass (public, as the
    credential is)."""
    try:
        document = europass.credential_document(session, credential_id)
    except DomainError as exc:
        return _refused(exc, _("No such credential."))
    return _document(document, f"{credential_id}-europass.jsonld")


@router.get("/definitions/{definition_id}/europass.jsonld")
def definition_europass(
    definition_id: RowId, request: Request, app: AppDep, session: DbSession
) -> Response:
    """The micro-credential definition as an ELM learning opportunity: public once published; a
    draft for its provider's staff only."""
    try:
        document = europass.definition_document(
            app, session, definition_id, _caller(request, app, session)
        )
    except DomainError as exc:
        return _refused(exc, _("No such definition."))
    return _document(document, f"definition-{definition_id}-europass.jsonld")
