"""jsonschema_rs answers "valid?" first (ADR 0021): it must never pass a document that
jsonschema, the reference, refuses. Mutated credentials look for any such difference."""

from __future__ import annotations

import copy
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microcred.vc import schema
from tests.helpers import ISSUER_KEY, signed
from tests.issued import random_credential


def _issued(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)  # noqa: S311 - test data
    candidate, _entries = schema.prepare(signed(random_credential(rng, ISSUER_KEY.public.did_key)))
    return candidate


BASE = [_issued(seed) for seed in range(3)]
DATE_VALUES = [
    "2026-05-01T00:00:00Z",
    "2026-05-01t00:00:00z",
    "2026-05-01T00:00:00+01:00",
    "2026-05-01T25:00:00Z",
    "2026-05-01 00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-05-01T23:59:60Z",
    "2026-05-01",
    "not a date",
    "2026-05-01T00:00:00.123456789Z",
]
DATES = st.sampled_from(DATE_VALUES)
VALUES = st.one_of(
    DATES,
    st.text(max_size=12),
    st.sampled_from(["en", "en\n", "de-DE", "ext:Thing", "ext:", "Status", "Completed", "٣"]),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.just([]),
    st.just({}),
    st.just(["Profile"]),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    document = copy.deepcopy(draw(st.sampled_from(BASE)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            parent.pop(path[-1], None)
        else:
            # a copy: st.just hands out one shared list or dict, which a later step could
            # change or put inside itself (a cycle, then a RecursionError in _paths)
            parent[path[-1]] = copy.deepcopy(draw(VALUES))
        if not _paths(document):
            break
    return document


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_the_fast_check_never_passes_what_jsonschema_refuses(document: dict[str, Any]) -> None:
    name = schema.ACHIEVEMENT_CREDENTIAL
    reference = schema._problems(schema._validator(name), document, "$")
    if schema._fast(name).is_valid(document):
        assert reference == [], reference


def test_the_published_credentials_pass_both() -> None:
    for document in BASE:
        assert schema._fast(schema.ACHIEVEMENT_CREDENTIAL).is_valid(document)
        assert schema.validate(document, schema.ACHIEVEMENT_CREDENTIAL) == []


def test_formats_and_patterns_agree_value_by_value() -> None:
    """Every place a format or pattern applies, with values near their edges."""
    name = schema.ACHIEVEMENT_CREDENTIAL
    special = {
        "validFrom",
        "validUntil",
        "awardedDate",
        "created",
        "inLanguage",
        "language",
        "targetType",
        "identityType",
        "resultType",
    }
    values = [*DATE_VALUES, "en", "en\n", "de-DE", "ext:Thing", "ext:", "٣"]
    checked = 0
    for base in BASE:
        for path in _paths(base):
            if path[-1] not in special:
                continue
            for value in values:
                document = copy.deepcopy(base)
                parent = document
                for step in path[:-1]:
                    parent = parent[step]
                parent[path[-1]] = value
                reference = schema._problems(schema._validator(name), document, "$")
                fast = schema._fast(name).is_valid(document)
                assert not fast or reference == [], (path, value, reference)
                checked += 1
    assert checked > 100


def _wrapped_everywhere(value: Any) -> Any:
    """The whole-copy form of ``schema.prepare``'s proof wrapping (before copy on write)."""
    if isinstance(value, dict):
        out = {k: _wrapped_everywhere(v) for k, v in value.items()}
        if isinstance(out.get("proof"), dict):
            out["proof"] = [out["proof"]]
        return out
    if isinstance(value, list):
        return [_wrapped_everywhere(v) for v in value]
    return value


JSON_WITH_PROOFS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["proof", "a", "issuer", "endorsement"]), inner, max_size=3
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_WITH_PROOFS)
def test_prepare_wraps_every_proof_and_leaves_the_input_alone(value: Any) -> None:
    document = {"credentialSubject": value, "proof": {"type": "DataIntegrityProof"}}
    before = copy.deepcopy(document)
    candidate, _entries = schema.prepare(document)
    assert document == before  # nothing written into the caller's document
    assert candidate == _wrapped_everywhere(document)
    assert candidate is not document
    # by the paths a verification keeps per shape: the same
    by_paths, _entries = schema.prepare(document, schema.proof_paths(document))
    assert by_paths == candidate
    assert document == before
