"""The provider's audit log: browse its chain (newest first) and export it as JSON lines."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from microcred.services import audit
from microcred.web.deps import AppDep, CurrentStaff, DbSession
from microcred.web.render import render

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.get("/audit/{slug}")
def audit_page(
    slug: str, request: Request, staff: CurrentStaff, session: DbSession, page: int = 1
) -> Response:
    return render(request, "audit.html", log=audit.page_for(session, staff, slug, page))


@router.get("/audit/{slug}/export.jsonl")
def audit_export(slug: str, app: AppDep, staff: CurrentStaff, session: DbSession) -> Response:
    lines = audit.export_for(app, session, staff, slug)
    return StreamingResponse(
        lines,
        media_type="application/jsonl",
        headers={"Content-Disposition": f'attachment; filename="audit-{slug}.jsonl"'},
    )
