"""The public catalogue: search, filters, the JSON API, the sitemap and comparisons
(services/search.py, services/catalogue.py, web/catalogue.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from microcred.db.session import transaction
from microcred.domain.catalog import DefinitionInvalidError
from microcred.services import definitions, search, stacking, trust
from microcred.services.app import App
from microcred.services.providers import get_provider
from tests.platform.conftest import (
    BASE_URL,
    DEFINITION,
    accredit,
    make_org,
    publish_definition,
    staff,
)

FIRST_AID = {
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
    "assessment_type": "Online exam and recorded practical",
    "price_amount": 120,
    "price_currency": "eur",
    "next_start": "2027-02-01",
}


def _publish(app: App, org: Any, **changes: Any) -> Any:
    return publish_definition(app, org, {**FIRST_AID, **changes})


def _titles(app: App, **query: Any) -> list[str]:
    return sorted(h.title for h in search.search(app, search.Query(**query)).hits)


@pytest.fixture
def catalogue(platform: App) -> App:
    acme, other = make_org(platform, "acme"), make_org(platform, "other")
    _publish(platform, acme)  # first aid, EQF 3, 1 ECTS, online, accredited provider
    _publish(
        platform,
        acme,
        title="First Aid for Children",
        level={"framework": "EQF", "value": "4"},
        workload_ects=1.5,
        participation="blended",
    )
    _publish(platform, other, title="First Aid Refresher")  # not accredited
    _publish(platform, acme, title="Advanced First Aid", workload_ects=3)  # too big
    _publish(
        platform, acme, title="Mental Health First Aid", level={"framework": "EQF", "value": "5"}
    )
    _publish(
        platform,
        acme,
        title="Forklift Safety",
        description="Driving a forklift truck.",
        learning_outcomes=[{"statement": "Drives a forklift safely", "criterion": "Test"}],
    )
    accredit(platform, "acme")
    return platform


def test_the_combined_query_finds_exactly_what_matches(catalogue: App):
    found = _titles(
        catalogue,
        text="first aid",
        eqf_min=3,
        eqf_max=4,
        ects_max=2,
        participation=("online", "blended"),
        accredited=True,
    )
    assert found == ["First Aid at Work", "First Aid for Children"]
    assert _titles(catalogue, text="first aid", eqf_min=3, eqf_max=4, ects_max=2) == [
        "First Aid Refresher",
        "First Aid at Work",
        "First Aid for Children",
    ]
    assert _titles(catalogue, text="forklift") == ["Forklift Safety"]
    assert _titles(catalogue, text="resuscitation") != []  # outcomes are searched too
    assert _titles(catalogue, text="forkl") == ["Forklift Safety"]  # the last word, as a prefix
    assert _titles(catalogue, text="forklift aid") == []  # every word must occur
    assert _titles(catalogue, provider="other") == ["First Aid Refresher"]
    assert _titles(catalogue, price_max=100) == []
    assert len(_titles(catalogue, price_max=120)) == 6
    assert _titles(catalogue, assessment="100%_") == []  # LIKE wildcards are literal


def test_skills_and_occupations_filter_and_are_offered_by_name(platform: App, client):
    org = make_org(platform, "acme")
    skill = "http://data.europa.eu/esco/skill/52c8a6cb-5a9f-4f43-bfa5-d2cd5f5bbbe1"
    occupation = "http://data.europa.eu/esco/occupation/00000000-0000-4000-8000-000000000001"
    outcomes = [{"statement": "Gives first aid to a casualty", "criterion": "T", "esco_uri": skill}]
    _publish(platform, org, title="With the skill", learning_outcomes=outcomes)
    _publish(platform, org, title="With the occupation", occupations=[occupation])
    _publish(platform, org, title="With neither")
    assert _titles(platform, skill=skill) == ["With the skill"]
    assert _titles(platform, skill=occupation) == ["With the occupation"]
    page = client.get("/catalogue").text
    assert f'<option value="{skill}" >Gives first aid to a casualty</option>' in page
    assert "ESCO occupation 00000000" in page


def test_a_new_version_replaces_its_entry_and_a_withdrawn_accreditation_shows_at_once(
    catalogue: App,
):
    with transaction(catalogue.sessions) as session:
        provider = get_provider(session, "acme")
        row = next(
            r for r in definitions.list_for(session, provider) if r.title == "Forklift Safety"
        )
        draft = definitions.new_version(catalogue, session, row)
        changed = {
            **FIRST_AID,
            "title": "Forklift Safety II",
            "learning_outcomes": [{"statement": "Drives a forklift safely", "criterion": "Test"}],
        }
        definitions.update(session, provider, draft, changed)
        definitions.publish(catalogue, session, draft)
    assert _titles(catalogue, text="forklift") == ["Forklift Safety II"]
    hit = search.search(catalogue, search.Query(text="forklift")).hits[0]
    assert hit.path.endswith("/v2")
    assert len(_titles(catalogue, accredited=True)) == 5
    with transaction(catalogue.sessions) as session:
        body = get_provider(session, "qa-acme")
        qa_owner = staff(catalogue, _owner_id(session, body.id))
        [accreditation] = trust.accreditations_by(session, body)
        trust.withdraw(catalogue, session, qa_owner, accreditation.id)
    assert _titles(catalogue, accredited=True) == []


def test_a_pathway_lists_what_stacks_into_it(catalogue: App):
    with transaction(catalogue.sessions) as session:
        provider = get_provider(session, "acme")
        rows = {r.title: r for r in definitions.list_for(session, provider)}
        family = stacking.family_url(catalogue, session, rows["First Aid at Work"])
        owner = staff(catalogue, _owner_id(session, provider.id))
        pathway = stacking.create_pathway(
            catalogue,
            session,
            owner,
            definition_id=rows["Mental Health First Aid"].id,
            name="First aider",
            rules={"credential": {"achievement": [family]}},
        )
    assert _titles(catalogue, pathway=pathway.id) == ["First Aid at Work"]


def _owner_id(session: Any, provider_id: int) -> int:
    from sqlalchemy import select

    from microcred.db.tables import Staff

    return int(
        session.scalar(
            select(Staff.id).where(Staff.provider_id == provider_id, Staff.role == "owner")
        )
    )


def test_the_page_and_the_api_answer_the_same_query(catalogue: App, client):
    address = "q=first+aid&eqf_min=3&eqf_max=4&ects_max=1,9&mode=online&mode=blended&accredited=1"
    page = client.get(f"/catalogue?{address}")
    assert page.status_code == 200
    shown = sorted(re.findall(r'class="title">([^<]+)<', page.text))
    assert shown == ["First Aid at Work", "First Aid for Children"]
    api = client.get(f"/api/catalogue?{address}").json()
    assert api["total"] == 2
    assert sorted(i["title"] for i in api["items"]) == [
        "First Aid at Work",
        "First Aid for Children",
    ]
    item = next(i for i in api["items"] if i["title"] == "First Aid at Work")
    assert item["price"] == {"amount": 120, "currency": "EUR"}
    assert item["next_start"] == "2027-02-01"
    assert item["accredited"] is True
    assert item["url"].startswith(BASE_URL + "/providers/acme/definitions/")
    assert client.get(item["url"][len(BASE_URL) :]).status_code == 200


def test_bad_input_is_named_and_refused(catalogue: App, client):
    for address, field in (
        ("eqf_min=9", "eqf_min"),
        ("eqf_max=nan", "eqf_max"),
        ("page=inf", "page"),
        ("pathway=1e30", "pathway"),
        ("pathway=99999999999", "pathway"),
        ("price_max=-1", "price_max"),
        ("price_max=nan", "price_max"),
        ("ects_max=lots", "ects_max"),
        ("page=0", "page"),
        ("mode=teleport", "participation"),
        ("starts_from=tomorrow", "starts_from"),
        ("eqf_min=3.5", "eqf_min"),
    ):
        answer = client.get(f"/api/catalogue?{address}")
        assert answer.status_code == 422, address
        assert answer.json()["field"] == field, address
        page = client.get(f"/catalogue?{address}")
        assert page.status_code == 422, address
        assert 'role="alert"' in page.text


def test_pages_of_twenty_with_stable_links(platform: App, client):
    org = make_org(platform, "acme")
    for n in range(23):
        _publish(platform, org, title=f"First Aid Module {n:02d}")
    first = client.get("/catalogue?q=module").text
    assert first.count('class="hit"') == 20
    following = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "page=2" in following
    second = client.get("/catalogue" + following).text
    assert second.count('class="hit"') == 3
    assert 'rel="prev"' in second


def test_the_sitemap_lists_every_public_page_and_each_resolves(catalogue: App, client):
    sitemap = client.get("/sitemap.xml")
    assert sitemap.headers["content-type"].startswith("application/xml")
    urls = re.findall(r"<loc>([^<]+)</loc>", sitemap.text)
    assert f"{BASE_URL}/providers/acme" in urls
    assert sum("/definitions/" in u for u in urls) == 6
    for url in urls:
        assert client.get(url[len(BASE_URL) :]).status_code == 200, url


def test_a_comparison_aligns_the_elements_and_marks_what_they_share(catalogue: App, client):
    api = client.get("/api/catalogue?q=first+aid&provider=acme&eqf_max=3").json()
    ids = sorted(i["id"] for i in api["items"])
    assert len(ids) == 2  # at work and advanced: the same outcomes
    page = client.get(f"/compare?id={ids[0]}&id={ids[1]}")
    assert page.status_code == 200
    assert page.text.count('class="shared"') == 4  # two outcomes in common, in both columns
    assert "25 h per ECTS, as the provider states" in page.text
    assert "EQAVET" in page.text
    for address, status in (
        (f"id={ids[0]}", 422),
        (f"id={ids[0]}&id={ids[0]}", 422),  # the same twice is one
        ("id=1&id=2&id=3&id=4&id=5", 422),
        ("id=x&id=2", 422),
        ("id=%C2%B2&id=2", 422),  # a superscript two is a digit to str.isdigit, not to int
        (f"id={ids[0]}&id=999999", 404),
    ):
        assert client.get(f"/compare?{address}").status_code == status, address


def test_accents_and_case_are_folded_alike_on_both_databases(platform: App):
    org = make_org(platform, "acme")
    _publish(platform, org, title="Primeros auxilios para niños", description="Curso de Lucía.")
    assert _titles(platform, text="ninos") == ["Primeros auxilios para niños"]
    assert _titles(platform, text="LUCÍA") == ["Primeros auxilios para niños"]
    assert _titles(platform, text="lucia auxil") == ["Primeros auxilios para niños"]


def test_a_rule_naming_a_version_counts_that_version_only(platform: App, client):
    org = make_org(platform, "acme")
    first = _publish(platform, org, title="Pinned Course")
    whole = _publish(platform, org, title="The Whole")
    with transaction(platform.sessions) as session:
        provider = get_provider(session, "acme")
        version_url = f"{stacking.family_url(platform, session, first)}/v1"
        pathway = stacking.create_pathway(
            platform,
            session,
            staff(platform, _owner_id(session, provider.id)),
            definition_id=whole.id,
            name="Pinned pathway",
            rules={"credential": {"achievement": [version_url]}},
        )
    assert _titles(platform, pathway=pathway.id) == ["Pinned Course"]
    old_ids = [i["id"] for i in client.get("/api/catalogue?q=course").json()["items"]]
    with transaction(platform.sessions) as session:
        provider = get_provider(session, "acme")
        draft = definitions.new_version(
            platform, session, definitions.get(session, provider, first.id)
        )
        definitions.publish(platform, session, draft)
    assert _titles(platform, pathway=pathway.id) == []  # v2's credentials do not count for it
    v2 = client.get(f"/providers/acme/definitions/{first.family}/v2").text
    assert "Pinned pathway" not in v2
    assert "Pinned pathway" in client.get(f"/providers/acme/definitions/{first.family}/v1").text
    # a comparison shared before v2 still opens, and says v1 is no longer offered
    other = client.get("/api/catalogue?q=whole").json()["items"][0]["id"]
    shared = client.get(f"/compare?id={old_ids[0]}&id={other}")
    assert shared.status_code == 200
    assert "no longer offered" in shared.text
    assert f'href="/providers/acme/definitions/{first.family}/v2"' in shared.text


def test_a_link_too_long_to_index_is_refused_when_saved(platform: App):
    org = make_org(platform, "acme")
    long = "http://data.europa.eu/esco/skill/" + "a" * 200
    outcomes = [{"statement": "Does the thing", "criterion": "T", "esco_uri": long}]
    with pytest.raises(DefinitionInvalidError, match="at most 200 characters"):
        _publish(platform, org, learning_outcomes=outcomes)


def test_a_wrong_filter_keeps_the_words_and_one_pick_goes_back_to_the_search(catalogue, client):
    page = client.get("/catalogue?q=forklift&eqf_min=12")
    assert page.status_code == 422
    assert 'value="forklift"' in page.text  # what was typed stays
    assert "eqf_min must be between 1 and 8" in page.text
    [one] = [i["id"] for i in client.get("/api/catalogue?q=forklift").json()["items"]]
    search_page = f"{BASE_URL}/catalogue?q=forklift"
    back = client.get(
        f"/compare?id={one}", headers={"Referer": search_page}, follow_redirects=False
    )
    assert back.status_code == 303
    assert back.headers["location"].startswith("/catalogue?q=forklift&error=")
    assert "choose 2 to 4" in client.get(back.headers["location"]).text
    elsewhere = client.get(
        f"/compare?id={one}", headers={"Referer": "https://evil.example/catalogue"}
    )
    assert elsewhere.status_code == 422  # no redirect to another site
