"""Verification for everyone: the /verify page, POST /api/verify, the W3C VC API's verifier
routes, the registry. The VC API's issuer routes are in ``web.vc_api``."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from microcred.domain.catalog import MANDATORY_ELEMENTS, OPTIONAL_ELEMENTS
from microcred.i18n import _
from microcred.services import trust, usage
from microcred.services.app import App
from microcred.services.verification import (
    SelfFetcher,
    VerifyResult,
    kept_answer,
    kept_answer_for_body,
    kept_answer_for_body_on_loop,
    platform_policy,
    sniff,
    verify_bytes_for_platform,
    verify_for_platform,
)
from microcred.vc import clr
from microcred.vc.errors import VcError
from microcred.vc.jsonsafe import DEFAULT_MAX_BYTES, parse_json
from microcred.vc.message import text as shown
from microcred.vc.presentation import verify_presentation
from microcred.vc.report import Outcome
from microcred.web.deps import AppDep, Csrf, DbSession, rate_limited
from microcred.web.problems import problem_responses
from microcred.web.render import render

VERIFY_LIMIT = rate_limited("verify")
router = APIRouter(responses=problem_responses())
MAX_UPLOAD = 8 * 1024 * 1024
PROBLEM = "application/problem+json"


def _page(request: Request, result: VerifyResult | None, **extra: Any) -> Response:
    content = _content(result) if result and result.credential else None
    return render(
        request,
        "verify.html",
        result=result,
        content=content,
        error=extra.pop("error", None),
        outcome=Outcome,
        labels={**MANDATORY_ELEMENTS, **OPTIONAL_ELEMENTS},  # English: the page says _(label)
        associations=_associations(result.credential) if result and result.credential else [],
        **extra,
    )


def _associations(credential: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A record's associations in words: (source achievement, type, target achievement)."""
    subject = credential.get("credentialSubject")
    if not clr.is_clr(credential) or not isinstance(subject, dict):
        return []
    names = {
        a["id"]: str(a.get("name") or a["id"])
        for a in subject.get("achievement") or []
        if isinstance(a, dict) and isinstance(a.get("id"), str)
    }
    found = subject.get("association")
    return [
        (
            names.get(str(a.get("sourceId")), str(a.get("sourceId"))),
            {"isPartOf": "is part of"}.get(  # a code the page words (verify.html)
                str(a.get("associationType")), str(a.get("associationType"))
            ),
            names.get(str(a.get("targetId")), str(a.get("targetId"))),
        )
        for a in (found if isinstance(found, list) else [])
        if isinstance(a, dict)
    ]


def _content(result: VerifyResult) -> dict[str, Any]:
    """What the credential says, for people; the issuer's name from the registry when listed."""
    credential = result.credential or {}
    subject = credential.get("credentialSubject") or {}
    subject = subject[0] if isinstance(subject, list) and subject else subject
    subject = subject if isinstance(subject, dict) else {}
    found = subject.get("achievement")
    achievement: dict[str, Any] = found if isinstance(found, dict) else {}
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    claimed = issuer.get("name") if isinstance(issuer, dict) else None
    registered = result.trust.get("registered_name")
    return {
        "title": achievement.get("name") or credential.get("name"),
        "description": achievement.get("description"),
        "outcomes": [
            r.get("name") for r in achievement.get("resultDescription") or [] if isinstance(r, dict)
        ],
        "issuer_id": issuer_id,
        "issuer_name": registered,
        "claimed_name": claimed,
        "registered": registered is not None,
        "accreditations": result.trust.get("accreditations", []),
        "elements": result.elements,
    }


@router.get(
    "/verify",
    response_class=HTMLResponse,
    include_in_schema=False,  # a page; /api/verify is the API
    dependencies=[rate_limited("verify", only_with_query="url")],
)
def verify_page(request: Request, app: AppDep, url: str | None = None) -> Response:
    """The verification page; ``?url=`` verifies a credential hosted elsewhere."""
    if not url:
        return _page(request, None)
    try:
        data = SelfFetcher(app).fetch(url)
    except VcError as exc:
        error = _("Could not fetch %(url)s: %(why)s") % {"url": url, "why": shown(exc.message)}
        return _page(request, None, error=error, url=url)
    return _page(request, _counted(app, verify_bytes_for_platform(app, data)), url=url)


@router.post(
    "/verify",
    response_class=HTMLResponse,
    dependencies=[Csrf, VERIFY_LIMIT],
    include_in_schema=False,  # a page's form
)
def verify_upload(
    request: Request,
    app: AppDep,
    file: UploadFile | None = None,
    text: Annotated[str, Form()] = "",
) -> Response:
    # Plain ``def``: verification may fetch (did:web, status lists), so it runs off the event loop.
    if file is not None and file.filename:
        data = file.file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            error = _("The file is larger than %(mib)s MiB.") % {"mib": MAX_UPLOAD // 1024 // 1024}
            return _page(request, None, error=error)
    elif text.strip():
        data = text.encode("utf-8")
    else:
        return _page(request, None, error=_("Choose a file or paste a credential."))
    return _page(request, _counted(app, verify_bytes_for_platform(app, data)))


def _counted(app: App, result: VerifyResult) -> VerifyResult:
    """A verification of one of our credentials counts for its provider (services/usage.py):
    an authentic one, whatever its status (a forgery naming our credential counts for nobody)."""
    if result.report.verdict.value != "invalid":
        usage.note(app, result.report.credential, "verified")
    return result


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def _json_body(raw: bytes) -> Any:
    return parse_json(raw, max_bytes=DEFAULT_MAX_BYTES)


def _problem(status: int, code: str, title: str, **extra: Any) -> JSONResponse:
    body = {"type": f"urn:microcred:problem:{code}", "title": title, "status": status, "code": code}
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


@router.post("/api/verify", tags=["verify"], dependencies=[VERIFY_LIMIT])
async def api_verify(request: Request, raw: RawBody, app: AppDep) -> Response:
    """Verify a credential (the body, or ``{"verifiableCredential": ...}``), a baked badge or a
    PDF certificate (the file as the body); the full report."""
    reader = getattr(request.app.state, "reads", None)  # PostgreSQL: read on the event loop
    if reader is not None:
        kept = await kept_answer_for_body_on_loop(app, reader, raw)
        if kept is not None:
            return Response(kept, media_type="application/json")
    # everything else may fetch (did:web, status lists) and reads through the engine
    return await run_in_threadpool(_api_verify, raw, app)


def _api_verify(raw: bytes, app: App) -> Response:
    if sniff(raw) not in ("json", "unknown"):
        return JSONResponse(_counted(app, verify_bytes_for_platform(app, raw)).to_json())
    kept = kept_answer_for_body(app, raw)  # a body sent before: not parsed again
    if kept is not None:
        return Response(kept, media_type="application/json")
    try:
        body = _json_body(raw)
    except VcError as exc:
        return _problem(400, exc.code, shown(exc.message))
    if isinstance(body, dict) and "verifiableCredential" in body:
        body = body["verifiableCredential"]
    if isinstance(body, str) and sniff(body.encode()) != "unknown":  # a JWT in a JSON string
        return JSONResponse(_counted(app, verify_bytes_for_platform(app, body.encode())).to_json())
    if not isinstance(body, dict):
        return _problem(400, "request.invalid", _("send a credential (a JSON object)"))
    kept = kept_answer(app, body, raw)  # as it was answered, while nothing it read has changed
    if kept is not None:
        return Response(kept, media_type="application/json")
    return JSONResponse(_counted(app, verify_for_platform(app, body)).to_json())


def _vc_api_response(
    verified: bool, report: dict[str, Any], steps: list[dict[str, Any]]
) -> JSONResponse:
    checks = [s["step"] for s in steps if s["outcome"] == "passed"]
    warnings = [
        {"code": s["code"], "message": s["message"]}
        for s in steps
        if s["outcome"] in ("warning", "unchecked")
    ]
    errors = [
        {"code": s["code"], "message": s["message"]} for s in steps if s["outcome"] == "failed"
    ]
    body = {
        "verified": verified,
        "checks": checks,
        "warnings": warnings,
        "errors": errors,
        **report,
    }
    if verified:
        return JSONResponse(body)
    first = errors[0] if errors else {"code": "verification.failed", "message": _("not verified")}
    body.update(
        {"type": f"urn:microcred:problem:{first['code']}", "title": first["message"], "status": 422}
    )
    return JSONResponse(body, status_code=422, media_type=PROBLEM)


def _options(body: dict[str, Any]) -> dict[str, Any] | JSONResponse:
    options = body.get("options", {})
    if options is None:
        return {}
    if not isinstance(options, dict):
        return _problem(400, "request.invalid", _("options must be an object"))
    return options  # unknown options are accepted and ignored


def _vc_api_request(raw: bytes, field: str) -> tuple[dict[str, Any], dict[str, Any]] | JSONResponse:
    """The object under ``field`` and the options of a VC API request, or a 400 problem."""
    try:
        body = _json_body(raw)
    except VcError as exc:
        return _problem(400, exc.code, shown(exc.message))
    if not isinstance(body, dict):
        return _problem(400, "request.invalid", _("the body must be a JSON object"))
    value = body.get(field)
    if not isinstance(value, dict):
        return _problem(
            400, "request.invalid", _("%(field)s (an object) is required") % {"field": field}
        )
    options = _options(body)
    if isinstance(options, JSONResponse):
        return options
    return value, options


@router.post("/credentials/verify", tags=["W3C VC API"], dependencies=[VERIFY_LIMIT])
def vc_api_verify_credential(raw: RawBody, app: AppDep) -> Response:
    parsed = _vc_api_request(raw, "verifiableCredential")
    if isinstance(parsed, JSONResponse):
        return parsed
    credential, _options_ignored = parsed
    result = _counted(app, verify_for_platform(app, credential))
    data = result.to_json()
    return _vc_api_response(result.report.verified, data, data["steps"])


@router.post("/presentations/verify", tags=["W3C VC API"], dependencies=[VERIFY_LIMIT])
def vc_api_verify_presentation(raw: RawBody, app: AppDep) -> Response:
    parsed = _vc_api_request(raw, "verifiablePresentation")
    if isinstance(parsed, JSONResponse):
        return parsed
    presentation, options = parsed
    challenge, domain = options.get("challenge"), options.get("domain")
    if any(v is not None and not isinstance(v, str) for v in (challenge, domain)):
        return _problem(400, "request.invalid", _("challenge and domain must be strings"))
    report = verify_presentation(
        presentation,
        platform_policy(app),
        challenge=challenge,
        domain=domain,
        require_proof=challenge is not None,
    )
    data = report.to_json()
    steps = list(data["presentation"]["steps"])
    for credential in data["credentials"]:
        steps.extend(credential["steps"])
    return _vc_api_response(report.verified, data, steps)


@router.get("/registry.json", tags=["trust registry"])
def registry(app: AppDep, session: DbSession) -> Response:
    """The platform's registry of quality-assured providers, signed (eddsa-jcs-2022)."""
    return Response(
        json.dumps(trust.published_registry(app, session)), media_type="application/json"
    )


@router.get("/registry/dcc.json", tags=["trust registry"])
def registry_dcc(app: AppDep, session: DbSession) -> Response:
    """The same registry in the DCC issuer-registry format."""
    return Response(json.dumps(trust.dcc_registry(app, session)), media_type="application/json")


@router.get("/accreditations/{accreditation_id}", tags=["trust registry"])
def accreditation(accreditation_id: str, session: DbSession) -> Response:
    document = trust.accreditation_document(session, accreditation_id)
    return Response(document, media_type="application/ld+json")
