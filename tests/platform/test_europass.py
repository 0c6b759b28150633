"""Europass export over HTTP: the demo's definitions and credentials as ELM 3 JSON-LD that
conforms to the EDC shapes; drafts for their provider's staff only; clear errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from microcred.db.session import transaction
from microcred.db.tables import Credential, Definition, Provider
from microcred.domain import europass
from microcred.domain.catalog import MANDATORY_ELEMENTS, OPTIONAL_ELEMENTS
from microcred.services import definitions
from microcred.services.demo import DEFINITIONS, seed
from microcred.services.providers import create_api_token
from tests.elm import FULL, validate
from tests.platform.conftest import (
    PASSWORD,
    issue_to,
    make_org,
    publish_definition,
    signin,
    staff,
)

JSON_LD = "application/ld+json"
PROBLEM = "application/problem+json"
EVERY_ELEMENT = set(MANDATORY_ELEMENTS) | set(OPTIONAL_ELEMENTS)


def _draft(platform: Any, provider_id: int, data: dict[str, Any]) -> Definition:
    with transaction(platform.sessions) as session:
        provider = session.get(Provider, provider_id)
        assert provider is not None
        return definitions.create(platform, session, provider, data)


def _jsonld(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(JSON_LD)
    document: dict[str, Any] = response.json()
    return document


def test_the_demo_credential_and_definition_conform_and_carry_every_element(platform, client):
    seeded = seed(platform, "demo-academy", "owner@demo-academy.example", PASSWORD)
    first = seeded.expected["valid"][0]  # Data Protection Essentials, graded 88
    document = _jsonld(client.get(f"/credentials/{first}/europass.jsonld"))
    conforms, _report, text = validate(document, FULL)
    assert conforms is True, text
    assert europass.annex_i_elements(document, europass.CREDENTIAL_PATHS) == EVERY_ELEMENT
    assert document["credentialSubject"]["fullName"] == {"en": "Aoife Murphy"}
    assert document["identifier"]["notation"] == f"http://testserver/credentials/{first}"
    with transaction(platform.sessions, readonly=True) as session:
        definition_id = session.scalar(
            select(Credential.definition_id).where(Credential.id == first)
        )
    definition = _jsonld(client.get(f"/definitions/{definition_id}/europass.jsonld"))
    conforms, _report, text = validate(definition, FULL)
    assert conforms is True, text
    spec = definition["learningAchievementSpecification"]
    assert spec["id"] == document["credentialSubject"]["hasClaim"]["specifiedBy"]["id"]
    assert spec["title"] == {"en": DEFINITIONS[0]["title"]}
    assert europass.annex_i_elements(definition, europass.DEFINITION_PATHS) == set(
        europass.DEFINITION_PATHS
    )
    # every credential of the demo that has a definition behind it exports and conforms
    for ids in seeded.expected.values():
        for credential_id in ids:
            exported = _jsonld(client.get(f"/credentials/{credential_id}/europass.jsonld"))
            assert validate(exported, FULL)[0] is True


def test_unknown_and_erased_credentials(platform, client):
    missing = client.get("/credentials/no-such-credential/europass.jsonld")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    assert missing.json()["code"] == "not_found"
    assert client.get("/definitions/999999/europass.jsonld").status_code == 404
    assert client.get("/definitions/0/europass.jsonld").status_code == 422  # not a row id

    org = make_org(platform, "erasing")
    credential = issue_to(platform, org, publish_definition(platform, org))
    with transaction(platform.sessions) as session:
        session.execute(
            update(Credential).where(Credential.id == credential.id).values(document="")
        )
    erased = client.get(f"/credentials/{credential.id}/europass.jsonld")
    assert erased.status_code == 410
    assert erased.json()["code"] == "credential.erased"


def test_a_published_definition_is_public_a_draft_is_its_providers(platform, client):
    org = make_org(platform, "drafting")
    other = make_org(platform, "elsewhere")
    published = publish_definition(platform, org)
    assert validate(_jsonld(client.get(f"/definitions/{published.id}/europass.jsonld")))[0]

    complete = _draft(platform, org.provider_id, DEFINITIONS[0])
    incomplete = _draft(platform, org.provider_id, {"title": "Half-written"})
    for draft in (complete, incomplete):  # anyone, then another provider's staff: not told
        assert client.get(f"/definitions/{draft.id}/europass.jsonld").status_code == 404
    signin(client, other.owner_email)
    assert client.get(f"/definitions/{complete.id}/europass.jsonld").status_code == 404

    signin(client, f"viewer@{org.slug}.example")
    document = _jsonld(client.get(f"/definitions/{complete.id}/europass.jsonld"))
    assert validate(document)[0] is True
    refused = client.get(f"/definitions/{incomplete.id}/europass.jsonld")
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["code"] == "europass.incomplete"
    assert "learning outcome" in refused.json()["detail"]

    client.cookies.clear()
    with transaction(platform.sessions) as session:
        token = create_api_token(platform, session, staff(platform, org.owner_id), "europass")
    by_token = client.get(
        f"/definitions/{complete.id}/europass.jsonld",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert by_token.status_code == 200
    wrong = client.get(
        f"/definitions/{complete.id}/europass.jsonld",
        headers={"Authorization": "Bearer mc_not-a-token"},
    )
    assert wrong.status_code == 404


def test_a_value_without_an_eu_concept_is_a_clear_error(platform, client):
    org = make_org(platform, "klingon")
    row = publish_definition(platform, org, {**DEFINITIONS[1], "language": "tlh"})
    response = client.get(f"/definitions/{row.id}/europass.jsonld")
    assert response.status_code == 422
    assert response.json()["code"] == "europass.unmappable"
    assert "tlh" in response.json()["detail"]


def test_a_credential_issued_through_the_vc_api_has_no_elm_form(platform, client):
    # such a credential hangs under its provider's hidden definition (state "vc_api")
    org = make_org(platform, "vcapi")
    credential = issue_to(platform, org, publish_definition(platform, org))
    with transaction(platform.sessions) as session:
        row = session.get(Credential, credential.id)
        assert row is not None
        session.execute(
            update(Definition).where(Definition.id == row.definition_id).values(state="vc_api")
        )
    response = client.get(f"/credentials/{credential.id}/europass.jsonld")
    assert response.status_code == 422
    assert response.json()["code"] == "europass.not_exportable"
