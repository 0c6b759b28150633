"""The provider's micro-credential definitions: create, edit, publish, new versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from microcred.domain.catalog import (
    MANDATORY_ELEMENTS,
    PARTICIPATION,
    SUPERVISION,
    DefinitionInvalidError,
    publication_problems,
)
from microcred.services import definitions
from microcred.services.models import Definition
from microcred.services.providers import require
from microcred.web.deps import AppDep, Csrf, CurrentStaff, DbSession, RowId, provider_of
from microcred.web.forms import FIELD_LABELS, FormProblemsError, definition_from_form, form_field
from microcred.web.render import render, see_other

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.get("/definitions")
def definition_list(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    provider = provider_of(session, staff)
    return render(request, "definitions.html", definitions=definitions.list_for(session, provider))


def _form_context(
    row: Definition | None, data: dict[str, Any], errors: list[Any]
) -> dict[str, Any]:
    outcomes = list(data.get("learning_outcomes") or [])
    beside: dict[str, str] = {}
    for field, message in errors:  # the first reason of each field, beside it
        beside.setdefault(form_field(str(field)), str(message))
    return {
        "row": row,
        "data": data,
        "outcomes": outcomes + [{}] * max(2, 4 - len(outcomes)),
        "errors": [(form_field(str(f)), m) for f, m in errors],
        "field_errors": beside,
        "field_labels": FIELD_LABELS,
        "participation": PARTICIPATION,
        "supervision": SUPERVISION,
    }


def _refused(
    request: Request,
    row: Definition | None,
    form: Any,
    exc: FormProblemsError | DefinitionInvalidError,
) -> Response:
    """The form again as typed, each reason beside its field (nothing is saved)."""
    data = exc.data if isinstance(exc, FormProblemsError) else definition_from_form(form)
    return render(
        request, "definition_form.html", status_code=422, **_form_context(row, data, exc.problems)
    )


@router.get("/definitions/new")
def definition_new(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    require(staff, "define")
    provider = provider_of(session, staff)
    data = {
        "country_code": provider.country_code,
        "awarding_body": provider.legal_name,
        "language": "en",
    }
    return render(request, "definition_form.html", **_form_context(None, data, []))


@router.post("/definitions", dependencies=[Csrf])
async def definition_create(
    request: Request, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "define")
    form = await request.form()
    try:
        data = definition_from_form(form)
        row = definitions.create(app, session, provider_of(session, staff), data)
    except (FormProblemsError, DefinitionInvalidError) as exc:
        return _refused(request, None, form, exc)
    return see_other(f"/definitions/{row.id}")


@router.get("/definitions/{definition_id}")
def definition_view(
    definition_id: RowId, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    row = definitions.get(session, provider_of(session, staff), definition_id)
    data = definitions.data_of(row)
    return render(
        request,
        "definition_view.html",
        row=row,
        data=data,
        problems=publication_problems(data) if row.state == "draft" else [],
        labels=MANDATORY_ELEMENTS,
        participation=PARTICIPATION,
        supervision=SUPERVISION,
    )


@router.get("/definitions/{definition_id}/edit")
def definition_edit(
    definition_id: RowId, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "define")
    row = definitions.get(session, provider_of(session, staff), definition_id)
    return render(request, "definition_form.html", **_form_context(row, row.data, []))


@router.post("/definitions/{definition_id}", dependencies=[Csrf])
async def definition_update(
    definition_id: RowId, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "define")
    provider = provider_of(session, staff)
    row = definitions.get(session, provider, definition_id)
    form = await request.form()
    try:
        definitions.update(session, provider, row, definition_from_form(form))
    except (FormProblemsError, DefinitionInvalidError) as exc:
        return _refused(request, row, form, exc)
    return see_other(f"/definitions/{row.id}")


@router.post("/definitions/{definition_id}/publish", dependencies=[Csrf])
def definition_publish(
    definition_id: RowId, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "define")
    row = definitions.get(session, provider_of(session, staff), definition_id)
    definitions.publish(app, session, row, by=staff)
    return see_other(f"/definitions/{row.id}")


@router.post("/definitions/{definition_id}/new-version", dependencies=[Csrf])
def definition_new_version(
    definition_id: RowId, app: AppDep, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "define")
    row = definitions.get(session, provider_of(session, staff), definition_id)
    draft = definitions.new_version(app, session, row, by=staff)
    return see_other(f"/definitions/{draft.id}/edit")
