"""The verification report: a log of named steps, each with an outcome and a stable code.

Modelled on the DCC verifier-core log (``valid_signature``, ``expiration``...), with the codes
documented in ``docs/verification-codes.md``. ``verified`` is true when no step failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    UNCHECKED = "unchecked"  # could not be checked (no status service configured, say)
    SKIPPED = "skipped"  # does not apply to this document


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

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    def codes(self) -> list[str]:
        return [s.code for s in self.steps]

    def add(self, name: str, outcome: Outcome, code: str, message: str, **details: Any) -> Step:
        step = Step(name, outcome, code, message, details)
        self.steps.append(step)
        return step

    def to_json(self) -> dict[str, Any]:
        return {"verified": self.verified, "steps": [s.to_json() for s in self.steps]}
