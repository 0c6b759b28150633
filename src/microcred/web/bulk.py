"""Bulk issuing from a CSV upload, with its progress page."""

from __future__ import annotations

import contextvars
import threading
import uuid
from typing import Any

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from microcred.domain.errors import DomainError, NotFound
from microcred.services import bulk, definitions, issuing
from microcred.services.providers import require
from microcred.web.deps import AppDep, Csrf, CurrentStaff, DbSession, provider_of
from microcred.web.render import render, see_other

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)
MAX_UPLOAD = bulk.MAX_BYTES


# Bulk jobs run in a thread of this process; their progress is polled with htmx.
_jobs: dict[str, dict[str, Any]] = {}
_jobs_lock = threading.Lock()


@router.get("/definitions/{definition_id}/bulk")
def bulk_form(
    definition_id: int, request: Request, staff: CurrentStaff, session: DbSession
) -> Response:
    require(staff, "issue")
    row = issuing.published_definition(session, provider_of(session, staff), definition_id)
    return render(request, "bulk.html", row=row, data=definitions.data_of(row), error=None)


@router.post("/definitions/{definition_id}/bulk", dependencies=[Csrf])
async def bulk_upload(
    definition_id: int,
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
        return render(
            request,
            "bulk.html",
            status_code=413,
            row=row,
            data=definitions.data_of(row),
            error=f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MiB.",
        )
    job_id = uuid.uuid4().hex
    job: dict[str, Any] = {
        "done": 0,
        "total": None,
        "report": None,
        "error": None,
        "provider_id": staff.provider_id,
        "definition_id": row.id,
    }
    with _jobs_lock:
        _jobs[job_id] = job
    staff_id = staff.id

    def run() -> None:
        def progress(done: int, total: int) -> None:
            job["done"], job["total"] = done, total

        try:
            job["report"] = bulk.issue_csv(app, staff_id, row.id, data, progress).to_json()
        except DomainError as exc:
            job["error"] = exc.message
        except Exception:  # noqa: BLE001 - logged by issue_csv, reported on the page
            job["error"] = "the upload stopped on an unexpected error; rows issued so far are kept"

    # the thread carries the request's context: its log lines keep the request id
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name=f"bulk-{job_id}", daemon=True).start()
    return see_other(f"/bulk/{job_id}")


def _job(job_id: str, staff: Any) -> dict[str, Any]:
    with _jobs_lock:
        job = _jobs.get(job_id)
    if job is None or job["provider_id"] != staff.provider_id:
        raise NotFound("upload")
    return job


@router.get("/bulk/{job_id}")
def bulk_job(job_id: str, request: Request, staff: CurrentStaff) -> Response:
    return render(request, "bulk_job.html", job=_job(job_id, staff), job_id=job_id)


@router.get("/bulk/{job_id}/progress")
def bulk_progress(job_id: str, request: Request, staff: CurrentStaff) -> Response:
    return render(request, "bulk_progress.html", job=_job(job_id, staff), job_id=job_id)
