"""eddsa-jcs-2022 signs the JSON: its credentials verify without RDF canonicalisation, and the
strict JSON-LD checks still hold (they are read from the shape's template)."""

from __future__ import annotations

import random
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from microcred.vc import canon
from microcred.vc.errors import DocumentError
from microcred.vc.fastcanon import FastCanonicalizer
from microcred.vc.proofs import EDDSA_JCS_2022
from microcred.vc.report import Verdict
from microcred.vc.verify import verify
from tests.helpers import ISSUER_KEY, policy, signed, unsigned
from tests.issued import random_credential


def _jcs(document: dict) -> dict:
    return signed(document, suite=EDDSA_JCS_2022)


def test_jcs_credentials_verify_without_canonicalising() -> None:
    rng = random.Random(4)  # noqa: S311 - test data
    fast = FastCanonicalizer()
    for _ in range(5):
        credential = _jcs(random_credential(rng, ISSUER_KEY.public.did_key))
        report = verify(credential, policy(canonicalize=fast, skip_status=True))
        assert report.step("proof").code == "proof.ok"
        assert report.step("context").code == "context.ok"
    assert fast.stats["template"] == 0  # no canonical form was made
    assert fast.stats["fallback"] == 0
    assert fast.stats["built"] == 5  # one template per new shape, for the strict checks


def test_rdfc_credentials_still_canonicalise() -> None:
    fast = FastCanonicalizer()
    report = verify(signed(), policy(canonicalize=fast, skip_status=True))
    assert report.verdict is Verdict.STATUS_UNCHECKED or report.verified
    assert fast.stats["template"] + fast.stats["direct"] > 0


def test_an_undefined_term_in_a_jcs_credential_is_refused() -> None:
    document = unsigned()
    document["credentialSubject"]["favouriteColour"] = "green"
    report = verify(_jcs(document), policy(canonicalize=FastCanonicalizer()))
    assert report.step("context").code == "context.undefined_term"
    assert not report.verified


def test_a_status_under_its_full_iri_in_a_jcs_credential_is_refused() -> None:
    document = unsigned()
    document["https://www.w3.org/2018/credentials#credentialStatus"] = {
        "id": "https://status.example/1#5",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "5",
        "statusListCredential": "https://status.example/1",
    }
    report = verify(_jcs(document), policy(canonicalize=FastCanonicalizer()))
    assert report.step("context").code == "context.hidden_term"


JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**54), 2**54),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(JSON)
def test_jcs_equals_rfc8785(value: Any) -> None:
    try:
        expected: bytes | str = bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, ValueError, TypeError):
        expected = "error"
    try:
        ours: bytes | str = canon.jcs(value)
    except DocumentError:
        ours = "error"
    assert ours == expected


def test_jcs_of_issued_credentials_takes_the_plain_path() -> None:
    rng = random.Random(9)  # noqa: S311 - test data
    for _ in range(20):
        document = random_credential(rng, ISSUER_KEY.public.did_key)
        canon._plain(document)  # raises when the document needs rfc8785
        assert canon.jcs(document) == bytes(rfc8785.dumps(document))


def test_jcs_of_numbers_at_the_edges() -> None:
    for value in [2.0**53, 2.0**60, -(2.0**53), 1e16, 1e21, 0.1, -0.0, 1e-4, 9.999e-5, 123.456]:
        assert canon.jcs({"n": value}) == bytes(rfc8785.dumps({"n": value})), value


@settings(max_examples=500, deadline=None)
@given(JSON)
def test_planned_jcs_equals_rfc8785(value: Any) -> None:
    """The plan a verification keeps per shape (which floats to write as integers) gives the
    same bytes as rfc8785 wherever it says json.dumps can be used."""
    document = {"value": value, "more": [value, {"n": 2.0}]}
    plan = canon.jcs_plan(document)
    if plan is None:
        return
    ours = canon.planned_jcs(document, plan)
    try:
        expected = bytes(rfc8785.dumps(document))
    except (rfc8785.CanonicalizationError, ValueError, TypeError):
        assert ours is None  # a lone surrogate: jcs() then names the problem
        return
    assert ours == expected
    assert document["more"][1]["n"] == 2.0  # the caller's document is left as it was


def test_the_plan_is_kept_per_shape_and_fits_every_document_of_it() -> None:
    """A verification keeps the plan of the first document of a shape: a second document of
    the shape (other strings, same keys and numbers) verifies with it, and one whose numbers
    differ is another shape."""
    fast = FastCanonicalizer()
    rng = random.Random(21)  # noqa: S311 - test data
    base = random_credential(rng, ISSUER_KEY.public.did_key)
    for name in ("Ada", "Grace", "Ünïcödé ✓"):
        document = {**base, "name": name, "credentialSubject": {**base["credentialSubject"]}}
        report = verify(_jcs(document), policy(canonicalize=fast, skip_status=True))
        assert report.step("proof").code == "proof.ok", name
    survey = fast.survey({k: v for k, v in _jcs(base).items() if k != "proof"})
    assert survey is not None
    assert "jcs.plan" in survey.facts  # kept for the shape
    numbered = {**base, "extra": 3.0}
    other = fast.survey(numbered)
    assert other is not None
    assert other.shape != survey.shape
