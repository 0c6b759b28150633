"""domain/europass.py: definitions and issued credentials in ELM 3, checked with pyshacl against
the EDC application-profile shapes (offline), and against the Commission's Annex I sample."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from microcred.domain import europass
from microcred.domain.assessment import OutcomeResult
from microcred.domain.award import Issuer, Recipient, build_credential
from microcred.domain.catalog import MANDATORY_ELEMENTS, OPTIONAL_ELEMENTS, DefinitionData
from microcred.domain.europass_vocab import UnmappableError
from microcred.services.demo import DEFINITIONS
from microcred.vc import loader as loader_module
from tests.elm import FULL, NO_CV, sample, validate, violated_paths

ISSUED = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
SPEC_ID = "https://microcred.example/providers/demo/definitions/f1/v1"
ISSUER = Issuer(
    did="did:web:microcred.example:providers:demo",
    name="Demo Health Academy",
    url="https://demo-academy.example",
    country_code="IE",
    region="Leinster",
)
PNG = b"\x89PNG\r\n\x1a\n not a real image"
CRED = "https://www.w3.org/2018/credentials#"
ELM = "http://data.europa.eu/snb/model/elm/"


def definition(which: int = 0, **changes: Any) -> DefinitionData:
    data = {"country_code": "IE", "awarding_body": ISSUER.name, **DEFINITIONS[which], **changes}
    return DefinitionData.model_validate(data)


def issued(data: DefinitionData, grade: str | None = "88") -> dict[str, Any]:
    return build_credential(
        credential_id="https://microcred.example/credentials/3ef0ac26-9a1f-41c6-871b-2b82e670907b",
        achievement_id=SPEC_ID,
        issuer=ISSUER,
        definition=data,
        definition_version=1,
        recipient=Recipient("Aoife Murphy", "aoife.murphy@example.org"),
        results=[OutcomeResult(o.id, True) for o in data.learning_outcomes],
        grade=grade,
        issued_at=ISSUED,
        valid_until=datetime(2029, 5, 1, tzinfo=UTC),
        status_entries=[],
    )


def credential_export(data: DefinitionData, grade: str | None = "88") -> dict[str, Any]:
    return europass.credential_document(issued(data, grade), data=data, image_png=PNG)


def definition_export(data: DefinitionData) -> dict[str, Any]:
    organisation = europass.Organisation(
        did=ISSUER.did, name=ISSUER.name, country_code=data.country_code, website=ISSUER.url
    )
    return europass.definition_document(data, spec_id=SPEC_ID, organisation=organisation)


@pytest.mark.parametrize("profile", [NO_CV, FULL])
@pytest.mark.parametrize("which", range(len(DEFINITIONS)))
def test_every_demo_export_conforms_to_the_edc_shapes(which: int, profile: str) -> None:
    data = definition(which)
    for document in (credential_export(data), definition_export(data)):
        conforms, _report, text = validate(document, profile)
        assert conforms is True, text


def test_the_validation_catches_a_broken_export() -> None:
    document = credential_export(definition())
    del document["issued"]  # mandatory: the date the credential was issued
    conforms, report, _text = validate(document)
    assert conforms is False
    assert f"{CRED}issued" in violated_paths(report)

    untitled = credential_export(definition())
    del untitled["credentialSubject"]["hasClaim"]["title"]
    conforms, report, _text = validate(untitled, NO_CV)
    assert conforms is False
    assert "http://purl.org/dc/terms/title" in violated_paths(report)


def test_the_full_profile_checks_the_vocabularies_the_generic_one_does_not() -> None:
    document = credential_export(definition())
    level = document["credentialSubject"]["hasClaim"]["specifiedBy"]["eqfLevel"]
    level["inScheme"]["id"] = "http://example.org/not-the-eqf"
    assert validate(document, NO_CV)[0] is True
    conforms, report, _text = validate(document, FULL)
    assert conforms is False
    assert f"{ELM}EQFLevel" in violated_paths(report)


def test_the_commission_sample_itself_misses_two_constraints_of_these_shapes() -> None:
    # Why our exports carry `issued` and an eIDAS legal identifier that the sample lacks: the
    # shapes of the same commit require both (the sample predates them).
    conforms, report, _text = validate(sample(), NO_CV)
    assert conforms is False
    assert violated_paths(report) == {
        f"{CRED}issued",
        f"{CRED}issuer",
        f"{ELM}eidasLegalIdentifier",
    }


# The Annex I paths of the sample that microcred's model has no value for: a definition states
# one level framework, and the demo's is EQF (the sample states an NQF level beside its EQF one).
EXPECTED_GAPS = {"credentialSubject/hasClaim/specifiedBy/nqfLevel"}


def _paths_present(document: dict[str, Any]) -> set[str]:
    return {
        path
        for key, options in europass.CREDENTIAL_PATHS.items()
        for path in options
        if europass.annex_i_elements(document, {key: (path,)})
    }


def test_the_demo_credential_carries_every_annex_i_element_the_sample_does() -> None:
    theirs = europass.annex_i_elements(sample(), europass.CREDENTIAL_PATHS)
    # the sample carries all but two (quality assurance, further information): not vacuous
    assert theirs == (set(MANDATORY_ELEMENTS) | set(OPTIONAL_ELEMENTS)) - {
        "quality_assurance",
        "further_information",
    }
    ours = europass.annex_i_elements(credential_export(definition()), europass.CREDENTIAL_PATHS)
    assert ours >= theirs
    assert ours == set(MANDATORY_ELEMENTS) | set(OPTIONAL_ELEMENTS)
    # path by path, too: what the sample states where, ours states there
    missing = _paths_present(sample()) - _paths_present(credential_export(definition()))
    assert missing == EXPECTED_GAPS


def test_the_demo_definition_carries_the_sample_elements_a_definition_has() -> None:
    theirs = europass.annex_i_elements(sample(), europass.CREDENTIAL_PATHS)
    definition_level = theirs & set(europass.DEFINITION_PATHS)
    assert {"learning_outcomes", "workload", "level", "assessment_type"} <= definition_level
    ours = europass.annex_i_elements(definition_export(definition()), europass.DEFINITION_PATHS)
    assert ours >= definition_level
    assert {"quality_assurance", "supervision", "further_information"} <= ours


def test_the_export_states_the_definition_and_the_award() -> None:
    data = definition()
    document = credential_export(data)
    claim = document["credentialSubject"]["hasClaim"]
    spec = claim["specifiedBy"]
    assert document["id"] == "urn:credential:3ef0ac26-9a1f-41c6-871b-2b82e670907b"
    assert document["identifier"]["notation"].endswith("3ef0ac26-9a1f-41c6-871b-2b82e670907b")
    assert document["issued"] == document["validFrom"] == "2026-05-01T09:30:00Z"
    assert document["validUntil"] == "2029-05-01T00:00:00Z"
    assert document["credentialSubject"]["fullName"] == {"en": "Aoife Murphy"}
    assert document["issuer"]["id"] == ISSUER.did
    assert document["issuer"]["location"]["address"]["countryCode"]["id"].endswith("/IRL")
    assert spec["id"] == SPEC_ID
    assert spec["eqfLevel"]["id"] == "http://data.europa.eu/snb/eqf/5"
    assert spec["creditPoint"]["point"] == "2"
    assert spec["volumeOfLearning"] == "PT50H"
    assert spec["mode"]["prefLabel"] == {"en": "Online"}
    assert spec["isPartialQualification"] is True
    assert [o["title"]["en"] for o in spec["learningOutcome"]] == [
        o.statement for o in data.learning_outcomes
    ]
    esco = spec["learningOutcome"][0]["relatedESCOSkill"]
    assert esco["id"] == data.learning_outcomes[0].esco_uri
    assert claim["provenBy"]["grade"]["noteLiteral"] == {"en": "88"}
    assert claim["provenBy"]["specifiedBy"] == spec["provenBy"]
    assert spec["entryRequirement"]["noteLiteral"] == {"en": data.prerequisites}
    image = document["displayParameter"]["individualDisplay"]["displayDetail"]["image"]
    assert base64.b64decode(image["content"]) == PNG
    notes = {n["subject"]["id"].rsplit("#", 1)[1]: n for n in spec["additionalNote"]}
    assert notes["quality_assurance"]["noteLiteral"] == {"en": data.quality_assurance}
    assert set(notes) == {"quality_assurance", "stackability", "further_information"}


def test_a_pass_without_a_grade_and_the_vocabulary_matches() -> None:
    data = definition(
        1, assessment_type="Written examination", supervision="unsupervised", language="de"
    )
    document = credential_export(data, grade=None)
    assessment = document["credentialSubject"]["hasClaim"]["provenBy"]
    assert assessment["grade"]["noteLiteral"] == {"de": "Pass"}
    assert assessment["specifiedBy"]["dcType"]["id"] == (
        "http://data.europa.eu/snb/assessment/6e6cb2cc78"
    )
    assert assessment["idVerification"]["id"] == (
        "http://data.europa.eu/snb/supervision-verification/c598449d64"
    )
    assert document["displayParameter"]["primaryLanguage"]["id"].endswith("/language/DEU")
    assert validate(document)[0] is True


def test_a_national_level_is_stated_as_a_note() -> None:
    data = definition(2, level={"framework": "NQF", "value": "Level 6 (RQF)"})
    document = definition_export(data)
    spec = document["learningAchievementSpecification"]
    assert "eqfLevel" not in spec
    assert "level" in europass.annex_i_elements(document, europass.DEFINITION_PATHS)
    assert validate(document)[0] is True


def test_what_cannot_be_exported_is_a_clear_error() -> None:
    with pytest.raises(europass.IncompleteError) as caught:
        definition_export(DefinitionData(title="Draft"))
    assert caught.value.code == "europass.incomplete"
    assert ("workload_ects", "the notional workload in ECTS is required") in caught.value.problems

    with pytest.raises(UnmappableError) as unmapped:
        definition_export(definition(language="tlh"))
    assert unmapped.value.field == "language"
    with pytest.raises(UnmappableError) as unmapped:
        definition_export(definition(country_code="ZZ"))
    assert unmapped.value.field == "country_code"

    data = definition()
    anonymous = issued(data)
    anonymous["credentialSubject"]["identifier"] = []
    with pytest.raises(europass.NotExportableError):
        europass.credential_document(anonymous, data=data, image_png=PNG)
    for broken in ({}, {"issuer": "did:example:1"}, {"credentialSubject": [None]}):
        with pytest.raises(europass.NotExportableError):
            europass.credential_document(broken, data=data, image_png=PNG)


def test_an_export_shares_no_state_with_the_next() -> None:
    data = definition()
    first = credential_export(data)
    copied = copy.deepcopy(first)
    first["credentialProfiles"]["prefLabel"]["en"] = "changed"
    first["credentialSubject"]["hasClaim"]["specifiedBy"]["mode"]["id"] = "urn:changed"
    assert credential_export(data) == copied


def test_the_edc_context_is_vendored_with_its_hash() -> None:
    index = json.loads(loader_module._read_vendored("elm.json"))
    assert set(index) == {europass.EDC_CONTEXT}
    documents = loader_module.load_vendored_documents("elm.json")
    assert "EuropeanDigitalCredential" in documents[europass.EDC_CONTEXT]["@context"]
    assert loader_module.elm_loader().knows(europass.EDC_CONTEXT)
    assert not loader_module.default_loader().knows(europass.EDC_CONTEXT)
