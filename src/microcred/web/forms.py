"""Turning HTML form fields into definition data (and back)."""

from __future__ import annotations

import math
from typing import Any

from starlette.datastructures import FormData

from microcred.i18n import N_, _

SCALAR_FIELDS = (
    "title",
    "description",
    "country_code",
    "region",
    "awarding_body",
    "assessment_type",
    "participation",
    "quality_assurance",
    "prerequisites",
    "supervision",
    "stackability",
    "further_information",
    "language",
    "field_of_study",
)


def typed_number(value: str) -> float | None:
    """A number as people type it: ``1.5``, or ``1,5`` with a decimal comma."""
    value = value.strip().replace(" ", "")
    if "," in value and "." not in value:
        value = value.replace(",", ".")
    if not value:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


class FormProblemsError(ValueError):
    """Fields that could not be read, each with its reason; ``data`` keeps what was typed."""

    def __init__(self, data: dict[str, Any], problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.data = data
        self.problems = problems


# the form's number fields: (name, whole number)
_NUMBERS = (
    ("workload_ects", False),
    ("workload_hours", True),
    ("validity_months", True),
    ("pass_mark", False),
    ("us_credit_hours", False),
    ("price_amount", False),
)


def definition_from_form(form: FormData) -> dict[str, Any]:
    """The definition data a form holds; ``FormProblemsError`` when a field cannot be read (a number
    that is not one), with the form's values as typed."""
    data: dict[str, Any] = {k: str(form.get(k, "")).strip() for k in SCALAR_FIELDS}
    problems: list[tuple[str, str]] = []
    numbers: dict[str, Any] = {}
    for name, whole in _NUMBERS:
        typed = str(form.get(name, "")).strip()
        try:
            number = typed_number(typed)
            if number is not None and whole and number != int(number):
                raise ValueError(typed)
            numbers[name] = int(number) if number is not None and whole else number
        except ValueError:
            numbers[name] = typed  # shown again as typed, beside its reason
            problems.append(
                (
                    name,
                    _("enter a whole number, like 40")
                    if whole
                    else _("enter a number, like 1.5 or 1,5"),
                )
            )
    pass_mark = numbers.pop("pass_mark")
    data.update(numbers)
    data["price_currency"] = str(form.get("price_currency", "")).strip() or "EUR"
    data["next_start"] = str(form.get("next_start", "")).strip() or None
    data["occupations"] = _split(str(form.get("occupations", "")))
    framework = str(form.get("level_framework", "")).strip()
    data["level"] = (
        {"framework": framework, "value": str(form.get("level_value", "")).strip()}
        if framework
        else None
    )
    data["grade_scheme"] = {
        "kind": str(form.get("grade_kind", "pass_fail")) or "pass_fail",
        "pass_mark": pass_mark,
        "values": _split(str(form.get("grade_values", ""))),
        "passing_values": _split(str(form.get("grade_passing", ""))),
    }
    data["stacks_into"] = _split(str(form.get("stacks_into", "")))
    data["suspendable"] = form.get("suspendable") == "on"
    statements = form.getlist("outcome_statement")
    criteria = form.getlist("outcome_criterion")
    escos = form.getlist("outcome_esco")
    ids = form.getlist("outcome_id")
    outcomes = []
    for i, statement in enumerate(statements):
        text = str(statement).strip()
        if not text:
            continue
        outcome: dict[str, Any] = {
            "statement": text,
            "criterion": str(criteria[i]).strip() if i < len(criteria) else "",
            "esco_uri": (str(escos[i]).strip() or None) if i < len(escos) else None,
        }
        if i < len(ids) and str(ids[i]).strip():
            outcome["id"] = str(ids[i]).strip()
        outcomes.append(outcome)
    data["learning_outcomes"] = outcomes
    data = {k: v for k, v in data.items() if v not in ("", None) or k == "level"}
    if problems:
        raise FormProblemsError(data, problems)
    return data


# pydantic's field paths -> the form's field names (the error beside the right input)
_FIELDS = {
    "level": "level_framework",
    "level.framework": "level_framework",
    "level.value": "level_value",
    "grade_scheme": "grade_kind",
    "grade_scheme.kind": "grade_kind",
    "grade_scheme.pass_mark": "pass_mark",
    "grade_scheme.values": "grade_values",
    "grade_scheme.passing_values": "grade_passing",
}
_OUTCOME_FIELDS = {"statement": "outcome_statement", "criterion": "outcome_criterion",
                   "esco_uri": "outcome_esco"}  # fmt: skip


def form_field(path: str) -> str:
    """The form field a problem's path names (``learning_outcomes.1.criterion`` ->
    ``outcome_criterion_1``)."""
    if path in _FIELDS:
        return _FIELDS[path]
    parts = path.split(".")
    if parts[0] == "learning_outcomes" and len(parts) >= 2 and parts[1].isdigit():
        which = _OUTCOME_FIELDS.get(parts[2] if len(parts) > 2 else "", "outcome_statement")
        return f"{which}_{parts[1]}"
    return parts[0]


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


# what each field is called on the form (the same words as its label there)
FIELD_LABELS = {
    "title": N_("Title"),
    "description": N_("Description"),
    "country_code": N_("Country of the issuer"),
    "region": N_("Region"),
    "awarding_body": N_("Awarding body"),
    "learning_outcomes": N_("Learning outcomes * (each with the criterion it is assessed by)"),
    "workload_ects": N_("Workload (ECTS)"),
    "workload_hours": N_("Hours"),
    "level_framework": N_("Level framework"),
    "level_value": N_("Level"),
    "assessment_type": N_("Type of assessment"),
    "participation": N_("Form of participation"),
    "quality_assurance": N_("Type of quality assurance"),
    "prerequisites": N_("Prerequisites"),
    "supervision": N_("Supervision and identity verification during assessment"),
    "grade_kind": N_("Grade scheme"),
    "pass_mark": N_("Pass mark (%%)"),
    "grade_values": N_("Grades, best first"),
    "grade_passing": N_("Passing grades"),
    "stackability": N_("Stackability"),
    "stacks_into": N_("Stacks into"),
    "further_information": N_("Further information"),
    "language": N_("Language"),
    "validity_months": N_("Valid for (months)"),
    "field_of_study": N_("Field of study"),
    "us_credit_hours": N_("US credit hours"),
    "price_amount": N_("Price"),
    "price_currency": N_("Currency"),
    "next_start": N_("Next start"),
    "occupations": N_("ESCO occupations (links, separated by commas)"),
}
