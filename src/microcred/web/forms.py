"""Turning HTML form fields into definition data (and back)."""

from __future__ import annotations

import math
from typing import Any

from starlette.datastructures import FormData

from microcred.i18n import _

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


def _number(value: str) -> float | None:
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


def definition_from_form(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {k: str(form.get(k, "")).strip() for k in SCALAR_FIELDS}
    try:
        data["workload_ects"] = _number(str(form.get("workload_ects", "")))
        hours = _number(str(form.get("workload_hours", "")))
        data["workload_hours"] = int(hours) if hours is not None else None
        months = _number(str(form.get("validity_months", "")))
        data["validity_months"] = int(months) if months is not None else None
        pass_mark = _number(str(form.get("pass_mark", "")))
        data["us_credit_hours"] = _number(str(form.get("us_credit_hours", "")))
        data["price_amount"] = _number(str(form.get("price_amount", "")))
    except ValueError as exc:
        raise ValueError(
            _("workload, validity, pass mark, credit hours and price must be numbers")
        ) from exc
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
    return {k: v for k, v in data.items() if v not in ("", None) or k == "level"}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
