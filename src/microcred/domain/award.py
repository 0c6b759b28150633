"""From an award to an Open Badges 3.0 credential carrying every EU Annex I element.

Native OB 3.0 properties carry what they can (issuer, address, validFrom, achievement name,
resultDescription, creditsAvailable, results); every Annex I element of the achievement is also
stated as an ``Alignment`` with ``targetFramework`` = :data:`EU_FRAMEWORK` and ``targetCode`` = the
element's key, so any reader finds all of them the same way. Table: ``docs/eu-elements.md``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from microcred.domain.assessment import OutcomeResult
from microcred.domain.catalog import (
    EQF_URL,
    EU_FRAMEWORK,
    EU_RECOMMENDATION_URL,
    MANDATORY_ELEMENTS,
    OPTIONAL_ELEMENTS,
    PARTICIPATION,
    SUPERVISION,
    DefinitionData,
)
from microcred.vc.jsonsafe import copy_json
from microcred.vc.model import (
    Achievement,
    AchievementCredential,
    AchievementSubject,
    Address,
    Alignment,
    Criteria,
    IdentityObject,
    Image,
    Profile,
    Result,
    ResultDescription,
    identity_hash,
    normalize_email,
)

EU_ELEMENT_TYPE = "ext:EUMicroCredentialElement"


@dataclass(frozen=True, slots=True)
class Issuer:
    did: str
    name: str
    url: str | None
    country_code: str
    region: str | None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    name: str
    email: str


def _fmt_number(value: float) -> str:
    return f"{value:g}"


def _eu(key: str, value: str) -> Alignment:
    label = MANDATORY_ELEMENTS.get(key) or OPTIONAL_ELEMENTS[key]
    return Alignment(
        target_name=f"{label}: {value}"[:500],
        target_url=f"{EU_RECOMMENDATION_URL}#{key}",
        target_description=value,
        target_code=key,
        target_framework=EU_FRAMEWORK,
        target_type=EU_ELEMENT_TYPE,
    )


def achievement_alignments(data: DefinitionData) -> list[Alignment]:
    workload = f"{_fmt_number(data.workload_ects or 0)} ECTS"
    if data.workload_hours:
        workload += f" ({data.workload_hours} hours)"
    level = data.level.label() if data.level else ""
    outcomes = "; ".join(o.statement for o in data.learning_outcomes)
    alignments = [
        _eu("title", data.title),
        _eu("learning_outcomes", outcomes),
        _eu("workload", workload),
        _eu("level", level),
        _eu("assessment_type", data.assessment_type),
        _eu("participation", PARTICIPATION.get(data.participation, data.participation)),
        _eu("quality_assurance", data.quality_assurance),
    ]
    if data.level and data.level.framework == "EQF":
        alignments.append(
            Alignment(
                target_name=f"EQF level {data.level.value}",
                target_url=EQF_URL.format(level=data.level.value),
                target_code=f"EQF{data.level.value}",
                target_framework="European Qualifications Framework",
                target_type="ext:EQFLevel",
            )
        )
    if data.prerequisites:
        alignments.append(_eu("prerequisites", data.prerequisites))
    if data.supervision:
        alignments.append(_eu("supervision", SUPERVISION[data.supervision]))
    stack = "Stand-alone"
    if data.stackability == "integrated":
        stack = "Integrated into: " + "; ".join(data.stacks_into)
    alignments.append(_eu("stackability", stack))
    if data.further_information:
        alignments.append(_eu("further_information", data.further_information))
    for outcome in data.learning_outcomes:
        if outcome.esco_uri:
            alignments.append(
                Alignment(
                    target_name=outcome.statement,
                    target_url=outcome.esco_uri,
                    target_framework="ESCO",
                    target_type="ext:ESCOSkill",
                )
            )
    return alignments


def build_achievement(
    *,
    achievement_id: str,
    issuer: Issuer,
    definition: DefinitionData,
    definition_version: int,
    image_url: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The achievement (the definition as OB 3.0 states it): the part of a credential that every
    learner's shares, built once for many (bulk issuing) and passed to :func:`build_credential`."""
    related: list[dict[str, Any]] = []
    if definition.translations:  # the other languages, as related achievements
        primary_id = achievement_id
        if language and language != definition.language:
            primary_id = achievement_id.rsplit("/", 1)[0]
        related = related_languages(
            primary_id, definition, definition_version, exclude=language or definition.language
        )
        definition = definition.in_language(language or definition.language)
    criteria_text = "\n".join(
        f"- {o.statement}: {o.criterion}" for o in definition.learning_outcomes
    )
    achievement = Achievement(
        id=achievement_id,
        name=definition.title,
        description=definition.description or definition.title,
        criteria=Criteria(narrative=f"Assessed against these criteria:\n{criteria_text}"),
        alignment=achievement_alignments(definition),
        result_description=[
            ResultDescription(id=o.id, name=o.statement, result_type="Status", allowed_value=None)
            for o in definition.learning_outcomes
        ],
        credits_available=definition.workload_ects,
        in_language=definition.language,
        version=str(definition_version),
        field_of_study=definition.field_of_study or None,
        creator=Profile(id=issuer.did, name=issuer.name),
        image=Image(id=image_url, caption=definition.title) if image_url else None,
    )
    written = achievement.to_json()
    if related:
        written["related"] = related
    return written


def related_languages(
    achievement_id: str, definition: DefinitionData, version: int, *, exclude: str = ""
) -> list[dict[str, Any]]:
    """OB 3.0 ``related`` entries naming the same achievement in its other languages: its own
    language at ``achievement_id``, each translation at ``ACHIEVEMENT_ID/LANG``."""
    languages = [definition.language, *sorted(definition.translations)]
    return [
        {
            "id": achievement_id
            if language == definition.language
            else f"{achievement_id}/{language}",
            "type": ["Related"],
            "inLanguage": language,
            "version": str(version),
        }
        for language in languages
        if language != exclude
    ]


# stands in for the achievement (built as JSON on its own) while the rest is modelled
_PLACEHOLDER = Achievement(id="urn:placeholder", name="-", description="-", criteria=Criteria())


def build_credential(
    *,
    credential_id: str,
    achievement_id: str,
    issuer: Issuer,
    definition: DefinitionData,
    definition_version: int,
    recipient: Recipient,
    results: list[OutcomeResult],
    grade: str | None,
    issued_at: datetime,
    valid_until: datetime | None,
    status_entries: list[dict[str, Any]],
    evidence: list[dict[str, Any]] | None = None,
    achievement: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The unsigned credential for one award.

    One status entry is written as a single ``credentialStatus`` object, as the published 1EdTech
    schema wants; several (revocation and suspension) as a list (ADR 0015). ``achievement``: its
    JSON from :func:`build_achievement` for these same arguments (copied in), else built here.
    """
    achieved = {r.outcome_id: r.achieved for r in results}
    achievement = (
        build_achievement(
            achievement_id=achievement_id,
            issuer=issuer,
            definition=definition,
            definition_version=definition_version,
        )
        if achievement is None
        else copy_json(achievement)
    )
    result_entries = [
        Result(result_description=o.id, status="Completed" if achieved.get(o.id) else "Failed")
        for o in definition.learning_outcomes
    ]
    if grade:
        result_entries.append(Result(value=str(grade), result_description=None))
    subject = AchievementSubject(
        identifier=[
            IdentityObject.for_email(recipient.email),
            IdentityObject(hashed=False, identity_hash=recipient.name, identity_type="name"),
        ],
        achievement=_PLACEHOLDER,
        result=result_entries,
        credits_earned=definition.workload_ects,
    )
    credential = AchievementCredential(
        id=credential_id,
        name=definition.title,
        description=definition.description or None,
        issuer=Profile(
            id=issuer.did,
            name=issuer.name,
            url=issuer.url,
            email=issuer.email,
            address=Address(address_country_code=issuer.country_code, address_region=issuer.region),
        ),
        valid_from=_stamp(issued_at),
        valid_until=_stamp(valid_until) if valid_until else None,
        credential_subject=subject,
        credential_status=(
            status_entries[0] if len(status_entries) == 1 else (status_entries or None)
        ),
    )
    data = credential.to_json()
    data["credentialSubject"]["achievement"] = achievement
    data["awardedDate"] = _stamp(issued_at)
    if evidence:
        data["evidence"] = evidence
    return data


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def status_purposes(credential: Mapping[str, Any]) -> set[str]:
    """The ``statusPurpose`` of each ``credentialStatus`` entry (one object or a list)."""
    return {
        entry["statusPurpose"]
        for entry in _objects(credential.get("credentialStatus"))
        if isinstance(entry.get("statusPurpose"), str)
    }


def _objects(value: Any) -> list[Mapping[str, Any]]:
    """A property that may be one object or a list of them, as its objects (others ignored)."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, Mapping)]


def _text(value: Any) -> str | None:
    """A non-empty string, or None for anything else."""
    return value if isinstance(value, str) and value else None


def achievement_elements(achievement: Mapping[str, Any]) -> dict[str, str]:
    """The Annex I elements an achievement states (its EU alignments), as text."""
    found: dict[str, str] = {}
    for alignment in _objects(achievement.get("alignment")):
        code = _text(alignment.get("targetCode"))
        if alignment.get("targetFramework") == EU_FRAMEWORK and code:
            found[code] = _text(alignment.get("targetDescription")) or ""
    return found


def read_eu_elements(credential: Mapping[str, Any]) -> dict[str, str]:
    """Each Annex I element found in a credential (mandatory and optional), as text.

    Reads what others issue too: properties that may be an object or a list are read either way,
    and a value of the wrong type means the element is not stated; it never raises.
    """
    found: dict[str, str] = {}
    subject = next(iter(_objects(credential.get("credentialSubject"))), {})
    identifiers = _objects(subject.get("identifier"))
    learner = [
        name
        for i in identifiers
        if i.get("identityType") == "name" and (name := _text(i.get("identityHash")))
    ]
    email = [i for i in identifiers if i.get("identityType") == "emailAddress"]
    subject_id = _text(subject.get("id"))
    if learner or email or subject_id:
        found["learner"] = learner[0] if learner else (subject_id or "hashed email")
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        address = next(iter(_objects(issuer.get("address"))), {})
        country = _text(address.get("addressCountryCode")) or _text(address.get("addressCountry"))
        if country:
            region = _text(address.get("addressRegion"))
            found["country"] = country + (f", {region}" if region else "")
        if name := _text(issuer.get("name")):
            found["awarding_body"] = name
    date = _text(credential.get("awardedDate")) or _text(credential.get("validFrom"))
    if date:
        found["date_of_issue"] = date
    achievement = next(iter(_objects(subject.get("achievement"))), {})
    found.update(achievement_elements(achievement))
    grades = [
        r["value"]
        for r in _objects(subject.get("result"))
        if isinstance(r.get("value"), str | int | float)
        and not isinstance(r.get("value"), bool)
        and r.get("value") != ""
    ]
    if grades:
        found["grade"] = str(grades[0])
    return found


class CredentialTemplate:
    """:func:`build_credential` for many awards of one definition, issuer and achievement (a
    bulk chunk's): the models are built and dumped once per variant (a grade or not, an end
    date or not, how many status entries), and each award puts its own values into a copy.
    A unit test holds the result equal to :func:`build_credential`, key for key and in order."""

    def __init__(
        self,
        *,
        achievement_id: str,
        issuer: Issuer,
        definition: DefinitionData,
        definition_version: int,
        achievement: dict[str, Any],
    ) -> None:
        self._shared: dict[str, Any] = {
            "achievement_id": achievement_id,
            "issuer": issuer,
            "definition": definition,
            "definition_version": definition_version,
            "achievement": achievement,
        }
        self._outcomes = [o.id for o in definition.learning_outcomes]
        self._variants: dict[tuple[bool, bool, int], dict[str, Any]] = {}

    def _variant(self, graded: bool, ends: bool, entries: int) -> dict[str, Any]:
        key = (graded, ends, entries)
        found = self._variants.get(key)
        if found is None:
            moment = datetime(2000, 1, 1, tzinfo=UTC)
            found = build_credential(
                credential_id="urn:template",
                recipient=Recipient("-", "template@example.org"),
                results=[OutcomeResult(o, True) for o in self._outcomes],
                grade="-" if graded else None,
                issued_at=moment,
                valid_until=moment if ends else None,
                status_entries=[{} for _ in range(entries)],
                **self._shared,
            )
            self._variants[key] = found
        return found

    def build(
        self,
        *,
        credential_id: str,
        recipient: Recipient,
        results: list[OutcomeResult],
        grade: str | None,
        issued_at: datetime,
        valid_until: datetime | None,
        status_entries: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """What :func:`build_credential` returns for these values and the shared ones."""
        data: dict[str, Any] = copy_json(
            self._variant(bool(grade), valid_until is not None, len(status_entries))
        )
        data["id"] = credential_id
        stamp = _stamp(issued_at)
        data["validFrom"] = data["awardedDate"] = stamp
        if valid_until is not None:
            data["validUntil"] = _stamp(valid_until)
        if status_entries:
            data["credentialStatus"] = copy_json(
                status_entries[0] if len(status_entries) == 1 else status_entries
            )
        subject = data["credentialSubject"]
        email, name = subject["identifier"]
        salt = secrets.token_hex(16)  # as IdentityObject.for_email
        email["identityHash"] = identity_hash(normalize_email(recipient.email), salt)
        email["salt"] = salt
        name["identityHash"] = recipient.name
        achieved = {r.outcome_id: r.achieved for r in results}
        entries = subject["result"]
        for entry, outcome in zip(entries, self._outcomes, strict=False):
            entry["status"] = "Completed" if achieved.get(outcome) else "Failed"
        if grade:
            entries[-1]["value"] = str(grade)
        return data
