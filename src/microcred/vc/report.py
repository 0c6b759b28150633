"""The verification report: a log of named steps, each with an outcome and a stable code.

Modelled on the DCC verifier-core log (``valid_signature``, ``expiration``...), with the codes
documented in ``docs/verification-codes.md``. ``verified`` is true when no step failed: a step
that could not establish what it must (a status list that cannot be read, no status checker)
fails, so ``verified`` is never a pass by default (ADR 0015). ``verdict`` names the outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    UNCHECKED = "unchecked"  # deliberately not checked (the caller chose offline use)
    SKIPPED = "skipped"  # does not apply to this document
    NOT_CHECKED = "not_checked"  # not run because an earlier step failed (the signature, say)


class Verdict(StrEnum):
    """The outcome in one word, most serious first when several apply."""

    VERIFIED = "verified"
    VERIFIED_WITH_WARNINGS = "verified_with_warnings"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    STATUS_UNCHECKED = "status_unchecked"
    INVALID = "invalid"


# Failures that name their own verdict; any other failure makes the credential invalid.
_FAILURE_VERDICTS = {
    "status.revoked": Verdict.REVOKED,
    "status.suspended": Verdict.SUSPENDED,
    "validity.expired": Verdict.EXPIRED,
    "validity.not_yet_valid": Verdict.NOT_YET_VALID,
}
_PRECEDENCE = (
    Verdict.INVALID,
    Verdict.REVOKED,
    Verdict.SUSPENDED,
    Verdict.EXPIRED,
    Verdict.NOT_YET_VALID,
    Verdict.STATUS_UNCHECKED,
)
SEVERITY = (*_PRECEDENCE, Verdict.VERIFIED_WITH_WARNINGS, Verdict.VERIFIED)


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most serious of ``verdicts`` (verified when there are none)."""
    return min(verdicts, key=SEVERITY.index, default=Verdict.VERIFIED)


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    outcome: Outcome
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": self.name,
            "outcome": self.outcome.value,
            "code": self.code,
            "message": self.message,
        }
        if self.details:
            data["details"] = self.details
        return data


@dataclass(slots=True)
class VerificationReport:
    steps: list[Step] = field(default_factory=list)
    credential: dict[str, Any] | None = None

    @property
    def verified(self) -> bool:
        return bool(self.steps) and all(s.outcome is not Outcome.FAILED for s in self.steps)

    @property
    def failures(self) -> list[Step]:
        return [s for s in self.steps if s.outcome is Outcome.FAILED]

    @property
    def warnings(self) -> list[Step]:
        return [s for s in self.steps if s.outcome is Outcome.WARNING]

    @property
    def verdict(self) -> Verdict:
        """Invalid, revoked, suspended, expired, not yet valid, status unchecked, in that order
        when several apply; else verified, with or without warnings."""
        if not self.steps:
            return Verdict.INVALID
        found = set()
        for step in self.failures:
            if step.name == "status" and step.code not in _FAILURE_VERDICTS:
                found.add(Verdict.STATUS_UNCHECKED)
            else:
                found.add(_FAILURE_VERDICTS.get(step.code, Verdict.INVALID))
        status = self.step("status")
        if status is not None and status.outcome is Outcome.UNCHECKED:
            found.add(Verdict.STATUS_UNCHECKED)
        if found:
            return worst(found)
        return Verdict.VERIFIED_WITH_WARNINGS if self.warnings else Verdict.VERIFIED

    def headline(self) -> str:
        """The verdict in one sentence for people; a warning names itself."""
        verdict = self.verdict
        if verdict is Verdict.VERIFIED_WITH_WARNINGS:
            return "Authentic, but " + "; ".join(_lower_first(s.message) for s in self.warnings)
        if verdict is Verdict.VERIFIED:
            return HEADLINES[verdict]
        status = self.step("status")
        if verdict is Verdict.STATUS_UNCHECKED and not self.failures and status is not None:
            return "Authentic, but its status was not checked: " + _lower_first(status.message)
        reason = next((s.message for s in self.failures if s.name in ("status", "validity")), None)
        if verdict is Verdict.INVALID or reason is None:
            reason = self.failures[0].message if self.failures else None
        return HEADLINES[verdict] + (f": {reason}" if reason else "")

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    def codes(self) -> list[str]:
        return [s.code for s in self.steps]

    def add(self, name: str, outcome: Outcome, code: str, message: str, **details: Any) -> Step:
        step = Step(name, outcome, code, message, details)
        self.steps.append(step)
        return step

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], credential: dict[str, Any] | None = None
    ) -> VerificationReport:
        """The report :meth:`to_json` wrote (verdict and headline follow from the steps)."""
        steps = [
            Step(
                str(s["step"]),
                Outcome(s["outcome"]),
                str(s["code"]),
                str(s["message"]),
                dict(s.get("details") or {}),
            )
            for s in data.get("steps", [])
        ]
        return cls(steps, credential)

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "verdict": self.verdict.value,
            "headline": self.headline(),
            "warnings": [s.message for s in self.warnings],
            "steps": [s.to_json() for s in self.steps],
        }


HEADLINES = {
    Verdict.VERIFIED: "Verified: authentic, issued by the issuer it names, and currently valid",
    Verdict.VERIFIED_WITH_WARNINGS: "Authentic, with warnings",
    Verdict.REVOKED: "Not verified: revoked by its issuer",
    Verdict.SUSPENDED: "Not verified: suspended by its issuer",
    Verdict.EXPIRED: "Not verified: expired",
    Verdict.NOT_YET_VALID: "Not verified: not valid yet",
    Verdict.STATUS_UNCHECKED: "Not verified: its revocation status could not be checked",
    Verdict.INVALID: "Not verified",
}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
