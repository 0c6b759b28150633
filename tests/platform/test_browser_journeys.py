"""The four kinds of users, each language, on a phone (390 px): a provider defines, publishes,
issues and revokes (with its confirmation); a QA body accredits; a learner signs up, finds the
credential in the wallet and shares it; an employer opens the link and verifies the file; the
QA body withdraws the accreditation and the employer sees it. Selectors are names and ids; the
words expected are the catalogue's, in the page's language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from microcred.db.session import transaction
from microcred.db.tables import Credential
from microcred.i18n import _, use_language
from microcred.services.providers import create_provider
from tests.platform.conftest import PASSWORD, await_mail, make_org
from tests.platform.test_browser import CHROMIUM, CHROMIUM_ARGS

PHONE = {"width": 390, "height": 844}
BROWSER_LOCALES = {"en": "en-GB", "fr": "fr-FR", "de": "de-DE"}


def _words(language: str, *messages: str) -> list[str]:
    with use_language(language):
        return [_(m) for m in messages]


def _fits(page) -> None:  # type: ignore[no-untyped-def]
    wider = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert wider <= 0, f"{page.url} is {wider}px wider than the phone"


def _sign_in(page, url: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "fr"])
def test_four_kinds_of_users_on_a_phone(live, language: str) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a loaded machine renders slowly
    app, host = live
    base = f"http://{host}"
    org = make_org(app, "acme")
    with transaction(app.sessions) as session:
        create_provider(
            app, session, slug="qa-agency", legal_name="QA Agency", country_code="IE",
            region="", website="https://qa.example", owner_email="owner@qa-agency.example",
            owner_password=PASSWORD, kind="qa_body",
        )  # fmt: skip
    published, active, revoked, withdrawn = _words(
        language, "published", "active", "revoked", "withdrawn"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def phone():  # type: ignore[no-untyped-def]
            context = browser.new_context(viewport=PHONE, locale=BROWSER_LOCALES[language])
            return context.new_page()

        # the provider
        provider = phone()
        _sign_in(provider, f"{base}/signin", org.owner_email)
        expect(provider.locator("html")).to_have_attribute("lang", language)
        provider.goto(f"{base}/definitions/new")
        provider.fill("input[name=title]", "Safe Lifting")
        provider.locator("input[name=outcome_statement]").nth(0).fill("Assesses a load")
        provider.locator("input[name=outcome_criterion]").nth(0).fill("Checklist complete")
        provider.fill("input[name=workload_ects]", "1,5" if language != "en" else "1.5")
        provider.select_option("select[name=level_framework]", "EQF")
        provider.fill("input[name=level_value]", "3")
        provider.fill("input[name=assessment_type]", "Observed practical")
        provider.select_option("select[name=participation]", "onsite")
        provider.fill("input[name=quality_assurance]", "External moderation")
        _fits(provider)
        with provider.expect_navigation():
            provider.click("main form.stack > button[type=submit]")
        with provider.expect_navigation():
            provider.click("form[action$='/publish'] button")
        expect(provider.locator("h1 .tag")).to_have_text(published)
        assess = provider.locator("a[href$='/assess']").get_attribute("href")
        for name, email in (("Niamh O'Brien", "niamh@example.org"), ("Sam", "sam@example.org")):
            provider.goto(base + assess)
            provider.fill("input[name=name]", name)
            provider.fill("input[name=email]", email)
            for box in provider.locator("input[name=achieved]").all():
                box.check()
            with provider.expect_navigation():
                provider.click("main form button[type=submit]")
            expect(provider.locator("p .tag")).to_have_text(active)
        _fits(provider)
        provider.fill("input[name=reason]", "Issued in error")
        with provider.expect_navigation():
            provider.click("button[value=revoke]")
        expect(provider.locator("#public-note")).to_contain_text("Issued in error")
        _fits(provider)
        with provider.expect_navigation():
            provider.click("#confirm-button")
        expect(provider.locator("p .tag")).to_have_text(revoked)

        # the QA body
        qa = phone()
        _sign_in(qa, f"{base}/signin", "owner@qa-agency.example")
        qa.goto(f"{base}/qa")
        qa.fill("input[name=provider]", "acme")
        qa.fill("input[name=scope]", "Short courses")
        until = app.now().date() + timedelta(days=365)
        qa.fill("input[name=valid_until]", until.isoformat())
        with qa.expect_navigation():
            qa.click("form[action='/qa/accreditations'] button[type=submit]")
        expect(qa.locator("tbody .tag.active")).to_have_count(1)
        _fits(qa)

        # the learner
        learner = phone()
        learner.goto(f"{base}/account/signup")
        learner.fill("input[name=name]", "Niamh O'Brien")
        learner.fill("input[name=email]", "niamh@example.org")
        learner.fill("input[name=password]", "a long learner password")
        with learner.expect_navigation():
            learner.click("main form button[type=submit]")
        [mail] = await_mail(app, "niamh@example.org", "email-confirmation")
        learner.goto(re.search(r"https?://\S+/account/verify\?token=\S+", mail["body"]).group(0))
        expect(learner.locator("html")).to_have_attribute("lang", language)
        expect(learner.locator("[data-verdict='verified']")).to_have_count(1)
        _fits(learner)
        learner.locator("#wallet-form input[name=items]").first.check()
        learner.fill("#wallet-form input[name=title]", "Niamh")
        with learner.expect_navigation():
            learner.click("#wallet-form button[type=submit] >> nth=0")
        link = learner.locator("#share-link a").get_attribute("href")

        # the employer
        employer = phone()
        employer.goto(base + link)
        expect(employer.locator(".banner.valid")).to_have_count(1)
        _fits(employer)
        with transaction(app.sessions, readonly=True) as session:
            niamhs = session.scalar(
                select(Credential.id).where(Credential.recipient_email == "niamh@example.org")
            )
        document = employer.request.get(f"{base}/credentials/{niamhs}.json").text()
        employer.goto(f"{base}/verify")
        employer.fill("textarea[name=text]", document)
        with employer.expect_navigation():
            employer.click("main form[enctype] button[type=submit]")
        expect(employer.locator("#verdict")).to_have_attribute("data-verdict", "verified")
        _fits(employer)

        # the QA body withdraws: the employer sees it on the next look
        qa.goto(f"{base}/qa")
        with qa.expect_navigation():
            qa.click("form[action$='/withdraw/confirm'] button")
        with qa.expect_navigation():
            qa.click("#confirm-button")
        expect(qa.locator("tbody .tag.revoked")).to_have_text(withdrawn)
        employer.goto(base + link)
        expect(employer.locator("[data-verdict='verified_with_warnings']")).to_have_count(1)
        browser.close()
