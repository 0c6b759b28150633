"""The verification report: a log of named steps, each with an outcome and a stable code.

Modelled on the DCC verifier-core log (``valid_signature``, ``expiration``...), with the codes
documented in ``docs/verification-codes.md``. ``verified`` is true when no step failed: a step
that could not establish what it must (a status list that cannot be read, no status checker)
fails, so ``verified`` is never a pass by default (ADR 0015). ``verdict`` names the outcome.

Messages are English in the report, its JSON and :meth:`VerificationReport.headline` (a machine
interface, stable byte for byte). A step made from a :class:`~microcred.vc.message.Message` keeps
its template and parameters (in its JSON too, as ``template`` and ``params``), so pages show it in
the reader's language: :meth:`Step.text`, :meth:`VerificationReport.headline_text`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from microcred.i18n import N_, _
from microcred.vc.message import Message, plain


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
    """One step: ``message`` is English; ``template`` and ``params`` (from a
    :class:`~microcred.vc.message.Message`) let :meth:`text` say it in the current language."""

    name: str
    outcome: Outcome
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    template: str | None = field(default=None, compare=False)
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.message, Message):
            if self.template is None:
                data = self.message.to_json()
                object.__setattr__(self, "template", data["template"])
                object.__setattr__(self, "params", data.get("params", {}))
            object.__setattr__(self, "message", plain(self.message))

    def text(self) -> str:
        """The message in the current language (the English ``message`` when it has no
        template, or no translation is known)."""
        message = self.as_message()
        return message.text() if isinstance(message, Message) else message

    def as_message(self) -> str:
        """The message as a :class:`~microcred.vc.message.Message` when it has a template (to
        quote it in another message), else the English text."""
        if self.template is None:
            return self.message
        try:
            return Message.from_json(self.template, self.params)
        except (KeyError, ValueError, TypeError):  # params that do not fill the template
            return self.message

    def detail_text(self, entry: Mapping[str, Any], key: str = "message") -> str:
        """A message inside :attr:`details` (``entry[key]``, say each credential of a record) in
        the current language, from the ``template``/``params`` keys beside it (``trust_template``
        and ``trust_params`` for ``trust_message``)."""
        english = entry.get(key)
        if english is None:
            return ""
        prefix = key.removesuffix("message")
        template = entry.get(prefix + "template")
        if not isinstance(template, str):
            return str(english)
        try:
            return Message.from_json(template, entry.get(prefix + "params")).text()
        except (KeyError, ValueError, TypeError):  # params that do not fill the template
            return str(english)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": self.name,
            "outcome": self.outcome.value,
            "code": self.code,
            "message": self.message,
        }
        if self.template is not None:
            data["template"] = self.template
            if self.params:
                data["params"] = self.params
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
        """The verdict in one sentence for people; a warning names itself. English (the JSON
        answer's ``headline``); :meth:`headline_text` says the same in the current language."""
        return self._headline(translated=False)

    def headline_text(self) -> str:
        """:meth:`headline` in the current language (its steps' messages translated too)."""
        try:
            return self._headline(translated=True)
        except (KeyError, ValueError, TypeError):  # a catalogue that broke a placeholder
            return self._headline(translated=False)

    def _headline(self, *, translated: bool) -> str:
        def say(template: str) -> str:
            return _(template) if translated else template

        def said(step: Step) -> str:
            return step.text() if translated else step.message

        def lowered(step: Step) -> str:
            # English text reads on after a colon; a translation is taken as it was written
            text = said(step)
            return _lower_first(text) if text == step.message else text

        verdict = self.verdict
        if verdict is Verdict.VERIFIED_WITH_WARNINGS:
            warnings = "; ".join(lowered(s) for s in self.warnings)
            return say(N_("Authentic, but %(warnings)s")) % {"warnings": warnings}
        if verdict is Verdict.VERIFIED:
            return say(HEADLINES[verdict])
        status = self.step("status")
        if verdict is Verdict.STATUS_UNCHECKED and not self.failures and status is not None:
            return say(N_("Authentic, but its status was not checked: %(reason)s")) % {
                "reason": lowered(status)
            }
        reason = next((s for s in self.failures if s.name in ("status", "validity")), None)
        if verdict is Verdict.INVALID or reason is None:
            reason = self.failures[0] if self.failures else None
        if reason is None or not reason.message:
            return say(HEADLINES[verdict])
        return say(HEADLINE_REASONS[verdict]) % {"reason": said(reason)}

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
                s["template"] if isinstance(s.get("template"), str) else None,
                dict(s.get("params") or {}),
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


# Shown translated: _(HEADLINES[verdict]) (headline_text does).
HEADLINES = {
    Verdict.VERIFIED: N_("Verified: authentic, issued by the issuer it names, and currently valid"),
    Verdict.VERIFIED_WITH_WARNINGS: N_("Authentic, with warnings"),
    Verdict.REVOKED: N_("Not verified: revoked by its issuer"),
    Verdict.SUSPENDED: N_("Not verified: suspended by its issuer"),
    Verdict.EXPIRED: N_("Not verified: expired"),
    Verdict.NOT_YET_VALID: N_("Not verified: not valid yet"),
    Verdict.STATUS_UNCHECKED: N_("Not verified: its revocation status could not be checked"),
    Verdict.INVALID: N_("Not verified"),
}
# The headline with the step that decides it, in whole sentences: HEADLINES[v] + ": %(reason)s".
HEADLINE_REASONS = {
    Verdict.REVOKED: N_("Not verified: revoked by its issuer: %(reason)s"),
    Verdict.SUSPENDED: N_("Not verified: suspended by its issuer: %(reason)s"),
    Verdict.EXPIRED: N_("Not verified: expired: %(reason)s"),
    Verdict.NOT_YET_VALID: N_("Not verified: not valid yet: %(reason)s"),
    Verdict.STATUS_UNCHECKED: N_(
        "Not verified: its revocation status could not be checked: %(reason)s"
    ),
    Verdict.INVALID: N_("Not verified: %(reason)s"),
}


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
