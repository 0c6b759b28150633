"""Micro-credential definitions to the EU Council Recommendation on micro-credentials (2022).

Council Recommendation of 16 June 2022 on a European approach to micro-credentials (2022/C 243/02),
Annex I: eleven mandatory elements and the optional ones. A definition may be saved as a draft
with elements missing; :func:`publication_problems` lists what blocks publishing.
How each element lands in an Open Badges 3.0 credential: ``docs/eu-elements.md``.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from microcred.i18n import N_, _

EU_RECOMMENDATION_URL = "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:32022H0627(02)"
EU_FRAMEWORK = "EU Council Recommendation on micro-credentials (2022), Annex I"
EQF_URL = "http://data.europa.eu/snb/eqf/{level}"

# The labels below are English in credentials and exports (award.py, europass.py); pages show
# them translated: ``_(label)`` in Python, ``{{ _(label) }}`` in templates.

MANDATORY_ELEMENTS: dict[str, str] = {
    "learner": N_("Identification of the learner"),
    "title": N_("Title of the micro-credential"),
    "country": N_("Country or region of the issuer"),
    "awarding_body": N_("Awarding body"),
    "date_of_issue": N_("Date of issuing"),
    "learning_outcomes": N_("Learning outcomes"),
    "workload": N_("Notional workload (ECTS)"),
    "level": N_("Level"),
    "assessment_type": N_("Type of assessment"),
    "participation": N_("Form of participation"),
    "quality_assurance": N_("Type of quality assurance"),
}
OPTIONAL_ELEMENTS: dict[str, str] = {
    "prerequisites": N_("Prerequisites needed to enrol"),
    "supervision": N_("Supervision and identity verification during assessment"),
    "grade": N_("Grade achieved"),
    "stackability": N_("Integration / stackability options"),
    "further_information": N_("Further information"),
}
PARTICIPATION = {"online": N_("Online"), "onsite": N_("On-site"), "blended": N_("Blended")}
SUPERVISION = {
    "unsupervised": N_("Unsupervised, no identity verification"),
    "supervised": N_("Supervised, no identity verification"),
    "supervised_id": N_("Supervised with identity verification (online or on-site)"),
}
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class Outcome(BaseModel):
    """A learning outcome: a clear statement, the criterion it is assessed by, an ESCO link."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: f"urn:uuid:{uuid.uuid4()}")
    statement: str = Field(min_length=3, max_length=500)
    criterion: str = Field(default="", max_length=1000)
    esco_uri: str | None = Field(default=None, max_length=200)

    @field_validator("esco_uri")
    @classmethod
    def _esco(cls, value: str | None) -> str | None:
        if value and not value.startswith("http://data.europa.eu/esco/"):
            raise ValueError(
                _("an ESCO link starts with %(prefix)s") % {"prefix": "http://data.europa.eu/esco/"}
            )
        return value or None


class Level(BaseModel):
    model_config = ConfigDict(extra="forbid")

    framework: Literal["EQF", "NQF", "none"]
    value: str = ""

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        return value.strip()

    def label(self) -> str:
        """In English, as credentials and exports state it."""
        return _LEVEL_LABELS[self.framework] % {"level": self.value}

    def display(self) -> str:
        """In the reader's language, for pages."""
        return _(_LEVEL_LABELS[self.framework]) % {"level": self.value}


_LEVEL_LABELS = {
    "EQF": N_("EQF level %(level)s"),
    "NQF": N_("National framework: %(level)s"),
    "none": N_("Not applicable"),
}


class GradeScheme(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["pass_fail", "percent", "letter"] = "pass_fail"
    pass_mark: float | None = None  # percent schemes
    values: list[str] = Field(default_factory=list)  # letter schemes, best first
    passing_values: list[str] = Field(default_factory=list)


class OutcomeText(BaseModel):
    """A learning outcome in another language."""

    model_config = ConfigDict(extra="forbid")

    statement: str = Field(min_length=3, max_length=500)
    criterion: str = Field(default="", max_length=1000)


class Translation(BaseModel):
    """The title, description and outcomes in another language (the rest is the same in every
    language). Credentials name each translation as a related achievement (OB 3.0 ``related``,
    ``inLanguage``)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=4000)
    outcomes: dict[str, OutcomeText] = Field(default_factory=dict)  # by outcome id


class DefinitionData(BaseModel):
    """Everything a provider says about a micro-credential; drafts may be incomplete."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=4000)
    country_code: str = ""
    region: str = Field(default="", max_length=200)
    awarding_body: str = Field(default="", max_length=300)
    learning_outcomes: list[Outcome] = Field(default_factory=list)
    workload_ects: float | None = Field(default=None, gt=0, le=180)
    workload_hours: int | None = Field(default=None, gt=0, le=5400)
    level: Level | None = None
    assessment_type: str = Field(default="", max_length=300)
    participation: Literal["online", "onsite", "blended", ""] = ""
    quality_assurance: str = Field(default="", max_length=500)
    prerequisites: str = Field(default="", max_length=1000)
    supervision: Literal["unsupervised", "supervised", "supervised_id", ""] = ""
    grade_scheme: GradeScheme = Field(default_factory=GradeScheme)
    stackability: Literal["standalone", "integrated"] = "standalone"
    stacks_into: list[str] = Field(default_factory=list)
    further_information: str = Field(default="", max_length=1000)
    language: str = "en"
    validity_months: int | None = Field(default=None, gt=0, le=600)
    field_of_study: str = Field(default="", max_length=200)
    # For the catalogue and comparisons (issue 14); none of them goes into credentials.
    occupations: list[str] = Field(default_factory=list, max_length=20)  # ESCO occupation URIs
    us_credit_hours: float | None = Field(default=None, gt=0, le=200)
    price_amount: float | None = Field(default=None, ge=0, le=1_000_000)
    price_currency: str = "EUR"
    next_start: date | None = None
    # Credentials carry a second status entry (suspension) beside revocation. Off by default:
    # the published 1EdTech schema allows one credentialStatus object (ADR 0015).
    suspendable: bool = False
    # the badge's artwork: the digest of an uploaded image (services/branding.py), or "" for the
    # badge drawn from the credential
    image: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")
    # the same micro-credential in other languages, by language tag (not ``language`` itself)
    translations: dict[str, Translation] = Field(default_factory=dict, max_length=12)

    @field_validator("country_code")
    @classmethod
    def _country(cls, value: str) -> str:
        value = value.strip().upper()
        if value and not _COUNTRY.match(value):
            raise ValueError(_("use a two-letter ISO 3166 country code, like DE or IE"))
        return value

    @field_validator("occupations")
    @classmethod
    def _occupations(cls, value: list[str]) -> list[str]:
        for uri in value:
            if len(uri) > 200 or not uri.startswith("http://data.europa.eu/esco/occupation/"):
                raise ValueError(
                    _("an ESCO occupation link starts with %(prefix)s")
                    % {"prefix": "http://data.europa.eu/esco/occupation/"}
                )
        return value

    @field_validator("price_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError(_("use a three-letter ISO 4217 currency code, like EUR"))
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not _LANGUAGE.match(value):
            raise ValueError(_("use a language tag like en or pt-BR"))
        return value

    @field_validator("translations")
    @classmethod
    def _translations(cls, value: dict[str, Translation]) -> dict[str, Translation]:
        for tag in value:
            if not _LANGUAGE.match(tag):
                raise ValueError(_("use a language tag like en or pt-BR"))
        return value

    @model_validator(mode="after")
    def _other_languages(self) -> DefinitionData:
        if self.language in self.translations:
            raise ValueError(
                _("a translation is into another language than the micro-credential's own")
            )
        known = {o.id for o in self.learning_outcomes}
        for translation in self.translations.values():
            if set(translation.outcomes) - known:
                raise ValueError(_("a translated outcome names no outcome of this definition"))
        return self

    def in_language(self, language: str) -> DefinitionData:
        """This definition as written in ``language`` (itself when it has no translation)."""
        translation = self.translations.get(language)
        if translation is None:
            return self
        outcomes = [
            o.model_copy(
                update={
                    "statement": translation.outcomes[o.id].statement,
                    "criterion": translation.outcomes[o.id].criterion or o.criterion,
                }
            )
            if o.id in translation.outcomes
            else o
            for o in self.learning_outcomes
        ]
        return self.model_copy(
            update={
                "title": translation.title,
                "description": translation.description or self.description,
                "learning_outcomes": outcomes,
                "language": language,
            }
        )

    def outcome(self, outcome_id: str) -> Outcome | None:
        return next((o for o in self.learning_outcomes if o.id == outcome_id), None)


def parse_definition(data: dict[str, Any]) -> DefinitionData:
    """Validate ``data``; :class:`DefinitionInvalid` lists each field and reason."""
    try:
        return DefinitionData.model_validate(data)
    except ValidationError as exc:
        raise DefinitionInvalidError(
            [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        ) from exc


class DefinitionInvalidError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


def publication_problems(data: DefinitionData) -> list[tuple[str, str]]:
    """What stops publishing: each mandatory EU element, by field, with a plain reason."""
    problems: list[tuple[str, str]] = []
    if not data.title.strip():
        problems.append(("title", _("a title is required")))
    if not data.country_code:
        problems.append(("country_code", _("the country of the issuer is required")))
    if not data.awarding_body.strip():
        problems.append(("awarding_body", _("the awarding body is required")))
    if not data.learning_outcomes:
        problems.append(("learning_outcomes", _("at least one learning outcome is required")))
    for i, outcome in enumerate(data.learning_outcomes):
        if not outcome.criterion.strip():
            problems.append(
                (
                    f"learning_outcomes.{i}.criterion",
                    _("each outcome needs its assessment criterion"),
                )
            )
    if data.workload_ects is None:
        problems.append(("workload_ects", _("the notional workload in ECTS is required")))
    if data.level is None:
        problems.append(
            ("level", _("the level (EQF, national framework or not applicable) is required"))
        )
    elif data.level.framework == "EQF" and data.level.value not in [str(n) for n in range(1, 9)]:
        problems.append(("level", _("an EQF level is a number from 1 to 8")))
    elif data.level.framework == "NQF" and not data.level.value:
        problems.append(("level", _("name the national framework level")))
    if not data.assessment_type.strip():
        problems.append(("assessment_type", _("the type of assessment is required")))
    if not data.participation:
        problems.append(("participation", _("the form of participation is required")))
    if not data.quality_assurance.strip():
        problems.append(("quality_assurance", _("the type of quality assurance is required")))
    scheme = data.grade_scheme
    if scheme.kind == "percent" and scheme.pass_mark is None:
        problems.append(("grade_scheme.pass_mark", _("a percent scheme needs a pass mark")))
    if scheme.kind == "letter" and not (scheme.values and scheme.passing_values):
        problems.append(
            ("grade_scheme", _("a letter scheme needs its grades and the passing ones"))
        )
    if data.stackability == "integrated" and not data.stacks_into:
        problems.append(("stacks_into", _("name what an integrated micro-credential stacks into")))
    return problems
