"""The compiled-template canonicaliser equals full pyld byte for byte (pyld is the oracle)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microcred.vc import canon
from microcred.vc.errors import ContextError
from microcred.vc.fastcanon import FastCanonicalizer
from microcred.vc.loader import default_loader
from tests.helpers import signed, unsigned, vector_loader

LOADER = default_loader()

text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\x00\x08\x0b\x0c\x7f"
    ),
    max_size=30,
)
iri = st.one_of(
    st.uuids().map(lambda u: f"urn:uuid:{u}"),
    st.from_regex(r"did:example:[a-z0-9]{1,12}", fullmatch=True),
    st.from_regex(r"https://[a-z]{1,8}\.example/[a-z0-9/]{0,12}", fullmatch=True),
    st.sampled_from(["did:example:shared", "https://shared.example/x", "http:no-slashes"]),
)
value = st.one_of(text, iri, st.sampled_from(["", "@id", "ext:ESCOSkill", "_:b0", "rel/path"]))


def _paths(document: Any, prefix: tuple = ()) -> list[tuple]:
    found = []
    if isinstance(document, dict):
        for key, child in document.items():
            if key in ("@context", "type"):
                continue
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(document, list):
        for index, child in enumerate(document):
            found.extend(_paths(child, (*prefix, index)))
    elif isinstance(document, str):
        found.append(prefix)
    return found


def _set(document: Any, path: tuple, new: Any) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = new


def _outcome(canonicalize, document, loader=LOADER):
    try:
        return canonicalize(document, loader)
    except ContextError as exc:
        return ("error", exc.code)


@st.composite
def credentials(draw):
    document = unsigned()
    if draw(st.booleans()):
        document = signed(document)
    paths = _paths(document)
    for path in draw(st.lists(st.sampled_from(paths), max_size=8, unique=True)):
        _set(document, path, draw(value))
    achievement = document["credentialSubject"]["achievement"]
    if draw(st.booleans()):
        achievement["creator"] = {"id": document["issuer"]["id"], "type": ["Profile"]}
    if draw(st.booleans()):
        achievement["creditsAvailable"] = draw(
            st.one_of(st.integers(0, 300), st.floats(0, 300, allow_nan=False))
        )
    for optional in draw(st.lists(st.sampled_from(["alignment", "fieldOfStudy", "version"]))):
        achievement.pop(optional, None)
    return document


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=st.lists(credentials(), min_size=1, max_size=4))
def test_fast_path_equals_pyld(documents):
    fast = FastCanonicalizer(direct_first=False)
    for document in documents:
        assert _outcome(fast, document) == _outcome(canon.rdfc, document)
    # and again from a warm cache, in another order
    for document in reversed(documents):
        assert _outcome(fast, document) == _outcome(canon.rdfc, document)


def test_templates_are_reused_for_one_shape():
    fast = FastCanonicalizer(direct_first=False)
    for _ in range(5):
        document = unsigned()  # new ids, salts and dates each time: same shape
        assert fast(document, LOADER) == canon.rdfc(document, LOADER)
    assert fast.stats["built"] == 1
    assert fast.stats["template"] == 5
    assert fast.stats["fallback"] == 0


def test_a_shape_goes_straight_to_rdf_first_and_gets_its_template_second():
    fast = FastCanonicalizer()
    for _ in range(4):
        document = unsigned()
        assert fast(document, LOADER) == canon.rdfc(document, LOADER)
    assert fast.stats["direct"] == 1
    assert fast.stats["built"] == 1
    assert fast.stats["template"] == 3


def test_duplicate_node_ids_merge_like_pyld():
    fast = FastCanonicalizer(direct_first=False)
    document = unsigned()
    document["credentialSubject"]["achievement"]["creator"] = copy.deepcopy(document["issuer"])
    assert fast(document, LOADER) == canon.rdfc(document, LOADER)
    other = unsigned()
    other["credentialSubject"]["achievement"]["creator"] = {
        **copy.deepcopy(other["issuer"]),
        "id": "did:example:someone-else",
    }
    assert fast(other, LOADER) == canon.rdfc(other, LOADER)


def test_loaders_have_separate_templates():
    fast = FastCanonicalizer(direct_first=False)
    document = {
        "@context": "https://www.w3.org/ns/credentials/examples/v2",
        "@id": "urn:a",
        "x": "y",
    }
    with pytest.raises(ContextError):
        fast(document, LOADER)
    assert "examples#x" in fast(document, vector_loader())


def test_a_vocab_position_becomes_part_of_the_shape():
    # proofPurpose is a @vocab term: "assertionMethod" must expand, not be filled in as text.
    fast = FastCanonicalizer(direct_first=False)
    for purpose in ("assertionMethod", "authentication", "assertionMethod"):
        config = {
            "@context": "https://www.w3.org/ns/credentials/v2",
            "type": "DataIntegrityProof",
            "proofPurpose": purpose,
            "created": "2026-01-01T00:00:00Z",
            "verificationMethod": "did:key:z6Mk#z6Mk",
        }
        assert fast(config, LOADER) == canon.rdfc(config, LOADER)
        assert f"https://w3id.org/security#{purpose}" in fast(config, LOADER)
