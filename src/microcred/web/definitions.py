"""The provider's micro-credential definitions: create, edit, publish, new versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from microcred.domain.catalog import (
    MANDATORY_ELEMENTS,
    PARTICIPATION,
    SUPERVISION,
    DefinitionData,
    DefinitionInvalidError,
    publication_problems,
)
from microcred.domain.errors import DomainError
from microcred.i18n import LANGUAGES, _
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


def _other_languages(data: DefinitionData) -> list[str]:
    primary = data.language.split("-")[0]
    return [code for code in LANGUAGES if code != primary]


def _translations_from(
    form: Any, data: DefinitionData
) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """The translations a form holds, by language (and everything typed, to show again); a
    language with words but no title is a problem named by its field."""
    found: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for code in _other_languages(data):
        title = str(form.get(f"t_{code}_title", "")).strip()
        description = str(form.get(f"t_{code}_description", "")).strip()
        outcomes = {}
        for outcome in data.learning_outcomes:
            statement = str(form.get(f"t_{code}_statement_{outcome.id}", "")).strip()
            criterion = str(form.get(f"t_{code}_criterion_{outcome.id}", "")).strip()
            if statement or criterion:
                outcomes[outcome.id] = {"statement": statement, "criterion": criterion}
        typed[code] = {"title": title, "description": description, "outcomes": outcomes}
        if not title and (description or outcomes):
            problems.append((f"t_{code}_title", _("give the title in this language too")))
        if title:
            found[code] = typed[code]
    return found, typed, problems


@router.get("/definitions/{definition_id}/translations")
def translations_form(
    definition_id: RowId, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    row = definitions.get(session, provider_of(session, staff), definition_id)
    data = definitions.data_of(row)
    return render(
        request, "definition_translations.html", row=row, data=data,
        other_languages=_other_languages(data), typed=data.model_dump(mode="json")["translations"],
        problems=[],
    )  # fmt: skip


@router.post("/definitions/{definition_id}/translations", dependencies=[Csrf])
async def translations_save(
    definition_id: RowId, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "define")
    provider = provider_of(session, staff)
    row = definitions.get(session, provider, definition_id)
    data = definitions.data_of(row)
    form = await request.form()
    found, typed, problems = _translations_from(form, data)
    if not problems:
        try:
            definitions.set_translations(session, provider, row, found)
        except (DefinitionInvalidError, DomainError) as exc:
            problems = getattr(exc, "problems", None) or [("", getattr(exc, "message", str(exc)))]
    if problems:  # the form again, as typed; nothing saved
        return render(
            request, "definition_translations.html", status_code=422, row=row, data=data,
            other_languages=_other_languages(data), typed=typed, problems=problems,
        )  # fmt: skip
    return see_other(f"/definitions/{row.id}#languages")


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
