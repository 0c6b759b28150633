"""Assessment against the definition's criteria, and the award decision."""

from __future__ import annotations

from dataclasses import dataclass

from microcred.domain.catalog import DefinitionData
from microcred.domain.errors import DomainError
from microcred.i18n import _, ngettext


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    outcome_id: str
    achieved: bool
    score: float | None = None  # 0 to 100, when the assessor gives one
    note: str = ""  # the assessor's, on this outcome


MAX_NOTE = 2000


def check_detail(result: OutcomeResult) -> None:
    """A score is 0 to 100; a note at most MAX_NOTE characters."""
    if result.score is not None and not 0 <= result.score <= 100:
        raise DomainError(
            "assessment.score", _("a score is from 0 to 100"), f"score_{result.outcome_id}"
        )
    if len(result.note) > MAX_NOTE:
        raise DomainError(
            "assessment.note",
            _("a note is at most %(max)d characters") % {"max": MAX_NOTE},
            f"note_{result.outcome_id}",
        )


@dataclass(frozen=True, slots=True)
class Decision:
    passed: bool
    reasons: list[str]


def check_results(definition: DefinitionData, results: list[OutcomeResult]) -> None:
    """Every outcome of the definition assessed once, and nothing else."""
    known = {o.id for o in definition.learning_outcomes}
    seen: set[str] = set()
    for result in results:
        if result.outcome_id not in known:
            raise DomainError(
                "assessment.unknown_outcome",
                _("unknown outcome %(outcome)s") % {"outcome": result.outcome_id},
            )
        if result.outcome_id in seen:
            raise DomainError(
                "assessment.duplicate_outcome",
                _("outcome %(outcome)s assessed twice") % {"outcome": result.outcome_id},
            )
        seen.add(result.outcome_id)
    missing = known - seen
    if missing:
        raise DomainError(
            "assessment.outcome_missing",
            ngettext(
                "%(num)d learning outcome(s) not assessed",
                "%(num)d learning outcome(s) not assessed",
                len(missing),
            )
            % {"num": len(missing)},
            field="results",
        )


def check_grade(definition: DefinitionData, grade: str | None) -> None:
    scheme = definition.grade_scheme
    if scheme.kind == "pass_fail" or grade in (None, ""):
        return
    if scheme.kind == "percent":
        try:
            value = float(str(grade).rstrip("%"))
        except ValueError as exc:
            raise DomainError(
                "assessment.grade_invalid", _("a percent grade is a number"), "grade"
            ) from exc
        if not 0 <= value <= 100:
            raise DomainError("assessment.grade_invalid", _("a percent grade is 0 to 100"), "grade")
    elif grade not in scheme.values:
        raise DomainError(
            "assessment.grade_invalid",
            _("grade must be one of %(grades)s") % {"grades": ", ".join(scheme.values)},
            "grade",
        )


def decide(definition: DefinitionData, results: list[OutcomeResult], grade: str | None) -> Decision:
    """The pass rule: every learning outcome achieved, and a passing grade where graded."""
    check_results(definition, results)
    check_grade(definition, grade)
    reasons = []
    failed = [r for r in results if not r.achieved]
    if failed:
        reasons.append(
            ngettext(
                "%(num)d learning outcome(s) not achieved",
                "%(num)d learning outcome(s) not achieved",
                len(failed),
            )
            % {"num": len(failed)}
        )
    scheme = definition.grade_scheme
    if scheme.kind == "percent" and scheme.pass_mark is not None:
        if grade in (None, "") or float(str(grade).rstrip("%")) < scheme.pass_mark:
            reasons.append(
                _("grade below the pass mark of %(mark)s%%") % {"mark": f"{scheme.pass_mark:g}"}
            )
    elif scheme.kind == "letter" and grade not in scheme.passing_values:
        reasons.append(_("grade is not a passing grade"))
    return Decision(passed=not reasons, reasons=reasons)
