"""The public pages behind the identifiers credentials cite (services/catalogue.py,
web/catalogue.py): a definition's versions, a provider's profile, a pathway's rules."""

from __future__ import annotations

import json
from typing import Any

from microcred.db.session import transaction
from microcred.services import definitions, stacking
from microcred.services.app import App
from tests.platform.conftest import (
    BASE_URL,
    DEFINITION,
    accredit,
    make_org,
    publish_definition,
    staff,
)
from tests.platform.conftest import issue_to as issue

LD = {"Accept": "application/ld+json"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _achievement_path(credential: Any) -> str:
    document = json.loads(credential.document)
    achievement_id = document["credentialSubject"]["achievement"]["id"]
    assert achievement_id.startswith(BASE_URL + "/providers/acme/definitions/")
    return str(achievement_id[len(BASE_URL) :])


def test_an_achievement_identifier_answers_what_its_credentials_embed(platform, client):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    credential = issue(platform, org, row)
    path = _achievement_path(credential)

    answer = client.get(path, headers=LD)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/ld+json")
    assert "Accept" in answer.headers["vary"]
    served = json.loads(answer.text)
    embedded = json.loads(credential.document)["credentialSubject"]["achievement"]
    assert served.pop("@context") == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert served == embedded  # byte for byte the same statement, as JSON

    page = client.get(path, headers=BROWSER)
    assert page.headers["content-type"].startswith("text/html")
    assert "Welding Safety" in page.text
    assert "Identifies welding hazards" in page.text
    assert 'href="/providers/acme"' in page.text
    # JSON preferred by its q-value; HTML preferred over JSON
    prefer_json = {"Accept": "text/html;q=0.5, application/json"}
    assert (
        client.get(path, headers=prefer_json)
        .headers["content-type"]
        .startswith("application/ld+json")
    )
    prefer_html = {"Accept": "application/ld+json;q=0.1, text/html"}
    assert client.get(path, headers=prefer_html).headers["content-type"].startswith("text/html")


def test_drafts_and_unknown_identifiers_are_not_found(platform, client):
    org = make_org(platform, "acme")
    make_org(platform, "other")
    row = publish_definition(platform, org)
    with transaction(platform.sessions) as session:
        published = definitions.get(session, _provider(platform, session, "acme"), row.id)
        draft = definitions.new_version(platform, session, published)
        draft_family, draft_version = draft.family, draft.version
    for path in (
        f"/providers/acme/definitions/{draft_family}/v{draft_version}",  # a draft
        f"/providers/other/definitions/{row.family}/v{row.version}",  # another provider's
        f"/providers/acme/definitions/{row.family}/v99",
        "/providers/acme/definitions/no-such-family",
        "/providers/nobody",
        "/providers/acme/pathways/1",
    ):
        assert client.get(path, headers=LD).status_code == 404, path
        assert client.get(path, headers=BROWSER).status_code == 404, path
    assert client.get("/providers/acme/definitions/x/v0").status_code == 422  # not a version


def test_a_retired_version_points_to_the_current_one_and_the_family_to_the_published(
    platform, client
):
    org = make_org(platform, "acme")
    first = publish_definition(platform, org)
    with transaction(platform.sessions) as session:
        provider = _provider(platform, session, "acme")
        second = definitions.new_version(
            platform, session, definitions.get(session, provider, first.id)
        )
        definitions.publish(platform, session, second)
        family = second.family
    old = client.get(f"/providers/acme/definitions/{family}/v1", headers=BROWSER)
    assert old.status_code == 200
    assert "no longer offered" in old.text
    assert f'href="/providers/acme/definitions/{family}/v2"' in old.text
    follow = client.get(f"/providers/acme/definitions/{family}", follow_redirects=False)
    assert follow.status_code == 303
    assert follow.headers["location"] == f"/providers/acme/definitions/{family}/v2"


def test_a_providers_profile_lists_what_it_publishes_and_its_accreditation(platform, client):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    with transaction(platform.sessions) as session:
        provider = _provider(platform, session, "acme")
        definitions.create(platform, session, provider, {**DEFINITION, "title": "Secret Draft"})
    accredit(platform, "acme")
    page = client.get("/providers/acme", headers=BROWSER)
    assert page.status_code == 200
    assert "Acme Institute" in page.text
    assert f'href="/providers/acme/definitions/{row.family}/v{row.version}"' in page.text
    assert "Secret Draft" not in page.text
    assert "QA Agency" in page.text
    assert "did:web:testserver:providers:acme" in page.text
    profile = client.get("/providers/acme", headers=LD).json()
    assert profile["id"] == "did:web:testserver:providers:acme"
    assert "Profile" in profile["type"]
    assert profile["address"]["addressCountryCode"] == "DE"
    qa = client.get("/providers/qa-acme", headers=BROWSER).text
    assert 'href="/providers/acme"' in qa  # the providers it accredits


def test_a_pathway_page_states_its_rules_in_words_with_titles(platform, client):
    org = make_org(platform, "acme")
    part = publish_definition(platform, org)
    whole = publish_definition(platform, org, {**DEFINITION, "title": "Workshop Master"})
    with transaction(platform.sessions) as session:
        family = stacking.family_url(platform, session, part)
        pathway = stacking.create_pathway(
            platform,
            session,
            staff(platform, org.owner_id),
            definition_id=whole.id,
            name="Workshop pathway",
            rules={
                "all": [
                    {"credential": {"achievement": [family], "trusted": True}},
                    {"min_ects": 5, "where": {"min_eqf": 4}},
                ]
            },
        )
    page = client.get(f"/providers/acme/pathways/{pathway.id}", headers=BROWSER)
    assert page.status_code == 200
    assert "All of the following:" in page.text
    assert "one of Welding Safety; from a recognised provider" in page.text
    assert "At least 5 ECTS in total, from a credential EQF 4 or higher" in page.text
    assert BASE_URL + "/providers/" not in page.text  # titles, not identifiers
    assert f'href="/providers/acme/definitions/{whole.family}/v{whole.version}"' in page.text
    definition_page = client.get(f"/providers/acme/definitions/{part.family}/v1").text
    assert f'href="/providers/acme/pathways/{pathway.id}"' in definition_page  # stacks into


def _provider(app: App, session: Any, slug: str) -> Any:
    from microcred.services.providers import get_provider

    return get_provider(session, slug)


def test_the_public_credential_page_links_its_achievement_and_issuer(platform, client):
    org = make_org(platform, "acme")
    credential = issue(platform, org, publish_definition(platform, org))
    page = client.get(f"/credentials/{credential.id}", headers=BROWSER).text
    assert f'href="{_achievement_path(credential)}"' in page
    assert 'href="/providers/acme"' in page
