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

from microcred.services import jobs
from microcred.services.app import App
from microcred.web.app import create_app
from tests.platform.conftest import PASSWORD, await_mail, make_org

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
    with jobs.running(platform):  # as `microcred serve` runs them: beside the web app
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
        # a confirmation first: what will happen, and that the reason will be public
        expect(page.locator("#public-note")).to_contain_text("falsified")
        expect(page.locator("p .tag")).to_have_count(0)  # nothing changed yet
        with page.expect_navigation():
            page.click("#confirm-button")
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
    from microcred.vc.model import IdentityObject
    from tests.helpers import unsigned

    about_her = unsigned()  # a did:key issuer from elsewhere, naming her email (holder binding)
    about_her["credentialSubject"]["identifier"] = [
        IdentityObject.for_email("niamh@example.org").to_json()
    ]
    third_party = tmp_path / "third-party.json"
    third_party.write_text(json.dumps(signed(about_her)))

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
        [mail] = await_mail(app, "niamh@example.org", "email-confirmation")
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
        [mail] = await_mail(app, "aoife@example.org", "email-confirmation")
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
        expect(assessor.locator("#rpl-state")).to_have_text("more information requested")

        learner.reload()
        learner.fill("#reply-form textarea[name=message]", "Here is my safety course certificate.")
        learner.set_input_files("#reply-form input[name=files]", str(extra))
        with learner.expect_navigation() as navigation:
            learner.click("#reply-form button")
        assert navigation.value is not None
        assert navigation.value.ok, navigation.value.status
        assert "error=" not in learner.url, (learner.url, learner.content()[:3000])
        expect(learner.locator("#decisions")).to_contain_text("learner: replied")

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


@pytest.mark.browser
def test_holder_binding_and_trust_in_the_browser(live, tmp_path):
    """Issue 10, acceptance 3. A learner imports a credential about someone else: it is marked and
    kept off her public link. She proves a second email, and a credential issued to it becomes
    hers; she proves a did:key by signing a challenge, and a credential issued to that DID becomes
    hers. An employer uploads a forged file: every check after the signature is grey. A QA body
    withdraws the provider's accreditation: the share page says so at once. /verify reads the PDF
    certificate."""
    import json
    import re
    from datetime import UTC, date, datetime, timedelta

    from playwright.sync_api import expect, sync_playwright

    from microcred.vc.multikey import KeyPair
    from microcred.vc.presentation import sign_presentation
    from tests.helpers import signed, unsigned
    from tests.platform.conftest import issue_to, publish_definition
    from tests.platform.test_verifier import _accredit, _qa_body

    expect.set_options(timeout=20_000)
    app, host = live
    base = f"http://{host}"
    org = make_org(app, "acme")
    row = publish_definition(app, org)
    qa_owner = _qa_body(app)
    _accredit(app, qa_owner, "acme", date.today() + timedelta(days=365))
    issue_to(app, org, row, "niamh@example.org", "Niamh O'Brien")
    files = {
        "other.json": issue_to(app, org, row, "ciara@example.org", "Ciara Byrne").document,
        "work.json": issue_to(app, org, row, "niamh.work@example.org", "Niamh O'Brien").document,
    }
    did_key = KeyPair.generate()
    issuer = KeyPair.generate()
    about_did = unsigned(issuer.public.did_key)
    subject = about_did["credentialSubject"]
    subject.pop("identifier", None)
    subject["id"] = did_key.public.did_key
    files["did.json"] = json.dumps(signed(about_did, key=issuer))
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    def marks(page):
        return page.locator("tr:has(.not-yours)")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        learner = browser.new_page()
        learner.goto(f"{base}/account/signup")
        learner.fill("input[name=name]", "Niamh O'Brien")
        learner.fill("input[name=email]", "niamh@example.org")
        learner.fill("input[name=password]", "a long learner password")
        with learner.expect_navigation():
            learner.click("button:has-text('Create wallet')")
        [mail] = await_mail(app, "niamh@example.org", "email-confirmation")
        learner.goto(re.search(r"https?://\S+/account/verify\?token=\S+", mail["body"]).group(0))
        expect(learner.locator("table")).to_contain_text("Welding Safety")
        for name in ("other.json", "work.json", "did.json"):
            learner.goto(f"{base}/wallet")
            learner.set_input_files("#import-form input[name=file]", str(tmp_path / name))
            with learner.expect_navigation():
                learner.click("#import-form button")
        learner.goto(f"{base}/wallet")
        expect(learner.locator("#wallet-form tbody tr")).to_have_count(4)
        expect(marks(learner)).to_have_count(3)

        # a public link with everything selected is refused; with her own it is made
        for box in learner.locator("#wallet-form input[name=items]").all():
            box.check()
        with learner.expect_navigation():
            learner.click("#wallet-form button:has-text('Create public link')")
        expect(learner.locator(".error")).to_be_visible()
        learner.goto(f"{base}/wallet")
        learner.locator("#wallet-form tr:not(:has(.not-yours)) input[name=items]").check()
        learner.fill("#wallet-form input[name=title]", "Niamh's credentials")
        with learner.expect_navigation():
            learner.click("#wallet-form button:has-text('Create public link')")
        link = learner.locator("#share-link a").get_attribute("href")
        assert link
        visitor = browser.new_context().new_page()
        visitor.goto(f"{base}{link}")
        expect(visitor.locator("[data-verdict]")).to_have_count(1)
        expect(visitor.locator("[data-verdict='verified']")).to_have_count(1)
        expect(visitor.locator("body")).not_to_contain_text("Ciara Byrne")

        # she proves her work email: the credential issued to it becomes hers
        learner.goto(f"{base}/account/identities")
        learner.fill("#add-email-form input[name=email]", "niamh.work@example.org")
        with learner.expect_navigation():
            learner.click("#add-email-form button")
        [mail] = await_mail(app, "niamh.work@example.org", "email-proof")
        learner.goto(
            re.search(r"https?://\S+/account/identities/verify\?\S+", mail["body"]).group(0)
        )
        with learner.expect_navigation():
            learner.click("#confirm-email-form button")
        learner.goto(f"{base}/wallet")
        expect(marks(learner)).to_have_count(2)

        # she proves her did:key by signing the challenge: the credential about it becomes hers
        learner.goto(f"{base}/account/identities")
        with learner.expect_navigation():
            learner.click("#did-challenge-form button")
        challenge = learner.locator("#challenge").inner_text().strip()
        proof = sign_presentation(
            [], did_key, challenge=challenge, domain=base, created=datetime.now(UTC)
        )
        learner.fill("#prove-did-form textarea[name=presentation]", json.dumps(proof))
        with learner.expect_navigation():
            learner.click("#prove-did-form button")
        learner.goto(f"{base}/wallet")
        expect(marks(learner)).to_have_count(1)
        expect(marks(learner)).to_contain_text("Welding Safety")  # Ciara's, still not hers
        item = learner.locator(
            "#wallet-form tbody tr:not(:has(.not-yours)):has-text('Welding Safety') a"
        ).first
        item_url = item.get_attribute("href")
        learner.screenshot(path=str(tmp_path / "wallet-bound.png"), full_page=True)

        # an employer uploads a forged file: the checks after the signature are grey
        forged = json.loads(files["work.json"])
        forged["credentialSubject"]["achievement"]["name"] = "Master Welder"
        (tmp_path / "forged.json").write_text(json.dumps(forged))
        employer = browser.new_context().new_page()
        employer.goto(f"{base}/verify")
        employer.set_input_files("input[name=file]", str(tmp_path / "forged.json"))
        with employer.expect_navigation():
            employer.click("button:has-text('Verify')")
        expect(employer.locator("#verdict")).to_have_attribute("data-verdict", "invalid")
        expect(employer.locator("li[data-code='proof.signature_invalid']")).to_be_visible()
        after = employer.locator("li[data-code='proof.signature_invalid'] ~ li")
        expect(after.locator(":scope.s-not_checked")).to_have_count(5)
        expect(after.locator(":scope.s-passed")).to_have_count(0)

        # /verify reads the PDF certificate of her credential
        learner.goto(f"{base}{item_url}")
        with learner.expect_download() as download:
            learner.click("a[href$='download.pdf']")
        pdf = tmp_path / "certificate.pdf"
        download.value.save_as(pdf)
        employer.goto(f"{base}/verify")
        employer.set_input_files("input[name=file]", str(pdf))
        with employer.expect_navigation():
            employer.click("button:has-text('Verify')")
        expect(employer.locator("#verdict")).to_have_attribute("data-verdict", "verified")

        # the QA body withdraws the accreditation: the share page shows it at once
        qa = browser.new_context().new_page()
        qa.goto(f"{base}/signin")
        qa.fill("input[name=email]", "owner@qa-agency.example")
        qa.fill("input[name=password]", PASSWORD)
        with qa.expect_navigation():
            qa.click("button[type=submit]")
        qa.goto(f"{base}/qa")
        with qa.expect_navigation():
            qa.click("button:has-text('Withdraw')")
        expect(qa.locator("#public-note")).to_contain_text("trust registry")
        with qa.expect_navigation():
            qa.click("#confirm-button")
        expect(qa.locator(".tag.revoked")).to_have_text("withdrawn")
        visitor.reload()
        expect(visitor.locator("[data-verdict='verified_with_warnings']")).to_have_count(1)
        expect(visitor.locator("body")).to_contain_text("not currently accredited")
        visitor.screenshot(path=str(tmp_path / "share-withdrawn.png"), full_page=True)
        browser.close()


@pytest.mark.browser
def test_verify_and_public_page_fit_a_phone(live, tmp_path):
    """At 390 px wide, /verify with a result and the public credential page (the QR target) have
    no horizontal scrolling: long DIDs, URLs and the facts list wrap."""
    import re

    from playwright.sync_api import expect, sync_playwright

    from tests.platform.conftest import issue_to, publish_definition

    expect.set_options(timeout=20_000)
    app, host = live
    org = make_org(app, "acme")
    credential = issue_to(app, org, publish_definition(app, org))
    (tmp_path / "credential.json").write_text(credential.document)
    authentic = re.compile("^verified")  # the test provider is in no registry: a warning
    overflow = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"http://{host}/verify")
        page.set_input_files("input[name=file]", str(tmp_path / "credential.json"))
        with page.expect_navigation():
            page.click("button:has-text('Verify')")
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", authentic)
        expect(page.locator("dl.facts")).to_be_visible()
        scroll, client = page.evaluate(overflow)
        assert scroll <= client, f"/verify is {scroll} px wide in a {client} px window"

        page.goto(f"http://{host}/credentials/{credential.id}")
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", authentic)
        expect(page.locator("dl.facts")).to_be_visible()
        scroll, client = page.evaluate(overflow)
        assert scroll <= client, f"the public page is {scroll} px wide in a {client} px window"
        browser.close()
