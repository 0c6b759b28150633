"""The JSON API (``/api/v1``), authenticated with staff API tokens (``Authorization: Bearer``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from microcred.domain.assessment import OutcomeResult
from microcred.services import definitions, issuing, rpl, stacking, status, usage
from microcred.services.issuing import Award
from microcred.web.deps import ApiStaff, AppDep, BodyRowId, DbSession, RowId, provider_of
from microcred.web.problems import problem_responses

router = APIRouter(prefix="/api/v1", tags=["provider API"], responses=problem_responses())


class ResultIn(BaseModel):
    outcome_id: str
    achieved: bool = True


class IssueIn(BaseModel):
    definition_id: BodyRowId
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    results: list[ResultIn] | None = Field(
        default=None, description="per learning outcome; omitted means every outcome achieved"
    )
    grade: str | None = None
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[\x21-\x7e]+$",
        description="your id for this award (printable ASCII, no spaces): a repeat returns the "
        "credential issued the first time",
    )


class StatusIn(BaseModel):
    action: str = Field(pattern="^(revoke|suspend|reinstate)$")
    reason: str = ""


def _summary(credential: Any) -> dict[str, Any]:
    return {
        "id": credential.id,
        "state": credential.state,
        "issued_at": credential.issued_at.isoformat(),
        "recipient_email": credential.recipient_email,
        "suspendable": status.suspendable(credential),
        "credential": issuing.document_of(credential),
    }


@router.get("/definitions")
def list_definitions(staff: ApiStaff, session: DbSession) -> list[dict[str, Any]]:
    provider = provider_of(session, staff)
    return [
        {
            "id": d.id,
            "family": d.family,
            "version": d.version,
            "state": d.state,
            "title": d.title,
            "suspendable": definitions.data_of(d).suspendable,
            "data": d.data,
        }
        for d in definitions.list_for(session, provider)
    ]


@router.post("/credentials", status_code=201)
def issue_credential(
    body: IssueIn, response: Response, app: AppDep, staff: ApiStaff, session: DbSession
) -> dict[str, Any]:
    """Issue one credential. With ``idempotency_key``, a retry returns the first credential."""
    provider = provider_of(session, staff)
    row = issuing.published_definition(session, provider, body.definition_id)
    data = definitions.data_of(row)
    if body.results is None:
        results = [OutcomeResult(o.id, True) for o in data.learning_outcomes]
    else:
        results = [OutcomeResult(r.outcome_id, r.achieved) for r in body.results]
    credential = issuing.issue(
        app,
        session,
        staff,
        Award(
            definition_id=row.id,
            name=body.name,
            email=body.email,
            results=results,
            grade=body.grade,
            idempotency_key=body.idempotency_key,
        ),
    )
    response.headers["Location"] = f"/api/v1/credentials/{credential.id}"
    return _summary(credential)


@router.get("/usage")
def get_usage(
    app: AppDep,
    staff: ApiStaff,
    session: DbSession,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict[str, Any]:
    """Issued, claimed, shared, viewed, verified and revoked: per micro-credential and per day
    (UTC) over the last ``days`` days, and since the first day. Counts only: nothing about who."""
    found = usage.usage(session, staff.provider_id, app.now().date(), days)
    return {**found.to_json(), "all_time": usage.all_time(session, staff.provider_id)}


@router.get("/credentials/{credential_id}")
def get_credential(credential_id: str, staff: ApiStaff, session: DbSession) -> dict[str, Any]:
    return _summary(issuing.get_credential(session, staff.provider_id, credential_id))


@router.post("/credentials/{credential_id}/status")
def change_status(
    credential_id: str, body: StatusIn, app: AppDep, staff: ApiStaff, session: DbSession
) -> dict[str, Any]:
    credential = status.change_state(app, session, staff, credential_id, body.action, body.reason)
    return _summary(credential)


class PathwayIn(BaseModel):
    definition_id: BodyRowId
    name: str = ""
    rules: dict[str, Any]
    award_mode: str = Field(default="auto", pattern="^(auto|confirm)$")


class RplDecisionIn(BaseModel):
    action: str = Field(pattern="^(request_more|accept|reject)$")
    message: str = ""
    criteria: dict[str, bool] = Field(default_factory=dict, description="outcome id -> met")


@router.get("/pathways")
def list_pathways(staff: ApiStaff, session: DbSession) -> list[dict[str, Any]]:
    rows = stacking.pathways_of(session, staff.provider_id)
    return [
        {
            "id": p.id,
            "name": p.name,
            "definition_id": p.definition_id,
            "rules": p.rules,
            "award_mode": p.award_mode,
        }
        for p in rows
    ]


@router.post("/pathways", status_code=201)
def create_pathway(
    body: PathwayIn, app: AppDep, staff: ApiStaff, session: DbSession
) -> dict[str, Any]:
    pathway = stacking.create_pathway(
        app,
        session,
        staff,
        definition_id=body.definition_id,
        name=body.name,
        rules=body.rules,
        award_mode=body.award_mode,
    )
    return {"id": pathway.id, "name": pathway.name, "rules": pathway.rules}


@router.get("/pathways/{pathway_id}/awards")
def pathway_awards(pathway_id: RowId, staff: ApiStaff, session: DbSession) -> list[dict[str, Any]]:
    pathway = stacking.get_pathway(session, staff.provider_id, pathway_id)
    rows = stacking.awards_of(session, pathway)
    return [
        {"id": a.id, "state": a.state, "components": a.components, "credential_id": a.credential_id}
        for a in rows
    ]


@router.get("/rpl")
def list_rpl(staff: ApiStaff, session: DbSession) -> list[dict[str, Any]]:
    rows = rpl.applications_for_provider(session, staff.provider_id, newest_first=False)
    return [
        {
            "id": a.id,
            "definition_id": a.definition_id,
            "state": a.state,
            "credential_id": a.credential_id,
        }
        for a in rows
    ]


@router.post("/rpl/{application_id}/decision")
def decide_rpl(
    application_id: RowId, body: RplDecisionIn, app: AppDep, staff: ApiStaff, session: DbSession
) -> dict[str, Any]:
    application = rpl.decide(
        app, session, staff, application_id, body.action, body.message, body.criteria
    )
    return {
        "id": application.id,
        "state": application.state,
        "credential_id": application.credential_id,
    }
