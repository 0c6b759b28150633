"""Definition forms read numbers as people type them (web/forms.py) and name downloads after
what they hold (web/render.attachment)."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from microcred.web.forms import FormProblemsError, definition_from_form
from microcred.web.render import attachment


def _form(**fields: str) -> FormData:
    return FormData([("title", "T"), *fields.items()])


@pytest.mark.parametrize(
    ("typed", "read"), [("1.5", 1.5), ("1,5", 1.5), (" 2 ", 2.0), ("0,25", 0.25), ("", None)]
)
def test_a_decimal_comma_is_a_decimal_point(typed: str, read: float | None) -> None:
    assert definition_from_form(_form(workload_ects=typed)).get("workload_ects") == read


@pytest.mark.parametrize("typed", ["1,5.0", "one", "nan", "inf", "1.2.3"])
def test_what_is_not_a_number_is_refused_and_kept_as_typed(typed: str) -> None:
    with pytest.raises(FormProblemsError) as refused:
        definition_from_form(_form(workload_ects=typed, workload_hours="40,5"))
    assert refused.value.problems == [
        ("workload_ects", "enter a number, like 1.5 or 1,5"),
        ("workload_hours", "enter a whole number, like 40"),
    ]
    assert refused.value.data["workload_ects"] == typed  # shown again as typed
    assert refused.value.data["title"] == "T"


def test_downloads_are_named_after_their_content() -> None:
    assert attachment("Safe Lifting <Level 1> 2026-12-02", "pdf") == {
        "Content-Disposition": 'attachment; filename="safe-lifting-level-1-2026-12-02.pdf"'
    }
    assert attachment("Primeros auxilios: niños", "png")["Content-Disposition"].endswith(
        'filename="primeros-auxilios-ninos.png"'
    )
    assert attachment('"; rm -rf /', "json")["Content-Disposition"] == (
        'attachment; filename="rm-rf.json"'  # nothing that could break the header
    )
    assert attachment("日本語", "svg")["Content-Disposition"].endswith('filename="credential.svg"')
