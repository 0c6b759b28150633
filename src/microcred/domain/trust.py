"""Quality assurance and the trust registry: who accredits whom, for what, until when.

A provider is *recognised* when a registry lists it; it is *quality-assured* while it holds an
accreditation that is valid now. The name a verifier shows for a registered issuer is the
registry's, never the credential's self-asserted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

FRAMEWORKS = {
    "ESG": "European Standards and Guidelines (ESG), higher education",
    "EQAVET": "EQAVET, vocational education and training",
    "national": "National quality-assurance framework",
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

    def label(self) -> str:
        framework = FRAMEWORKS.get(self.framework, self.framework)
        return f"{framework}, by {self.qa_body}, valid until {self.valid_until.isoformat()}"


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


def _lapse(accreditation: Accreditation, moment: datetime) -> str:
    """Why an accreditation does not hold now, with the date that matters."""
    if accreditation.withdrawn:
        when = accreditation.withdrawn_on
        return f"withdrawn on {when.isoformat()}" if when else "withdrawn"
    if accreditation.valid_from > moment.date():
        return f"starts on {accreditation.valid_from.isoformat()}"
    return f"ended on {accreditation.valid_until.isoformat()}"


def assess(entry: RegistryEntry | None, moment: datetime) -> TrustStatus:
    if entry is None:
        return TrustStatus(
            "warning",
            "trust.unregistered",
            "the issuer is not a recognised provider in any trust registry microcred consults",
            None,
        )
    current = [a for a in entry.accreditations if a.current(moment)]
    if current:
        return TrustStatus(
            "passed",
            "trust.accredited",
            f"{entry.name} is a recognised provider, quality-assured: "
            + "; ".join(a.label() for a in current),
            entry,
        )
    if entry.accreditations:
        latest = max(entry.accreditations, key=lambda a: a.valid_until)
        return TrustStatus(
            "warning",
            "trust.not_accredited",
            f"{entry.name} is registered but not currently accredited "
            f"(last accreditation {_lapse(latest, moment)})",
            entry,
        )
    return TrustStatus(
        "passed",
        "trust.registered",
        f"{entry.name} is listed in the {entry.registry} registry (no accreditation recorded)",
        entry,
    )
