"""The provider's branding page (logo and colour) and a draft's badge artwork."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from microcred.domain.errors import DomainError, Forbidden
from microcred.i18n import _
from microcred.render.artwork import MAX_BYTES
from microcred.services import branding
from microcred.web.deps import AppDep, Csrf, CurrentStaff, DbSession, RowId, provider_of
from microcred.web.render import refused_to, render, see_other

router = APIRouter(include_in_schema=False)


def _read(upload: UploadFile | None) -> bytes | None:
    """The uploaded file's bytes (one more than allowed at most, so the limit is reported)."""
    if upload is None or not upload.filename:
        return None
    return upload.file.read(MAX_BYTES + 1)


@router.get("/branding")
def branding_page(request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    provider = provider_of(session, staff)
    return render(request, "branding.html", provider=provider, problems={}, colour=None)


@router.post("/branding", dependencies=[Csrf])
def branding_save(
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    colour: Annotated[str, Form(max_length=50)] = "",
    remove_logo: Annotated[bool, Form()] = False,
    logo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    try:
        branding.set_branding(
            app, session, staff, colour=colour, logo=_read(logo), remove_logo=remove_logo
        )
    except Forbidden:
        raise
    except DomainError as exc:  # the form again, as typed, the reason beside its field
        provider = provider_of(session, staff)
        return render(
            request, "branding.html", status_code=422, provider=provider,
            problems={exc.field or "logo": exc.message}, colour=colour,
        )  # fmt: skip
    return see_other("/branding?saved=1")


@router.post("/definitions/{definition_id}/image", dependencies=[Csrf])
def badge_image(
    definition_id: RowId,
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    remove: Annotated[bool, Form()] = False,
    image: Annotated[UploadFile | None, File()] = None,
) -> Response:
    back = f"/definitions/{definition_id}"
    upload = None if remove else (_read(image) or None)
    if upload is None and not remove:  # nothing chosen: nothing changes
        return refused_to(request, back, _("choose a PNG or SVG file to upload"))
    try:
        branding.set_badge_image(app, session, staff, definition_id, upload)
    except DomainError as exc:
        return refused_to(request, back, exc.message)
    return see_other(back + "#badge")
