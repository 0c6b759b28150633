"""Typed Open Badges 3.0 shapes for a micro-credential, built from and rendered to JSON.

Spec: 1EdTech Open Badges Specification v3.0, https://www.imsglobal.org/spec/ob/v3p0/
(data model section B). Property names are the spec's camelCase in JSON and snake_case in
Python. Properties this model does not name are kept as they are (``extra="allow"``), so reading
a credential and writing it back loses nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from microcred.vc.loader import OB_V3P0_303, VC_V2

MICRO_CREDENTIAL = "MicroCredential"
OB_TYPES = ["VerifiableCredential", "OpenBadgeCredential"]


class _Node(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", validate_assignment=True
    )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.model_dump(by_alias=True, exclude_none=True, mode="json")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)


def _ensure_type(value: Any, required: str) -> Any:
    types = value if isinstance(value, list) else [value]
    if required not in types:
        raise ValueError(f"type must include {required!r}")
    return value


class Image(_Node):
    id: str
    type: str = "Image"
    caption: str | None = None


class Address(_Node):
    type: list[str] | str = Field(default_factory=lambda: ["Address"])
    address_country: str | None = None
    address_country_code: str | None = None
    address_region: str | None = None
    address_locality: str | None = None


class Profile(_Node):
    """The issuer (or creator) of a credential."""

    id: str
    type: list[str] | str = Field(default_factory=lambda: ["Profile"])
    name: str | None = None
    url: str | None = None
    email: str | None = None
    description: str | None = None
    image: Image | None = None
    address: Address | None = None

    @field_validator("type")
    @classmethod
    def _profile_type(cls, value: Any) -> Any:
        return _ensure_type(value, "Profile")


class IdentityObject(_Node):
    """A recipient identifier: OB 3.0 ``IdentityObject``, hashed ``sha256$HEX`` with a salt."""

    type: str = "IdentityObject"
    hashed: bool
    identity_hash: str
    identity_type: str = "emailAddress"
    salt: str | None = None

    @classmethod
    def for_email(cls, email: str, salt: str | None = None) -> IdentityObject:
        """Salted SHA-256 of the (trimmed, lower-cased) email, as OB 3.0 section B.1.3 gives."""
        salt = salt if salt is not None else secrets.token_hex(16)
        return cls(
            hashed=True,
            identity_hash=identity_hash(normalize_email(email), salt),
            identity_type="emailAddress",
            salt=salt,
        )

    def matches_email(self, email: str) -> bool:
        if not self.hashed:
            return self.identity_hash.strip().lower() == email.strip().lower()
        wanted = self.identity_hash.lower()
        candidates = {normalize_email(email), email}  # other issuers may hash the raw address
        return any(
            secrets.compare_digest(wanted, identity_hash(c, self.salt or "").lower())
            for c in candidates
        )


def normalize_email(email: str) -> str:
    return email.strip().lower()


def identity_hash(value: str, salt: str) -> str:
    """``sha256$`` + hex SHA-256 of ``value + salt`` (UTF-8), as OB 3.0 defines IdentityHash."""
    return "sha256$" + hashlib.sha256((value + salt).encode("utf-8")).hexdigest()


class Alignment(_Node):
    type: list[str] | str = Field(default_factory=lambda: ["Alignment"])
    target_name: str
    target_url: str
    target_description: str | None = None
    target_code: str | None = None
    target_framework: str | None = None
    target_type: str | None = None


class Criteria(_Node):
    id: str | None = None
    narrative: str | None = None


class RubricCriterionLevel(_Node):
    id: str
    type: list[str] | str = Field(default_factory=lambda: ["RubricCriterionLevel"])
    name: str
    description: str | None = None
    level: str | None = None
    points: str | None = None


class ResultDescription(_Node):
    id: str
    type: list[str] | str = Field(default_factory=lambda: ["ResultDescription"])
    name: str
    result_type: str
    allowed_value: list[str] | None = None
    required_level: str | None = None
    required_value: str | None = None
    rubric_criterion_level: list[RubricCriterionLevel] | None = None
    value_max: str | None = None
    value_min: str | None = None
    alignment: list[Alignment] | None = None


class Achievement(_Node):
    id: str
    type: list[str] | str = Field(default_factory=lambda: ["Achievement"])
    name: str
    description: str
    criteria: Criteria
    achievement_type: str | None = MICRO_CREDENTIAL
    alignment: list[Alignment] | None = None
    result_description: list[ResultDescription] | None = None
    credits_available: float | None = None
    field_of_study: str | None = None
    in_language: str | None = None
    version: str | None = None
    human_code: str | None = None
    specialization: str | None = None
    tag: list[str] | None = None
    image: Image | None = None
    creator: Profile | None = None

    @field_validator("type")
    @classmethod
    def _achievement_type(cls, value: Any) -> Any:
        return _ensure_type(value, "Achievement")


class Result(_Node):
    type: list[str] | str = Field(default_factory=lambda: ["Result"])
    result_description: str | None = None
    value: str | None = None
    status: str | None = None
    achieved_level: str | None = None
    alignment: list[Alignment] | None = None


class Evidence(_Node):
    id: str | None = None
    type: list[str] | str = Field(default_factory=lambda: ["Evidence"])
    name: str | None = None
    description: str | None = None
    narrative: str | None = None
    genre: str | None = None
    audience: str | None = None


class AchievementSubject(_Node):
    id: str | None = None
    type: list[str] | str = Field(default_factory=lambda: ["AchievementSubject"])
    identifier: list[IdentityObject] | None = None
    achievement: Achievement
    result: list[Result] | None = None
    credits_earned: float | None = None
    activity_start_date: str | None = None
    activity_end_date: str | None = None
    term: str | None = None


def _default_contexts() -> list[str | dict[str, Any]]:
    return [VC_V2, OB_V3P0_303]


class AchievementCredential(_Node):
    """An OB 3.0 ``OpenBadgeCredential`` (alias ``AchievementCredential``), unsigned or signed."""

    context: list[str | dict[str, Any]] = Field(
        default_factory=lambda: _default_contexts(), alias="@context"
    )
    id: str
    type: list[str] = Field(default_factory=lambda: list(OB_TYPES))
    name: str
    description: str | None = None
    issuer: Profile
    valid_from: str
    valid_until: str | None = None
    credential_subject: AchievementSubject
    evidence: list[Evidence] | None = None
    credential_status: dict[str, Any] | list[dict[str, Any]] | None = None
    credential_schema: list[dict[str, Any]] | None = None
    proof: list[dict[str, Any]] | dict[str, Any] | None = None

    @field_validator("type")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        if "VerifiableCredential" not in value:
            raise ValueError("type must include 'VerifiableCredential'")
        if not {"OpenBadgeCredential", "AchievementCredential"} & set(value):
            raise ValueError("type must include 'OpenBadgeCredential' or 'AchievementCredential'")
        return value

    @field_validator("context")
    @classmethod
    def _contexts(cls, value: list[str | dict[str, Any]]) -> list[str | dict[str, Any]]:
        if not value or value[0] != VC_V2:
            raise ValueError(f"the first @context must be {VC_V2}")
        return value
