"""Definitions and issued credentials in the European Learning Model (ELM 3), as the European
Digital Credentials for Learning (EDC) infrastructure reads them.

JSON-LD under the EDC application-profile context, shaped like the Commission's own Annex I
micro-credential sample (``Sample-MC-Annex1-unsigned.jsonld``): an unsigned
``EuropeanDigitalCredential`` (EDC seals it with the issuer's eSeal), or a ``LearningOpportunity``
for a definition. Where each Annex I element lands: :data:`CREDENTIAL_PATHS`,
:data:`DEFINITION_PATHS` and ``docs/europass.md``. Pure: no database, no web, no clock.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from microcred.domain import europass_vocab as vocab
from microcred.domain.catalog import (
    EU_RECOMMENDATION_URL,
    MANDATORY_ELEMENTS,
    OPTIONAL_ELEMENTS,
    DefinitionData,
    GradeScheme,
    Outcome,
    publication_problems,
)
from microcred.domain.errors import DomainError
from microcred.i18n import _
from microcred.vc.jsonsafe import copy_json

EDC_CONTEXT = "http://data.europa.eu/snb/model/context/edc-ap"
CONTEXT = ["https://www.w3.org/2018/credentials/v1", EDC_CONTEXT]
SHACL_SCHEMA = "http://data.europa.eu/snb/model/ap/edc-generic-full"
_UUID_AT_END = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class IncompleteError(DomainError):
    """The definition lacks mandatory Annex I elements (a draft): nothing to export yet."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(
            "europass.incomplete",
            _("the definition is incomplete: %(problems)s")
            % {"problems": "; ".join(f"{f}: {m}" for f, m in problems)},
        )
        self.problems = problems


class NotExportableError(DomainError):
    """A credential microcred cannot state in ELM (not one of its micro-credentials)."""

    def __init__(self, message: str) -> None:
        super().__init__("europass.not_exportable", message)


@dataclass(frozen=True, slots=True)
class Organisation:
    """The issuer / awarding body, as the credential or the provider states it."""

    did: str
    name: str
    country_code: str
    region: str | None = None
    website: str | None = None


class _Ids:
    """Local node ids, numbered per kind (``urn:epass:note:1``), as EDC's own builder writes."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def __call__(self, kind: str) -> str:
        self._counts[kind] += 1
        return f"urn:epass:{kind}:{self._counts[kind]}"


def _number(value: float) -> str:
    return f"{value:g}"


def _note(ids: _Ids, lang: str, text: str, element: str | None = None) -> dict[str, Any]:
    """A Note; ``element``: the Annex I element it states, as its ``subject``."""
    note: dict[str, Any] = {"id": ids("note"), "type": "Note", "noteLiteral": {lang: text}}
    if element:
        label = MANDATORY_ELEMENTS.get(element) or OPTIONAL_ELEMENTS[element]
        note["subject"] = vocab.concept(f"{EU_RECOMMENDATION_URL}#{element}", None, label)
    return note


def _organisation(org: Organisation, lang: str, ids: _Ids) -> dict[str, Any]:
    country = vocab.country(org.country_code)
    address: dict[str, Any] = {"id": ids("address"), "type": "Address", "countryCode": country}
    if org.region:
        address["fullAddress"] = _note(ids, lang, org.region)
    node: dict[str, Any] = {
        "id": org.did,
        "type": "Organisation",
        "legalName": {lang: org.name},
        "location": {"id": ids("location"), "type": "Location", "address": address},
        # The profile wants one legal identifier; microcred knows the DID credentials are
        # issued under (no registered legal-entity number is kept): docs/europass.md.
        "eIDASIdentifier": {
            "id": ids("legalIdentifier"),
            "type": "LegalIdentifier",
            "notation": org.did,
            "schemeName": "Decentralized Identifier (DID)",
            "spatial": country,
        },
    }
    if org.website:
        node["homepage"] = {
            "id": ids("webResource"),
            "type": "WebResource",
            "contentURL": org.website,
        }
    return node


def _grading(scheme: GradeScheme, ids: _Ids) -> dict[str, Any]:
    if scheme.kind == "percent":
        title = f"Percentage, pass mark {_number(scheme.pass_mark or 0)}%"
    elif scheme.kind == "letter":
        title = f"Letter grades {', '.join(scheme.values)} (passing: "
        title += f"{', '.join(scheme.passing_values)})"
    else:
        title = "Pass or fail"
    return {"id": ids("gradingScheme"), "type": "GradingScheme", "title": {"en": title}}


def _assessment_type(text: str, lang: str, ids: _Ids) -> dict[str, Any]:
    """The Europass concept when the text is one of its labels, else a local one (the sample's
    own type of assessment is a local concept too)."""
    official = vocab.ASSESSMENT_TYPES.get(text.strip().lower())
    if official is not None:
        return official
    number = ids("concept").rsplit(":", 1)[1]
    local = vocab.concept(f"urn:epass:concept:{number}", f"urn:epass:conceptScheme:{number}")
    local["prefLabel"] = {lang: text}
    return local


def _assessment_specification(data: DefinitionData, ids: _Ids) -> dict[str, Any]:
    lang = data.language
    return {
        "id": ids("learningAssessmentSpec"),
        "type": "LearningAssessmentSpecification",
        "title": {lang: data.assessment_type},
        "dcType": _assessment_type(data.assessment_type, lang, ids),
        "language": vocab.language(data.language),
        "gradingScheme": _grading(data.grade_scheme, ids),
    }


def _outcome(outcome: Outcome, lang: str, ids: _Ids) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": outcome.id,
        "type": "LearningOutcome",
        "title": {lang: outcome.statement},
    }
    if outcome.esco_uri and "/esco/skill/" in outcome.esco_uri:
        node["relatedESCOSkill"] = vocab.concept(outcome.esco_uri, vocab.ESCO_SKILLS)
    elif outcome.esco_uri:
        node["relatedSkill"] = vocab.concept(outcome.esco_uri, None)
    if outcome.criterion:
        node["additionalNote"] = [_note(ids, lang, outcome.criterion)]
    return node


def _specification(
    data: DefinitionData,
    spec_id: str,
    awarding: dict[str, Any],
    ids: _Ids,
    *,
    supervision_note: bool,
) -> dict[str, Any]:
    """The micro-credential as a ``Qualification`` (the learning achievement specification the
    sample uses: the one class of the profile with EQF level and partial-qualification flag)."""
    lang = data.language
    spec: dict[str, Any] = {"id": spec_id, "type": "Qualification", "title": {lang: data.title}}
    if data.description:
        spec["description"] = {lang: data.description}
    spec["language"] = vocab.language(data.language)
    if data.field_of_study:
        spec["category"] = {lang: data.field_of_study}
    spec["learningOutcome"] = [_outcome(o, lang, ids) for o in data.learning_outcomes]
    spec["creditPoint"] = {
        "id": ids("creditPoint"),
        "type": "CreditPoint",
        "framework": vocab.ECTS,
        "point": _number(data.workload_ects or 0),
    }
    if data.workload_hours:
        spec["volumeOfLearning"] = f"PT{data.workload_hours}H"
    notes: list[dict[str, Any]] = []
    assert data.level is not None  # publication_problems checked it
    if data.level.framework == "EQF":
        spec["eqfLevel"] = vocab.eqf(data.level.value)
    else:  # a national framework's level has no concept microcred knows: stated as a note
        notes.append(_note(ids, "en", data.level.label(), "level"))
    spec["mode"] = vocab.MODES[data.participation]
    spec["provenBy"] = _assessment_specification(data, ids)
    spec["awardingOpportunity"] = {
        "id": ids("awardingOpportunity"),
        "type": "AwardingOpportunity",
        "awardingBody": awarding,
    }
    if data.prerequisites:
        spec["entryRequirement"] = _note(ids, lang, data.prerequisites)
    spec["isPartialQualification"] = data.stackability == "integrated"
    if data.stackability == "integrated":
        notes.append(
            _note(ids, lang, "Integrated into: " + "; ".join(data.stacks_into), "stackability")
        )
    notes.append(_note(ids, lang, data.quality_assurance, "quality_assurance"))
    if supervision_note and data.supervision:
        label = vocab.SUPERVISION[data.supervision]["prefLabel"]["en"]
        notes.append(_note(ids, "en", label, "supervision"))
    if data.further_information:
        notes.append(_note(ids, lang, data.further_information, "further_information"))
    spec["additionalNote"] = notes
    return spec


def _complete(data: DefinitionData) -> None:
    problems = publication_problems(data)
    if problems:
        raise IncompleteError(problems)


def definition_document(
    data: DefinitionData, *, spec_id: str, organisation: Organisation
) -> dict[str, Any]:
    """A published (or complete) definition as an ELM ``LearningOpportunity`` whose learning
    achievement specification is the micro-credential; :class:`IncompleteError` for a draft
    that lacks mandatory elements, :class:`vocab.UnmappableError` for a value with no EU
    concept (an unknown country or language)."""
    _complete(data)
    lang = data.language
    ids = _Ids()
    provider = _organisation(organisation, lang, ids)
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": ids("learningOpportunity"),
        "type": "LearningOpportunity",
        "title": {lang: data.title},
    }
    if data.description:
        document["description"] = {lang: data.description}
    document["providedBy"] = provider
    document["mode"] = vocab.MODES[data.participation]
    document["learningAchievementSpecification"] = _specification(
        data, spec_id, provider, ids, supervision_note=True
    )
    result: dict[str, Any] = copy_json(document)
    return result


def _objects(value: Any) -> list[Mapping[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, Mapping)]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def issuer_of(credential: Mapping[str, Any]) -> Organisation:
    """The issuer as the signed credential states it (its name, country and DID then)."""
    issuer = next(iter(_objects(credential.get("issuer"))), {})
    address = next(iter(_objects(issuer.get("address"))), {})
    did, name = _text(issuer.get("id")), _text(issuer.get("name"))
    country = _text(address.get("addressCountryCode"))
    if not (did and name and country):
        raise NotExportableError(_("the credential names no issuer with an id, name and country"))
    return Organisation(
        did=did,
        name=name,
        country_code=country,
        region=_text(address.get("addressRegion")),
        website=_text(issuer.get("url")),
    )


def _learner(subject: Mapping[str, Any]) -> str:
    for identity in _objects(subject.get("identifier")):
        name = _text(identity.get("identityHash"))
        if identity.get("identityType") == "name" and name:
            return name
    raise NotExportableError(_("the credential does not name its learner"))


def _grade(subject: Mapping[str, Any]) -> str | None:
    for result in _objects(subject.get("result")):
        value = result.get("value")
        if isinstance(value, str | int | float) and not isinstance(value, bool) and value != "":
            return str(value)
    return None


def _root_id(credential_id: str) -> str:
    """``urn:credential:UUID`` as the sample names its credential: our credential's UUID."""
    found = _UUID_AT_END.search(credential_id)
    value = found.group(0) if found else str(uuid.uuid5(uuid.NAMESPACE_URL, credential_id))
    return f"urn:credential:{value}"


def credential_document(
    credential: Mapping[str, Any], *, data: DefinitionData, image_png: bytes
) -> dict[str, Any]:
    """An issued OB 3.0 credential (as stored, signed) with the definition it was issued under,
    as an unsigned ELM ``EuropeanDigitalCredential``; ``image_png``: its display image."""
    _complete(data)
    credential_id = _text(credential.get("id"))
    subject = next(iter(_objects(credential.get("credentialSubject"))), {})
    achievement = next(iter(_objects(subject.get("achievement"))), {})
    spec_id = _text(achievement.get("id"))
    issued = _text(credential.get("awardedDate")) or _text(credential.get("validFrom"))
    if not (credential_id and spec_id and issued):
        raise NotExportableError(_("the credential has no id, achievement or date of issue"))
    lang = data.language
    ids = _Ids()
    issuer = _organisation(issuer_of(credential), lang, ids)
    awarding = {
        "id": ids("awardingProcess"),
        "type": "AwardingProcess",
        "awardingBody": issuer,
        "awardingDate": issued,
    }
    spec = _specification(data, spec_id, issuer, ids, supervision_note=False)
    assessment: dict[str, Any] = {
        "id": ids("learningAssessment"),
        "type": "LearningAssessment",
        "title": {lang: data.assessment_type},
        # every credential is an award: without a grade the result is a pass
        "grade": _note(ids, lang, _grade(subject) or "Pass"),
        "awardedBy": awarding,
        "specifiedBy": spec["provenBy"],
    }
    if data.supervision:
        assessment["idVerification"] = vocab.SUPERVISION[data.supervision]
    claim = {
        "id": ids("learningAchievement"),
        "type": "LearningAchievement",
        "title": {lang: data.title},
        "awardedBy": awarding,
        "provenBy": assessment,
        "specifiedBy": spec,
    }
    language = vocab.language(data.language)
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": _root_id(credential_id),
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialProfiles": vocab.GENERIC_PROFILE,
        "credentialSchema": {"id": SHACL_SCHEMA, "type": "ShaclValidator2017"},
        "identifier": {
            "id": ids("identifier"),
            "type": "Identifier",
            "schemeName": "Open Badges 3.0 credential",
            "notation": credential_id,
        },
        "displayParameter": {
            "id": ids("displayParameter"),
            "type": "DisplayParameter",
            "title": {lang: data.title},
            "language": [language],
            "primaryLanguage": language,
            "individualDisplay": {
                "id": ids("individualDisplay"),
                "type": "IndividualDisplay",
                "language": language,
                "displayDetail": {
                    "id": ids("displayDetail"),
                    "type": "DisplayDetail",
                    "image": {
                        "id": ids("mediaObject"),
                        "type": "MediaObject",
                        "content": base64.b64encode(image_png).decode("ascii"),
                        "contentEncoding": vocab.BASE64,
                        "contentType": vocab.PNG,
                    },
                    "page": 1,
                },
            },
        },
        "issuer": issuer,
        "issued": issued,
        "validFrom": _text(credential.get("validFrom")) or issued,
        "credentialSubject": {
            "id": ids("person"),
            "type": "Person",
            "fullName": {lang: _learner(subject)},
            "hasClaim": claim,
        },
    }
    if valid_until := _text(credential.get("validUntil")):
        document["validUntil"] = valid_until
    result: dict[str, Any] = copy_json(document)
    return result


# Where each Annex I element is, as slash-separated paths through the JSON (lists are looked
# through); ``additionalNote[KEY]`` is a note whose subject is that element.
def _spec_paths(spec: str, assessment: str) -> dict[str, tuple[str, ...]]:
    return {
        "title": (f"{spec}/title",),
        "learning_outcomes": (f"{spec}/learningOutcome/title",),
        "workload": (f"{spec}/creditPoint/point", f"{spec}/volumeOfLearning"),
        "level": (f"{spec}/eqfLevel", f"{spec}/nqfLevel", f"{spec}/additionalNote[level]"),
        "assessment_type": (f"{assessment}/dcType",),
        "participation": (f"{spec}/mode",),
        "quality_assurance": (f"{spec}/additionalNote[quality_assurance]",),
        "prerequisites": (f"{spec}/entryRequirement/noteLiteral",),
        "stackability": (f"{spec}/isPartialQualification",),
        "further_information": (f"{spec}/additionalNote[further_information]",),
    }


_CLAIM = "credentialSubject/hasClaim"
CREDENTIAL_PATHS: dict[str, tuple[str, ...]] = {
    **_spec_paths(f"{_CLAIM}/specifiedBy", f"{_CLAIM}/provenBy/specifiedBy"),
    "learner": ("credentialSubject/fullName",),
    "country": ("issuer/location/address/countryCode",),
    "awarding_body": (f"{_CLAIM}/awardedBy/awardingBody/legalName",),
    "date_of_issue": ("issued", "validFrom"),
    "supervision": (f"{_CLAIM}/provenBy/idVerification",),
    "grade": (f"{_CLAIM}/provenBy/grade/noteLiteral",),
}
_SPEC = "learningAchievementSpecification"
DEFINITION_PATHS: dict[str, tuple[str, ...]] = {
    **_spec_paths(_SPEC, f"{_SPEC}/provenBy"),
    "country": ("providedBy/location/address/countryCode",),
    "awarding_body": (f"{_SPEC}/awardingOpportunity/awardingBody/legalName",),
    "supervision": (f"{_SPEC}/additionalNote[supervision]",),
}
_SELECTED = re.compile(r"^(\w+)\[(\w+)\]$")


def _found(value: Any, steps: list[str]) -> bool:
    if isinstance(value, list):
        return any(_found(item, steps) for item in value)
    if not steps:
        return value not in (None, "", {}, [])
    if not isinstance(value, Mapping):
        return False
    step, rest = steps[0], steps[1:]
    selected = _SELECTED.match(step)
    if selected is None:
        return _found(value.get(step), rest)
    notes = [
        note
        for note in _objects(value.get(selected.group(1)))
        if str(next(iter(_objects(note.get("subject"))), {}).get("id", "")).endswith(
            f"#{selected.group(2)}"
        )
    ]
    return _found(notes, rest)


def annex_i_elements(document: Mapping[str, Any], paths: Mapping[str, tuple[str, ...]]) -> set[str]:
    """The Annex I elements an ELM document carries: those with a value at one of their paths
    (:data:`CREDENTIAL_PATHS` for a credential, :data:`DEFINITION_PATHS` for a definition)."""
    return {
        key
        for key, options in paths.items()
        if any(_found(document, path.split("/")) for path in options)
    }
