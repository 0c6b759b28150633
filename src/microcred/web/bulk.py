"""Bulk issuing from a CSV upload (checked in the request, issued by jobs), with its progress
page (counted from the database: the same from every web process)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from microcred.domain.errors import DomainError
from microcred.i18n import _
from microcred.services import bulk, definitions, issuing
from microcred.services.providers import require
from microcred.web.deps import (
    AppDep,
    Csrf,
    CurrentStaff,
    DbSession,
    RowId,
    provider_of,
    rate_limited,
)
from microcred.web.render import attachment, render, see_other

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)
MAX_UPLOAD = bulk.MAX_BYTES


@router.get("/definitions/{definition_id}/bulk")
def bulk_form(
    definition_id: RowId, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "issue")
    row = issuing.published_definition(session, provider_of(session, staff), definition_id)
    return _form(request, session, staff, row, None)


def _form(
    request: Request,
    session: DbSession,
    staff: CurrentStaff,
    row: Any,
    error: str | None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "bulk.html",
        status_code=status_code,
        row=row,
        data=definitions.data_of(row),
        error=error,
        uploads=bulk.recent_uploads(session, staff.provider_id, row.id),
        max_mib=MAX_UPLOAD // (1024 * 1024),
        max_rows=bulk.MAX_ROWS,
    )


@router.post("/definitions/{definition_id}/bulk", dependencies=[Csrf, rate_limited("upload")])
async def bulk_upload(
    definition_id: RowId,
    request: Request,
    app: AppDep,
    staff: CurrentStaff,
    session: DbSession,
    file: UploadFile,
) -> Response:
    require(staff, "issue")
    row = issuing.published_definition(session, provider_of(session, staff), definition_id)
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        message = _("The file is larger than %(mib)s MiB.") % {"mib": MAX_UPLOAD // (1024 * 1024)}
        return _form(request, session, staff, row, message, 413)
    try:
        upload = await run_in_threadpool(  # parsing and storing 10,000s of rows: not on the loop
            bulk.start_upload, app, session, staff, row.id, data, file.filename or ""
        )
    except DomainError as exc:
        return _form(request, session, staff, row, exc.message, 422)
    return see_other(f"/bulk/{upload.id}")


@router.get("/bulk/{upload_id}")
def bulk_job(upload_id: str, request: Request, staff: CurrentStaff, session: DbSession) -> Response:
    progress = bulk.progress(session, staff.provider_id, upload_id)
    return render(request, "bulk_job.html", progress=progress)


@router.get("/bulk/{upload_id}/report.csv")
def bulk_report(upload_id: str, app: AppDep, staff: CurrentStaff, session: DbSession) -> Response:
    """Every row of the upload and what became of it (a spreadsheet for the provider's staff)."""
    progress = bulk.progress(session, staff.provider_id, upload_id)  # theirs, or 404 now
    name = f"{progress.upload.filename} report"
    return StreamingResponse(
        bulk.report_csv(app, staff.provider_id, upload_id),
        media_type="text/csv; charset=utf-8",
        headers=attachment(name, "csv", fallback="bulk-report"),
    )


@router.get("/bulk/{upload_id}/progress")
def bulk_progress(
    upload_id: str, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    progress = bulk.progress(session, staff.provider_id, upload_id)
    return render(request, "bulk_progress.html", progress=progress)
