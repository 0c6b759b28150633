"""Every page of the application, for every kind of user who can see it, in a real browser at a
phone's width (390 px): axe-core (WCAG 2.2 A/AA rules) finds no serious or critical violation,
and nothing is wider than the screen.

The routes come from the application itself, so a new page is checked the day it is added: each
GET route is visited with its path parameters filled from the demo data (``VALUES``) or is
listed in ``NOT_PAGES`` with what it answers instead of a page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from microcred.db.session import transaction
from microcred.db.tables import (
    Accreditation,
    CatalogueEntry,
    Credential,
    Definition,
    LearnerAccount,
    Pathway,
    Provider,
    RplApplication,
    RplEvidence,
    Staff,
    WalletItem,
)
from microcred.domain.assessment import OutcomeResult
from microcred.services import bulk, definitions, demo, issuing, jobs, onboarding, wallet
from microcred.services.providers import set_password
from tests.platform.conftest import PASSWORD
from tests.platform.test_browser import CHROMIUM, CHROMIUM_ARGS

AXE = Path(__file__).resolve().parents[1] / "interop" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# query strings a page needs (filled like path parameters)
QUERIES = {"/compare": "?id={entry}&id={other_entry}"}
# GET routes that answer something other than a page for people, and what they answer
NOT_PAGES = {
    "/openapi.json": "the OpenAPI document",
    "/docs": "FastAPI's Swagger UI (its own page, scripts from a CDN)",
    "/docs/oauth2-redirect": "Swagger UI's OAuth helper",
    "/redoc": "FastAPI's ReDoc (its own page, scripts from a CDN)",
    "/healthz": "a health check",
    "/readyz": "a readiness check",
    "/metrics": "Prometheus metrics",
    "/language/{code}": "a redirect after choosing a language",
    "/providers/{slug}/did.json": "a DID document",
    "/providers/{slug}/status/{number}/{purpose}": "a status list credential",
    "/credentials/{credential_id}.json": "a credential",
    "/sitemap.xml": "the sitemap",
    "/api/catalogue": "JSON",
    "/api/v1/definitions": "JSON",
    "/api/v1/credentials/{credential_id}": "JSON",
    "/api/v1/pathways": "JSON",
    "/api/v1/pathways/{pathway_id}/awards": "JSON",
    "/api/v1/rpl": "JSON",
    "/api/v1/usage": "JSON",
    "/artwork/{digest}": "an uploaded image",
    "/registry.json": "the trust registry",
    "/accreditations/{accreditation_id}": "an accreditation (JSON-LD)",
    "/bulk/{upload_id}/progress": "a fragment of the upload's page, which polls it",
    "/providers/{slug}/definitions/{family}": "a redirect to the published version's page",
    "/registry/dcc.json": "the trust registry, DCC format",
    "/account/verify": "a redirect after proving an email address",
    "/account/identities/verify": "a redirect after proving an identity",
    "/wallet/items/{item_id}/download.{kind}": "a download",
    "/s/{token}/embed": "an embeddable card (checked by its own test for framing)",
    "/account/export": "a download",
    "/manage/credentials.csv": "a download",
    "/learners.csv": "a download",
    "/assessments.csv": "a download",
    "/bulk/{upload_id}/report.csv": "a download",
    "/rpl/{application_id}/evidence/{evidence_id}": "a download",
    "/assessments/{assessment_id}/evidence/{evidence_id}": "a download",
    "/audit/{slug}/export.jsonl": "a download",
    "/credentials/{credential_id}/europass.jsonld": "a Europass export",
    "/definitions/{definition_id}/europass.jsonld": "a Europass export",
}


# the innermost elements that stick out of the screen or overflow their own box
WIDEST = """() => {
  const width = document.documentElement.clientWidth, found = [];
  for (const e of document.querySelectorAll('body *')) {
    const spills = e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0
      && getComputedStyle(e).overflowX === 'visible';
    if (e.getBoundingClientRect().right > width + 1 || spills) {
      found.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + (typeof e.className === 'string' && e.className ? '.' + e.className.split(' ')[0] : ''));
    }
  }
  return found.slice(-4);
}"""


@dataclass
class Role:
    name: str
    signin: str | None  # the sign-in form, None for anyone
    email: str = ""


def _routes(web: Any) -> list[str]:
    paths = []
    for route in web.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for context in contexts:
            if "GET" in (getattr(context, "methods", None) or ()):
                paths.append(context.path)
    return sorted(set(paths))


def _seed(app: Any) -> tuple[dict[str, str], list[Role]]:
    """The demo provider and learner, a QA body, an operator, an application and a bulk upload;
    the values of every path parameter and the users who sign in."""
    seeded = demo.seed(app, "demo-academy", "owner@demo-academy.example", PASSWORD)
    onboarding.add_operator(app, "operator@platform.example", "Olu Operator", PASSWORD)
    token = onboarding.submit(
        app,
        {
            "kind": "provider",
            "legal_name": "Harbour Academy Ltd",
            "slug": "harbour",
            "country_code": "ie",
            "region": "Munster",
            "website": "https://harbour.example/",
            "domain": "",
            "contact_name": "Siobhán Walsh",
            "contact_email": "siobhan@harbour.example",
        },
        "harbour password 1",
    )
    hasher = PasswordHasher()
    with transaction(app.sessions) as session:
        provider = session.scalar(select(Provider).where(Provider.slug == "demo-academy"))
        qa = session.scalar(select(Provider).where(Provider.kind == "qa_body"))
        qa_owner = session.scalar(select(Staff).where(Staff.provider_id == qa.id))
        set_password(qa_owner, PASSWORD)
        issuer = session.scalar(
            select(Staff).where(Staff.provider_id == provider.id, Staff.role == "owner")
        )
        account = session.scalar(
            select(LearnerAccount).where(LearnerAccount.email == seeded.learner_email)
        )
        account.password_hash = hasher.hash(PASSWORD)
        definition = session.scalar(  # First Aid at Work: in French and German too
            select(Definition).where(
                Definition.provider_id == provider.id,
                Definition.state == "published",
                Definition.title == "First Aid at Work",
            )
        )
        credential = session.scalar(select(Credential).where(Credential.provider_id == provider.id))
        item = session.scalar(select(WalletItem).where(WalletItem.account_id == account.id))
        application = session.scalar(select(RplApplication))
        evidence = session.scalar(select(RplEvidence))
        values = {
            "slug": provider.slug,
            "credential_id": credential.id,
            "definition_id": str(definition.id),
            "family": definition.family,
            "language": "fr",
            "version": str(definition.version),
            "pathway_id": str(session.scalar(select(Pathway.id))),
            "accreditation_id": str(session.scalar(select(Accreditation.id))),
            "item_id": str(item.id),
            "assessment_id": "",
            "application_id": str(application.id),
            "evidence_id": str(evidence.id if evidence else 0),
            "apply_token": token,
            "share_token": "",
        }
        values["assessment_id"] = str(_assessment(app, session, issuer, definition))
        entries = session.scalars(select(CatalogueEntry.id).limit(2)).all()
        values["entry"], values["other_entry"] = str(entries[0]), str(entries[1])
        issuer_id, definition_id = issuer.id, definition.id
        roles = [
            Role("anyone", None),
            Role("learner", "/account/signin", account.email),
            Role("provider", "/signin", issuer.email),
            Role("qa body", "/signin", qa_owner.email),
            Role("operator", "/signin", "operator@platform.example"),
        ]
    csv = (
        b"name,email,outcomes,issued_on,reference\n"
        b"Ada Lovelace,ada@example.org,all,,\nNo Email,,all,,\n"
    )
    values["upload_id"] = bulk.upload_as(app, issuer_id, definition_id, csv, "cohort.csv")
    jobs.drain(app)
    with transaction(app.sessions) as session:
        owner = session.get(LearnerAccount, item.account_id)
        share = wallet.create_share(app, session, owner, [str(item.id)], "For employers", None)
        values["share_token"] = share.token
    return values, roles


def _assessment(app: Any, session: Any, staff: Staff, definition: Definition) -> int:
    """An assessment in progress: the first outcome achieved, the others not yet."""
    provider = session.get(Provider, staff.provider_id)
    learner = issuing.upsert_learner(app, session, provider, "Lin Chen", "lin@example.org")
    outcomes = definitions.data_of(definition).learning_outcomes
    results = [OutcomeResult(o.id, i == 0) for i, o in enumerate(outcomes)]
    assessment = issuing.record_assessment(
        app,
        session,
        staff,
        learner=learner,
        definition_id=definition.id,
        results=results,
        grade=None,
        supervision="supervised",
        assessed_on=date(2026, 11, 30),
    )
    session.flush()
    return assessment.id


def _fill(path: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "token":
            name = "apply_token" if path.startswith("/apply") else "share_token"
        assert name in values, f"{path}: no value for {{{name}}}: add one to _seed"
        return quote(str(values[name]), safe=":")

    return re.sub(r"\{(\w+)\}", value, path)


def _serious(violations: list[dict[str, Any]]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
        if v.get("impact") in ("serious", "critical")
    ]


@pytest.mark.browser
@pytest.mark.parametrize("locale", ["en-GB", "de-DE"])  # German: the longest words
def test_every_page_is_accessible_and_fits_a_phone(live, locale: str) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    assert AXE.exists(), "axe-core is missing: make tests/interop/node_modules/.installed"
    from playwright.sync_api import sync_playwright

    app, host = live
    base = f"http://{host}"
    values, roles = _seed(app)
    from microcred.web.app import create_app

    routes = [p for p in _routes(create_app(app)) if p not in NOT_PAGES]
    assert len(routes) > 40, routes  # the route list really is the application's
    findings: dict[str, list[str]] = {}
    seen: dict[str, set[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for role in roles:
            context = browser.new_context(viewport=PHONE, bypass_csp=True, locale=locale)
            page = context.new_page()
            page.set_default_timeout(30_000)
            if role.signin:
                page.goto(base + role.signin)
                page.fill("input[name=email]", role.email)
                page.fill("input[name=password]", PASSWORD)
                with page.expect_navigation():
                    page.click("main button[type=submit]")
                assert role.signin not in page.url, f"{role.name} could not sign in"
            for route in routes:
                url = base + _fill(route + QUERIES.get(route, ""), values)
                probe = context.request.get(url, max_redirects=0)
                html = probe.headers.get("content-type", "").startswith("text/html")
                if probe.status != 200 or not html:
                    continue  # not this role's page (a redirect to sign in, 403, 404)
                page.goto(url)
                seen.setdefault(route, set()).add(role.name)
                page.add_script_tag(path=str(AXE))
                result = page.evaluate(
                    "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
                )
                problems = _serious(result["violations"])
                overflow = page.evaluate(
                    "() => document.documentElement.scrollWidth"
                    " - document.documentElement.clientWidth"
                )
                if overflow > 0:
                    wide = page.evaluate(WIDEST)
                    problems.append(f"{overflow}px wider than a 390px screen: {wide}")
                if problems:
                    findings[f"{role.name} {route}"] = problems
            context.close()
        browser.close()
    unseen = [r for r in routes if r not in seen]
    report = [f"{where}: {p}" for where, ps in findings.items() for p in ps]
    if unseen:
        report.append(
            f"pages no role could open (fix the seed or list them in NOT_PAGES): {unseen}"
        )
    assert not report, "\n".join(report)
