"""Pathway rules: unit and property tests (monotonic progress, ineligible credentials never
count, nested rules behave as written)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microcred.domain.errors import DomainError
from microcred.domain.stacking import CredentialFact, eligible, evaluate, validate

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def fact(
    cid: str,
    achievement: str,
    *,
    ects: float = 5,
    eqf: int | None = 5,
    issuer: str = "did:web:a",
    trusted: bool = True,
    valid: bool = True,
    age_days: int = 30,
) -> CredentialFact:
    return CredentialFact(
        cid,
        frozenset({achievement}),
        achievement,
        issuer,
        ects,
        eqf,
        NOW - timedelta(days=age_days),
        trusted,
        valid,
    )


PATHWAY = {
    "all": [
        {"credential": {"achievement": ["A"]}},
        {
            "at_least": 2,
            "of": [
                {"credential": {"achievement": ["B"]}},
                {"credential": {"achievement": ["C"]}},
                {"credential": {"achievement": ["D"], "min_eqf": 6}},
            ],
        },
        {"min_ects": 20, "where": {"trusted": True, "within_years": 5}},
    ]
}


def test_nested_rules_behave_as_written():
    validate(PATHWAY)
    facts = [fact("1", "A"), fact("2", "B")]
    result = evaluate(PATHWAY, eligible(facts), NOW)
    assert not result.satisfied
    assert result.progress == pytest.approx((1 + 0.5 + 10 / 20) / 3)
    assert any("1 more of" in m for m in result.missing)
    facts += [fact("3", "C"), fact("4", "X")]
    done = evaluate(PATHWAY, eligible(facts), NOW)
    assert done.satisfied
    assert done.progress == 1.0
    assert {"1", "2", "3"} <= done.used


def test_eqf_trust_issuer_and_age_filters():
    rule = {
        "credential": {
            "achievement": ["D"],
            "min_eqf": 6,
            "issuer": ["did:web:a"],
            "trusted": True,
            "within_years": 2,
        }
    }
    assert not evaluate(rule, [fact("1", "D", eqf=5)], NOW).satisfied
    assert not evaluate(rule, [fact("1", "D", eqf=6, issuer="did:web:b")], NOW).satisfied
    assert not evaluate(rule, [fact("1", "D", eqf=6, trusted=False)], NOW).satisfied
    assert not evaluate(rule, [fact("1", "D", eqf=6, age_days=3 * 365)], NOW).satisfied
    assert evaluate(rule, [fact("1", "D", eqf=6)], NOW).satisfied


def test_revoked_or_expired_never_count():
    facts = [fact("1", "A", valid=False), fact("2", "B"), fact("3", "C"), fact("4", "Z", ects=30)]
    assert not evaluate(PATHWAY, eligible(facts), NOW).satisfied
    assert evaluate(PATHWAY, eligible([*facts, fact("5", "A")]), NOW).satisfied


@pytest.mark.parametrize(
    "rule",
    [
        {},
        {"all": []},
        {"at_least": 3, "of": [{"credential": {}}]},
        {"credential": {"colour": 1}},
        {"min_ects": -1},
        {"min_ects": 5, "where": {"issuer": "did:web:a"}},
        {"any": []},
        [],
    ],
)
def test_malformed_rules_are_refused(rule):
    with pytest.raises(DomainError) as caught:
        validate(rule)
    assert caught.value.code == "pathway.rule_invalid"


ACHIEVEMENTS = ["A", "B", "C", "D", "X"]
facts_strategy = st.lists(
    st.builds(
        fact,
        st.uuids().map(str),
        st.sampled_from(ACHIEVEMENTS),
        ects=st.sampled_from([0.5, 1, 2, 5, 10]),
        eqf=st.one_of(st.none(), st.integers(1, 8)),
        issuer=st.sampled_from(["did:web:a", "did:web:b"]),
        trusted=st.booleans(),
        valid=st.booleans(),
        age_days=st.integers(0, 4000),
    ),
    max_size=12,
)


def leaf() -> st.SearchStrategy[dict]:
    match = st.fixed_dictionaries(
        {},
        optional={
            "achievement": st.lists(st.sampled_from(ACHIEVEMENTS), min_size=1, max_size=2),
            "min_eqf": st.integers(1, 8),
            "trusted": st.booleans(),
            "within_years": st.integers(1, 10),
            "issuer": st.just(["did:web:a"]),
        },
    )
    return st.one_of(
        match.map(lambda m: {"credential": m}),
        st.tuples(st.sampled_from([1, 5, 12]), match).map(
            lambda t: {"min_ects": t[0], "where": t[1]}
        ),
    )


rules = st.recursive(
    leaf(),
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda c: {"all": c}),
        st.lists(children, min_size=1, max_size=3).flatmap(
            lambda c: st.integers(1, len(c)).map(lambda n: {"at_least": n, "of": c})
        ),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(rule=rules, facts=facts_strategy, extra=facts_strategy)
def test_adding_credentials_never_lowers_progress(rule, facts, extra):
    validate(rule)
    before = evaluate(rule, eligible(facts), NOW)
    after = evaluate(rule, eligible(facts + extra), NOW)
    assert after.progress >= before.progress - 1e-12
    assert after.satisfied or not before.satisfied
    assert 0.0 <= after.progress <= 1.0
    assert after.satisfied == (after.progress >= 1.0 - 1e-9)  # complete exactly when satisfied


@settings(max_examples=300, deadline=None)
@given(rule=rules, facts=facts_strategy)
def test_ineligible_credentials_change_nothing(rule, facts):
    invalid = [f for f in facts if not f.valid]
    valid = [f for f in facts if f.valid]
    with_invalid = evaluate(rule, eligible(valid + invalid), NOW)
    without = evaluate(rule, eligible(valid), NOW)
    assert with_invalid == without
    assert not (with_invalid.used & {f.id for f in invalid})


def test_a_workload_rule_says_how_much_is_missing_and_of_what():
    facts = [fact("1", "A", ects=3), fact("2", "B", ects=4, trusted=False)]
    anywhere = evaluate({"min_ects": 10}, facts, NOW)
    assert anywhere.missing == ("3 more ECTS",)
    trusted = evaluate({"min_ects": 10, "where": {"trusted": True}}, facts, NOW)
    assert trusted.missing == ("7 more ECTS (a credential from a recognised provider)",)
    assert trusted.progress == pytest.approx(0.3)
