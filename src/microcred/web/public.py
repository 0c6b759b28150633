"""Public documents: did:web DID documents, status lists, and the public credential page."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from microcred.domain.award import read_eu_elements
from microcred.domain.catalog import MANDATORY_ELEMENTS, OPTIONAL_ELEMENTS
from microcred.domain.errors import NotFound
from microcred.i18n import N_, _, current
from microcred.services import (
    branding,
    catalogue,
    definitions,
    issuing,
    keys,
    providers,
    status,
    usage,
)
from microcred.services.issuing import document_of
from microcred.services.models import Credential
from microcred.services.providers import get_provider
from microcred.services.verification import verify_for_platform
from microcred.web.deps import AppDep, DbSession, RowId
from microcred.web.problems import problem_responses
from microcred.web.render import render

router = APIRouter(responses=problem_responses())
JSON_LD = "application/ld+json"
_ERASED = N_("erased at the learner's request; copies they hold still verify")


@router.get("/providers/{slug}/did.json", tags=["public"])
def did_document(slug: str, app: AppDep, session: DbSession) -> Response:
    provider = get_provider(session, slug)
    document = keys.did_document(app, session, provider)
    return Response(json.dumps(document), media_type="application/did+json")


# an uploaded SVG shown on its own runs nothing and loads nothing, whatever it says
_ARTWORK_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",  # the address is the digest
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "X-Content-Type-Options": "nosniff",
}


@router.get("/artwork/{digest}", include_in_schema=False)  # an image, not an API
def artwork(digest: str, session: DbSession) -> Response:
    """A badge image or logo a provider uploaded (made safe when it was uploaded)."""
    found = branding.artwork(session, digest)
    return Response(found.data, media_type=found.media_type, headers=_ARTWORK_HEADERS)


@router.get("/providers/{slug}/status/{number}/{purpose}", tags=["public"])
async def status_list_credential(slug: str, number: RowId, purpose: str, app: AppDep) -> Response:
    # Relying parties fetch this for every verification: one trip to the thread pool, where the
    # service reads in a transaction of its own (a request session costs two more).
    text = await run_in_threadpool(status.served_list, app, slug, number, purpose)
    return Response(
        text, media_type="application/vc+ld+json", headers={"Cache-Control": "max-age=60"}
    )


def _credential(session: DbSession, credential_id: str) -> Credential:
    credential = issuing.credential_by_id(session, credential_id)
    if credential is None:
        raise NotFound("credential")
    if not credential.document:
        raise HTTPException(410, _(_ERASED))
    return credential


@router.get("/credentials/{credential_id}.json", tags=["public"])
async def credential_json(credential_id: str, app: AppDep) -> Response:
    """The signed credential, byte for byte as issued."""
    document = await run_in_threadpool(issuing.signed_text, app, credential_id)  # one trip
    if not document:
        raise HTTPException(410, _(_ERASED))
    return Response(
        document,
        media_type=JSON_LD,
        headers={"Content-Disposition": f'attachment; filename="{credential_id}.json"'},
    )


@router.get("/credentials/{credential_id}", response_class=HTMLResponse, include_in_schema=False)
def credential_page(
    credential_id: str, request: Request, app: AppDep, session: DbSession
) -> Response:
    """What the credential certifies, in plain words, with its verdict computed live on every view
    (status lists, keys and the issuer's accreditation read now): the certificate's QR code opens
    this page, so a revocation, a suspension or a withdrawn accreditation shows at once."""
    credential = _credential(session, credential_id)
    if "application/json" in request.headers.get("accept", "") or JSON_LD in request.headers.get(
        "accept", ""
    ):
        return Response(credential.document, media_type=JSON_LD)
    provider = providers.provider_by_id(session, credential.provider_id)
    definition = definitions.by_id(session, credential.definition_id)
    document = document_of(credential)
    elements = read_eu_elements(document)
    # Credentials issued through the W3C VC API may have any subject: no achievement, no results.
    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement")
    if not isinstance(achievement, dict):
        achievement = {"name": document.get("name") or (definition.title if definition else "")}
    outcomes = achievement.get("resultDescription") or []
    shown = catalogue.in_language(app, session, document, current())  # the reader's language
    if shown:
        achievement = {
            **achievement,
            "name": shown["name"],
            "description": shown["description"] or achievement.get("description"),
        }
        outcomes = [
            {**o, "name": shown["outcomes"].get(o.get("id"), o.get("name"))}
            for o in outcomes
            if isinstance(o, dict)
        ]
    results = {
        r.get("resultDescription"): r.get("status")
        for r in subject.get("result") or []
        if isinstance(r, dict)
    }
    report = verify_for_platform(app, credential.document).report
    for metric in ("viewed", "verified"):  # the page shows its verdict: both count
        usage.note_credential(app, credential, metric)
    return render(
        request,
        "public_credential.html",
        paths=catalogue.platform_paths(app, document),  # its achievement's and issuer's pages
        report=report,
        verdict=report.verdict.value,
        trust=report.step("trust"),
        credential=credential,
        provider=provider,
        definition=definition,
        document=document,
        achievement=achievement,
        outcomes=outcomes,
        results=results,
        elements=elements,
        labels={**MANDATORY_ELEMENTS, **OPTIONAL_ELEMENTS},
        now=app.now(),
    )
