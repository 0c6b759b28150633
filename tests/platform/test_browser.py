"""A provider's day in a real browser (Playwright driving Debian's /usr/bin/chromium): sign in,
define and publish a micro-credential, assess a learner, issue, view the public page, revoke."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from microcred.services.app import App
from microcred.web.app import create_app
from tests.platform.conftest import PASSWORD, make_org

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(platform: App) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.browser
def test_provider_defines_assesses_issues_and_revokes(platform, live_server, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a loaded CI machine renders slowly
    org = make_org(platform, "acme")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{live_server}/signin")
        page.fill("input[name=email]", org.owner_email)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Acme Institute")

        page.goto(f"{live_server}/definitions/new")
        page.fill("input[name=title]", "Safe Lifting <Level 1>")
        statements = page.locator("input[name=outcome_statement]")
        criteria = page.locator("input[name=outcome_criterion]")
        statements.nth(0).fill("Assesses a load before lifting")
        criteria.nth(0).fill("Risk checklist completed correctly")
        statements.nth(1).fill("Lifts with correct posture")
        criteria.nth(1).fill("Observed demonstration")
        page.fill("input[name=workload_ects]", "0.5")
        page.select_option("select[name=level_framework]", "EQF")
        page.fill("input[name=level_value]", "2")
        page.fill("input[name=assessment_type]", "Observed practical")
        page.select_option("select[name=participation]", "onsite")
        page.fill("input[name=quality_assurance]", "Internal QA, external moderation")
        with page.expect_navigation():
            page.click("text=Save draft")
        expect(page.locator("h1")).to_contain_text("Safe Lifting <Level 1>")
        with page.expect_navigation():
            page.click("button:has-text('Publish')")
        expect(page.locator("h1 .tag")).to_have_text("published")

        with page.expect_navigation():
            page.click("text=Assess & issue")
        page.fill("input[name=name]", "Niamh O'Brien")
        page.fill("input[name=email]", "niamh@example.org")
        for box in page.locator("input[name=achieved]").all():
            box.check()
        with page.expect_navigation():
            page.click("text=Record assessment")
        expect(page.locator("h1")).to_contain_text("Niamh O'Brien")
        expect(page.locator("p .tag")).to_have_text("active")

        with page.expect_navigation():
            page.click("a[href^='/credentials/']:not([href$='.json'])")
        expect(page.locator(".banner")).to_contain_text("Issued and currently valid")
        expect(page.locator("article h1")).to_have_text("Safe Lifting <Level 1>")
        expect(page.locator("dl.facts")).to_contain_text("EQF level 2")
        public_url = page.url
        page.screenshot(path=str(tmp_path / "public-valid.png"))

        page.go_back()
        page.fill("input[name=reason]", "Assessment record found to be falsified")
        with page.expect_navigation():
            page.click("button[value=revoke]")
        expect(page.locator("p .tag")).to_have_text("revoked")

        page.goto(public_url)
        expect(page.locator(".banner")).to_contain_text("has been revoked")
        expect(page.locator(".banner")).to_contain_text("falsified")
        page.screenshot(path=str(tmp_path / "public-revoked.png"))
        browser.close()


@pytest.mark.browser
def test_anyone_verifies_uploads_in_the_browser(live, tmp_path):
    """An anonymous visitor uploads a valid, a tampered and a revoked credential, then a baked
    PNG; the page says so, step by step."""
    import io
    import json

    from PIL import Image
    from playwright.sync_api import expect, sync_playwright

    from microcred.db.session import transaction
    from microcred.domain.assessment import OutcomeResult
    from microcred.services import status

    expect.set_options(timeout=20_000)
    from microcred.services.issuing import Award, issue
    from microcred.vc import baking
    from tests.platform.conftest import publish_definition, staff

    app, host = live
    org = make_org(app, "acme")
    row = publish_definition(app, org)
    documents = {}
    for email in ("valid", "revoked"):
        with transaction(app.sessions) as session:
            credential = issue(
                app,
                session,
                staff(app, org.owner_id),
                Award(
                    definition_id=row.id,
                    name="Ada Lovelace",
                    email=f"{email}@example.org",
                    results=[OutcomeResult(o["id"], True) for o in row.data["learning_outcomes"]],
                ),
            )
            if email == "revoked":
                status.change_state(
                    app,
                    session,
                    staff(app, org.owner_id),
                    credential.id,
                    "revoke",
                    "issued in error",
                )
            documents[email] = credential.document
    tampered = json.loads(documents["valid"])
    tampered["credentialSubject"]["achievement"]["name"] = "Master Welder"
    files = {
        "valid.json": documents["valid"].encode(),
        "tampered.json": json.dumps(tampered).encode(),
        "revoked.json": documents["revoked"].encode(),
    }
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (30, 120, 60)).save(buffer, format="PNG")
    files["badge.png"] = baking.bake_png(buffer.getvalue(), documents["valid"])
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    expected = {
        "valid.json": ("Authentic", "proof.ok"),
        "tampered.json": ("Not verified", "proof.signature_invalid"),
        "revoked.json": ("Not verified", "status.revoked"),
        "badge.png": ("Authentic", "status.ok"),
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        for name, (verdict, code) in expected.items():
            page.goto(f"http://{host}/verify")
            page.set_input_files("input[name=file]", str(tmp_path / name))
            with page.expect_navigation():
                page.click("button:has-text('Verify')")
            expect(page.locator("#verdict")).to_contain_text(verdict)
            expect(page.locator(f"li[data-code='{code}']")).to_be_visible()
            expect(page.locator("ol.steps li")).to_have_count(10)  # every step is shown
            page.screenshot(path=str(tmp_path / f"verify-{name}.png"), full_page=True)
        expect(page.locator("dl.facts")).to_contain_text("Welding Safety")
        browser.close()


@pytest.mark.browser
def test_learner_claims_imports_shares_and_revokes_a_link(live, tmp_path):
    """A learner signs up, claims a credential issued to their email, imports a third-party
    credential, makes a public link with an expiry; an anonymous visitor sees it verified; after
    the learner revokes the link the visitor gets 404."""
    import json
    import re

    from playwright.sync_api import expect, sync_playwright

    from microcred.db.session import transaction
    from microcred.domain.assessment import OutcomeResult
    from microcred.services import outbox

    # Each wallet page verifies every credential live over HTTP: allow a loaded machine time.
    expect.set_options(timeout=20_000)
    from microcred.services.issuing import Award, issue
    from tests.helpers import signed
    from tests.platform.conftest import publish_definition, staff

    app, host = live
    org = make_org(app, "acme")
    row = publish_definition(app, org)
    with transaction(app.sessions) as session:
        issue(
            app,
            session,
            staff(app, org.owner_id),
            Award(
                definition_id=row.id,
                name="Niamh O'Brien",
                email="niamh@example.org",
                results=[OutcomeResult(o["id"], True) for o in row.data["learning_outcomes"]],
            ),
        )
    third_party = tmp_path / "third-party.json"
    third_party.write_text(json.dumps(signed()))  # a did:key issuer from elsewhere

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        learner = browser.new_page()
        learner.goto(f"http://{host}/account/signup")
        learner.fill("input[name=name]", "Niamh O'Brien")
        learner.fill("input[name=email]", "niamh@example.org")
        learner.fill("input[name=password]", "a long learner password")
        with learner.expect_navigation():
            learner.click("button:has-text('Create wallet')")
        expect(learner.locator(".ok")).to_contain_text("confirmation link")
        [mail] = outbox.messages(app, "niamh@example.org")
        confirm = re.search(r"https?://\S+/account/verify\?token=\S+", mail["body"]).group(0)
        learner.goto(confirm)
        expect(learner.locator(".ok")).to_contain_text("Email confirmed")
        expect(learner.locator("table")).to_contain_text("Welding Safety")
        expect(learner.locator("table .tag.active")).to_have_count(1)

        learner.set_input_files("#import-form input[name=file]", str(third_party))
        with learner.expect_navigation():
            learner.click("#import-form button")
        expect(learner.locator(".ok")).to_contain_text("It verified.")
        learner.goto(f"http://{host}/wallet")
        expect(learner.locator("table .tag.active")).to_have_count(2)

        for box in learner.locator("#wallet-form input[name=items]").all():
            box.check()
        learner.fill("#wallet-form input[name=title]", "Niamh's portfolio")
        learner.fill("#wallet-form input[name=expires_days]", "30")
        with learner.expect_navigation():
            learner.click("#wallet-form button:has-text('Create public link')")
        link = learner.locator("#share-link a").get_attribute("href")
        assert link
        assert link.startswith("/s/")

        visitor = browser.new_context().new_page()
        visitor.goto(f"http://{host}{link}")
        expect(visitor.locator(".banner.valid")).to_have_count(2)
        expect(visitor.locator("h1")).to_have_text("Niamh's portfolio")
        visitor.screenshot(path=str(tmp_path / "shared.png"), full_page=True)

        with learner.expect_navigation() as navigation:
            learner.click("button:has-text('Revoke link')")
        landed = navigation.value
        assert landed is not None
        assert landed.ok, (landed.status, learner.content()[:2000])
        expect(learner.locator(".tag.revoked")).to_have_count(1)
        response = visitor.goto(f"http://{host}{link}")
        assert response is not None
        assert response.status == 404
        browser.close()


@pytest.mark.browser
def test_rpl_route_in_the_browser(live, tmp_path):
    """A learner applies with evidence, the assessor asks for more, the learner adds it, the
    assessor accepts, and the learner finds the credential, marked RPL, in the wallet."""
    import re

    from playwright.sync_api import expect, sync_playwright

    from microcred.services import outbox
    from tests.platform.conftest import PASSWORD, publish_definition

    expect.set_options(timeout=20_000)
    app, host = live
    org = make_org(app, "acme")
    publish_definition(app, org)
    evidence = tmp_path / "reference-letter.txt"
    evidence.write_text("Aoife has welded safely for five years.")
    extra = tmp_path / "safety-course.txt"
    extra.write_text("Certificate of a safety course, 2024.")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        learner = browser.new_page()
        learner.goto(f"http://{host}/account/signup")
        learner.fill("input[name=name]", "Aoife Murphy")
        learner.fill("input[name=email]", "aoife@example.org")
        learner.fill("input[name=password]", "a long learner password")
        with learner.expect_navigation():
            learner.click("button:has-text('Create wallet')")
        [mail] = outbox.messages(app, "aoife@example.org")
        learner.goto(re.search(r"https?://\S+/account/verify\?token=\S+", mail["body"]).group(0))

        learner.goto(f"http://{host}/wallet/rpl")
        learner.fill("#rpl-form textarea[name=narrative]", "Five years as a welder at a shipyard.")
        learner.fill("#rpl-form textarea[name=links]", "https://portfolio.example/aoife")
        learner.set_input_files("#rpl-form input[name=files]", str(evidence))
        with learner.expect_navigation():
            learner.click("#rpl-form button")
        expect(learner.locator("#rpl-state")).to_have_text("submitted")

        assessor = browser.new_context().new_page()
        assessor.goto(f"http://{host}/signin")
        assessor.fill("input[name=email]", f"assessor@{org.slug}.example")
        assessor.fill("input[name=password]", PASSWORD)
        with assessor.expect_navigation():
            assessor.click("button[type=submit]")
        assessor.goto(f"http://{host}/rpl")
        with assessor.expect_navigation():
            assessor.click("table a")
        assessor.fill("#review-form textarea[name=message]", "Please add proof of safety training.")
        with assessor.expect_navigation():
            assessor.click("button[value=request_more]")
        expect(assessor.locator("#rpl-state")).to_have_text("more requested")

        learner.reload()
        learner.fill("#reply-form textarea[name=message]", "Here is my safety course certificate.")
        learner.set_input_files("#reply-form input[name=files]", str(extra))
        with learner.expect_navigation() as navigation:
            learner.click("#reply-form button")
        assert navigation.value is not None
        assert navigation.value.ok, navigation.value.status
        assert "error=" not in learner.url, (learner.url, learner.content()[:3000])
        expect(learner.locator("#decisions")).to_contain_text("learner: reply")

        issuer = browser.new_context().new_page()
        issuer.goto(f"http://{host}/signin")
        issuer.fill("input[name=email]", org.owner_email)
        issuer.fill("input[name=password]", PASSWORD)
        with issuer.expect_navigation():
            issuer.click("button[type=submit]")
        issuer.goto(f"http://{host}/rpl")
        with issuer.expect_navigation():
            issuer.click("table a")
        expect(issuer.locator("body")).to_contain_text("safety-course.txt")
        for box in issuer.locator("#review-form input[type=checkbox]").all():
            box.check()
        issuer.fill("#review-form textarea[name=message]", "All criteria met.")
        with issuer.expect_navigation():
            issuer.click("button[value=accept]")
        expect(issuer.locator("#rpl-state")).to_have_text("accepted")

        learner.goto(f"http://{host}/wallet")
        expect(learner.locator("table")).to_contain_text("Welding Safety")
        expect(learner.locator(".tag.rpl")).to_have_text("recognised prior learning")
        expect(learner.locator("table .tag.active")).to_have_count(1)
        learner.screenshot(path=str(tmp_path / "wallet-rpl.png"), full_page=True)
        browser.close()
