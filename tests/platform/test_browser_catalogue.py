"""The catalogue in a real browser (issue 14, acceptance 2): a visitor searches, filters by
accredited providers, opens two results, compares them and shares the comparison's address; a
second visitor opens it and sees the same."""

from __future__ import annotations

from typing import Any

import pytest

from microcred.services.app import App
from tests.platform.conftest import DEFINITION, accredit, make_org, publish_definition
from tests.platform.test_browser import CHROMIUM, CHROMIUM_ARGS, live_server  # noqa: F401

FIRST_AID: dict[str, Any] = {
    **DEFINITION,
    "title": "First Aid at Work",
    "description": "Emergency first aid for the workplace.",
    "learning_outcomes": [
        {"statement": "Gives cardiopulmonary resuscitation", "criterion": "Observed on a manikin"},
        {"statement": "Treats bleeding and burns", "criterion": "Scenario"},
    ],
    "workload_ects": 1,
    "workload_hours": 25,
    "level": {"framework": "EQF", "value": "3"},
    "participation": "online",
}


def _seed(app: App) -> None:
    acme, other = make_org(app, "acme"), make_org(app, "other")
    publish_definition(app, acme, FIRST_AID)
    publish_definition(
        app,
        acme,
        {
            **FIRST_AID,
            "title": "First Aid for Children",
            "level": {"framework": "EQF", "value": "4"},
            "workload_ects": 1.5,
            "workload_hours": 45,
        },
    )
    publish_definition(app, other, {**FIRST_AID, "title": "First Aid Refresher"})
    publish_definition(app, acme, {**FIRST_AID, "title": "Advanced First Aid", "workload_ects": 3})
    publish_definition(
        app, acme, {**FIRST_AID, "title": "First Aid On Site", "participation": "onsite"}
    )
    accredit(app, "acme")
    assert other.slug == "other"


@pytest.mark.browser
def test_a_visitor_searches_compares_and_shares(platform, live_server):  # noqa: F811
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a loaded CI machine renders slowly
    _seed(platform)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{live_server}/")
        page.fill("#home-search input[name=q]", "first aid")
        with page.expect_navigation():
            page.click("#home-search button[type=submit]")
        expect(page.locator("#count")).to_have_attribute("data-total", "5")

        form = page.locator("#search")
        form.locator("select[name=eqf_min]").select_option("3")
        form.locator("select[name=eqf_max]").select_option("4")
        form.locator("input[name=ects_max]").fill("1,9")  # under 2 ECTS, with a decimal comma
        form.locator("input[name=mode][value=online]").check()
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        expect(page.locator("#count")).to_have_attribute("data-total", "3")
        page.locator("#search input[name=accredited]").check()
        with page.expect_navigation():
            page.locator("#search button[type=submit]").click()
        expect(page.locator("#count")).to_have_attribute("data-total", "2")
        expect(page.locator("#results .title")).to_have_count(2)
        titles = sorted(page.locator("#results .title").all_inner_texts())
        assert titles == ["First Aid at Work", "First Aid for Children"]
        results = page.url

        for title in ("First Aid at Work", "First Aid for Children"):  # open each, come back
            with page.expect_navigation():
                page.get_by_role("link", name=title, exact=True).click()
            expect(page.locator("h1")).to_have_text(title)
            expect(page.locator("[data-element=level]")).to_contain_text("EQF level")
            page.go_back()
            expect(page.locator("#count")).to_have_attribute("data-total", "2")
        assert page.url == results

        for box in page.locator("#results input[name=id]").all():
            box.check()
        with page.expect_navigation():
            page.click("#compare")
        table = page.locator("#comparison")
        expect(table.locator("thead th")).to_have_count(3)
        expect(table.locator("#row-workload")).to_contain_text("25 h per ECTS")
        expect(table.locator("#row-workload")).to_contain_text("30 h per ECTS")
        expect(table.locator("li.shared")).to_have_count(4)  # both outcomes, in both columns
        shared, seen = page.url, table.inner_text()

        other = browser.new_context().new_page()  # a second visitor: no cookies, no history
        other.goto(shared)
        expect(other.locator("#comparison thead th")).to_have_count(3)
        assert other.locator("#comparison").inner_text() == seen
        browser.close()
