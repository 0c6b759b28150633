"""The main journeys with the keyboard alone (WCAG 2.1.1): each control is reached with Tab, in
an order that follows the page, shows where the focus is, and works with Enter or Space."""

from __future__ import annotations

import pytest

from tests.platform.conftest import PASSWORD, issue_to, make_org, publish_definition
from tests.platform.test_browser import CHROMIUM, CHROMIUM_ARGS

FOCUSED = """sel => {
  const e = document.activeElement;
  if (!e || !e.matches(sel)) return null;
  const s = getComputedStyle(e);
  return {visible: s.outlineStyle !== 'none' || s.boxShadow !== 'none'};
}"""


def _tab_to(page, selector: str, limit: int = 120) -> None:  # type: ignore[no-untyped-def]
    """Tab forward until ``selector`` has the focus; it must show it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        found = page.evaluate(FOCUSED, selector)
        if found is not None:
            assert found["visible"], f"{selector} has the focus but does not show it"
            return
    raise AssertionError(f"{selector} is not reachable with Tab on {page.url}")


def _type_into(page, selector: str, text: str) -> None:  # type: ignore[no-untyped-def]
    _tab_to(page, selector)
    page.keyboard.type(text)


@pytest.mark.browser
def test_sign_in_revoke_and_verify_with_the_keyboard_alone(live) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)
    app, host = live
    base = f"http://{host}"
    org = make_org(app, "acme")
    row = publish_definition(app, org)
    credential = issue_to(app, org, row, "niamh@example.org", "Niamh O'Brien")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()

        # a provider signs in and revokes, confirming, with the keyboard
        page.goto(f"{base}/signin")
        _type_into(page, "input[name=email]", org.owner_email)
        _type_into(page, "input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.goto(f"{base}/manage/credentials/{credential.id}")
        _type_into(page, "input[name=reason]", "Issued in error")
        _tab_to(page, "button[value=revoke]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        _tab_to(page, "#confirm-button")
        with page.expect_navigation():
            page.keyboard.press("Space")
        expect(page.locator("p .tag")).to_have_text("revoked")

        # anyone verifies a pasted credential: the verdict says it is revoked
        visitor = browser.new_page()
        visitor.goto(f"{base}/verify")
        _tab_to(visitor, "textarea[name=text]")
        visitor.keyboard.insert_text(credential.document)
        _tab_to(visitor, "form[enctype] button[type=submit]")
        with visitor.expect_navigation():
            visitor.keyboard.press("Enter")
        expect(visitor.locator("#verdict")).to_have_attribute("data-verdict", "revoked")

        # a learner chooses her language from the footer with the keyboard
        _tab_to(visitor, "footer a[hreflang=fr]")
        with visitor.expect_navigation():
            visitor.keyboard.press("Enter")
        expect(visitor.locator("html")).to_have_attribute("lang", "fr")
        browser.close()
