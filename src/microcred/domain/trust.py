"""Quality assurance and the trust registry: who accredits whom, for what, until when.

A provider is *recognised* when a registry lists it; it is *quality-assured* while it holds an
accreditation that is valid now. The name a verifier shows for a registered issuer is the
registry's, never the credential's self-asserted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from microcred.i18n import N_
from microcred.vc.message import Message

# English in signed accreditations and in verification results (kept for every reader: ADR
# 0022); pages show them translated (``_(label)``, ``{{ _(label) }}``).
FRAMEWORKS = {
    "ESG": N_("European Standards and Guidelines (ESG), higher education"),
    "EQAVET": N_("EQAVET, vocational education and training"),
    "national": N_("National quality-assurance framework"),
}


@dataclass(frozen=True, slots=True)
class Accreditation:
    qa_body: str  # name of the QA body
    qa_body_did: str
    framework: str
    scope: str
    valid_from: date
    valid_until: date
    report_url: str | None = None
    withdrawn: bool = False
    withdrawn_on: date | None = None

    def current(self, moment: datetime) -> bool:
        day = moment.date()
        return not self.withdrawn and self.valid_from <= day <= self.valid_until

    def label(self) -> Message:
        """English, and in the reader's language through :meth:`Message.text`."""
        known = FRAMEWORKS.get(self.framework)
        return Message(
            N_("%(framework)s, by %(qa_body)s, valid until %(date)s"),
            framework=Message(known) if known else self.framework,
            qa_body=self.qa_body,
            date=self.valid_until.isoformat(),
        )


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    did: str
    name: str
    registry: str  # which registry listed it
    url: str | None = None
    country: str | None = None
    accreditations: tuple[Accreditation, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class TrustStatus:
    outcome: str  # passed | warning
    code: str
    message: str
    entry: RegistryEntry | None


def _lapse(accreditation: Accreditation, moment: datetime) -> Message:
    """Why an accreditation does not hold now, with the date that matters."""
    if accreditation.withdrawn:
        when = accreditation.withdrawn_on
        if when:
            return Message(N_("withdrawn on %(date)s"), date=when.isoformat())
        return Message(N_("withdrawn"))
    if accreditation.valid_from > moment.date():
        return Message(N_("starts on %(date)s"), date=accreditation.valid_from.isoformat())
    return Message(N_("ended on %(date)s"), date=accreditation.valid_until.isoformat())


def assess(entry: RegistryEntry | None, moment: datetime) -> TrustStatus:
    """The trust step of a verification. Its message is a :class:`Message`: English where it is
    kept and answered to every reader (services/verdicts.py), and in the reader's language on a
    page (``Message.text``, the report's ``Step.text``)."""
    if entry is None:
        return TrustStatus(
            "warning",
            "trust.unregistered",
            Message(
                N_(
                    "the issuer is not a recognised provider in any trust registry microcred "
                    "consults"
                )
            ),
            None,
        )
    current = [a for a in entry.accreditations if a.current(moment)]
    if current:
        return TrustStatus(
            "passed",
            "trust.accredited",
            Message(
                N_("%(name)s is a recognised provider, quality-assured: %(accreditations)s"),
                name=entry.name,
                accreditations=[a.label() for a in current],
            ),
            entry,
        )
    if entry.accreditations:
        latest = max(entry.accreditations, key=lambda a: a.valid_until)
        return TrustStatus(
            "warning",
            "trust.not_accredited",
            Message(
                N_(
                    "%(name)s is registered but not currently accredited (last accreditation "
                    "%(lapse)s)"
                ),
                name=entry.name,
                lapse=_lapse(latest, moment),
            ),
            entry,
        )
    return TrustStatus(
        "passed",
        "trust.registered",
        Message(
            N_("%(name)s is listed in the %(registry)s registry (no accreditation recorded)"),
            name=entry.name,
            registry=entry.registry,
        ),
        entry,
    )
