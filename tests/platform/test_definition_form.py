"""The definition form forgives: a mistake keeps everything typed, says what is wrong beside the
field (and in a summary linking to it), and saves nothing; a decimal comma is a number."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from microcred.db.session import transaction
from microcred.db.tables import Definition
from tests.platform.conftest import make_org, signin

FORM = {
    "title": "Safe Lifting <Level 1>",
    "description": "Lifting loads without injury.",
    "country_code": "DE",
    "awarding_body": "Acme Institute",
    "outcome_statement": ["Assesses a load before lifting", "Lifts with correct posture"],
    "outcome_criterion": ["Risk checklist completed", "Observed demonstration"],
    "outcome_esco": ["", ""],
    "outcome_id": ["", ""],
    "workload_ects": "1,5",
    "workload_hours": "40",
    "level_framework": "EQF",
    "level_value": "3",
    "assessment_type": "Observed practical",
    "participation": "onsite",
    "quality_assurance": "Chamber of Crafts external QA",
}


def _count(platform) -> int:
    with transaction(platform.sessions, readonly=True) as session:
        return session.scalar(select(func.count()).select_from(Definition)) or 0


def _beside(page: str, field: str) -> str:
    found = re.search(rf'<span class="field-error" id="e-{field}">([^<]*)</span>', page)
    assert found, f"no reason beside {field}"
    assert f'id="f-{field}" aria-invalid="true" aria-describedby="e-{field}"' in page
    return found.group(1)


def test_a_decimal_comma_saves(platform, client) -> None:
    org = make_org(platform, "acme")
    token = signin(client, org.owner_email)
    saved = client.post("/definitions", data={**FORM, "csrf_token": token}, follow_redirects=False)
    assert saved.status_code == 303
    with transaction(platform.sessions, readonly=True) as session:
        row = session.scalar(select(Definition))
        assert row.data["workload_ects"] == 1.5


def test_mistakes_keep_what_was_typed_and_are_named_beside_their_fields(platform, client) -> None:
    org = make_org(platform, "acme")
    token = signin(client, org.owner_email)
    typed = {**FORM, "workload_ects": "one and a half", "workload_hours": "40,5"}
    page = client.post("/definitions", data={**typed, "csrf_token": token})
    assert page.status_code == 422
    assert _count(platform) == 0  # nothing saved
    assert "number, like 1.5 or 1,5" in _beside(page.text, "workload_ects")
    assert "whole number" in _beside(page.text, "workload_hours")
    assert 'value="one and a half"' in page.text
    assert 'value="40,5"' in page.text
    for kept in ("Safe Lifting &lt;Level 1&gt;", "Assesses a load before lifting",
                 "Observed demonstration", "Chamber of Crafts external QA"):  # fmt: skip
        assert kept in page.text, kept
    assert "Nothing was saved: 2 fields need a change." in page.text
    assert '<a href="#f-workload_ects">Workload (ECTS)</a>' in page.text

    # rules of the data itself: beside their fields too, the rest kept
    wrong = {**FORM, "country_code": "Germany", "outcome_esco": ["ftp://x", ""], "language": "?"}
    page = client.post("/definitions", data={**wrong, "csrf_token": token})
    assert page.status_code == 422
    assert _count(platform) == 0
    assert "two-letter" in _beside(page.text, "country_code")
    assert _beside(page.text, "language")
    assert 'value="Germany"' in page.text
    assert 'value="Lifts with correct posture"' in page.text

    # editing a draft: the same
    saved = client.post("/definitions", data={**FORM, "csrf_token": token}, follow_redirects=False)
    row_id = saved.headers["location"].rsplit("/", 1)[1]
    page = client.post(
        f"/definitions/{row_id}", data={**FORM, "workload_ects": "1.5.0", "csrf_token": token}
    )
    assert page.status_code == 422
    assert _beside(page.text, "workload_ects")
    assert 'value="1.5.0"' in page.text


def test_the_form_reads_french_numbers_and_answers_in_french(platform, client) -> None:
    org = make_org(platform, "acme")
    token = signin(client, org.owner_email)
    client.get("/language/fr")
    page = client.post("/definitions", data={**FORM, "workload_ects": "x", "csrf_token": token})
    assert page.status_code == 422
    assert '<html lang="fr">' in page.text
    reason = _beside(page.text, "workload_ects")
    assert reason != "enter a number, like 1.5 or 1,5"  # in French
