"""The C extension (vc/_speedups.c, ADR 0024) equals its pure-Python twins on random input, and
is built in the development install (a silent fallback to Python would only show as slowness)."""

from __future__ import annotations

import os
import random
from typing import Any

import base58
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microcred.vc import canon, fastcanon, rdfc
from microcred.vc.jsonsafe import _copy_json_py
from microcred.vc.loader import default_loader
from microcred.vc.multikey import _b58decode_py, _b58encode_py
from microcred.vc.native import speedups
from tests.issued import issued_credentials, random_credential

LOADER = default_loader()
DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"

native = pytest.mark.skipif(speedups is None, reason="the C extension is not built")


def test_the_extension_is_built() -> None:
    if os.environ.get("MICROCRED_PURE_PYTHON") == "1":
        pytest.skip("MICROCRED_PURE_PYTHON=1 runs on the Python twins")
    assert speedups is not None, "vc/_speedups.c did not build: run `make install` (needs gcc)"


# Strings chosen to sit on the edges of the IRI rule: schemes, "//", a final newline, characters
# the rule refuses, keywords, non-ASCII, control characters.
EDGES = [
    "",
    "@id",
    "@",
    "did:",
    "did:x",
    "urn:",
    "urn:x y",
    "http:",
    "http:/",
    "http://",
    "http:///",
    "https://a",
    "https://a\n",
    "https://a\n\n",
    "https://\n",
    "https:a",
    "httpx://a",
    "HTTPS://a",
    "https://a b",
    "https://é.example/ü",
    'https://a"b',
    "https://a<b>",
    "https://a{b}|c\\d^e`f",
    "https://a\tb",
    "https://a\x0bb",
    "https://a\x85b",
    "did:key:z6Mk",
    "urn:uuid:1",
    "x\x00y",
    "tab\there",
    'quote " and \\ backslash',
    "line\nbreak\r",
    "\x7f",
    "𝄞 music",
]
texts = st.one_of(st.sampled_from(EDGES), st.text(max_size=12))
keys = st.one_of(
    st.sampled_from(["@context", "type", "@type", "@id", "@value", "@list", "id", "name", "@x"]),
    st.text(max_size=6),
)
scalars = st.one_of(
    texts,
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=30,
)


def _describe_both(document: dict[str, Any]) -> tuple[Any, Any]:
    assert speedups is not None

    def run(fn: Any) -> Any:
        try:
            return fn(document)
        except fastcanon._UnsupportedError:
            return "unsupported"

    return run(speedups.describe), run(fastcanon._describe_py)


@native
@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, json_values, max_size=6))
def test_describe_equals_python(document: dict[str, Any]) -> None:
    ours, theirs = _describe_both(document)
    assert ours == theirs


@native
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(issued_credentials(DID))
def test_describe_equals_python_on_issued_credentials(document: dict[str, Any]) -> None:
    ours, theirs = _describe_both(document)
    assert ours == theirs
    assert speedups is not None
    values = theirs[1]
    assert speedups.has_control(values) == bool(canon.BAD_CONTROL.search("".join(values)))


@native
def test_describe_refuses_what_python_refuses() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(60):
        node["a"] = {}
        node = node["a"]
    odd_key: dict[Any, Any] = {1: "x"}
    subclass = {"a": type("D", (dict,), {})()}
    for document in (deep, odd_key, subclass, {"a": {1, 2}}, {"a": (1,)}):
        assert _describe_both(document) == ("unsupported", "unsupported")


@native
def test_floats_keep_their_sign_and_types_their_tag() -> None:
    assert speedups is not None
    shapes = [speedups.describe({"n": value})[0] for value in (0.0, -0.0, 0, False, None)]
    assert len(set(shapes)) == 5


@native
@settings(max_examples=300, deadline=None)
@given(json_values)
def test_copy_json_equals_python_and_shares_no_container(value: Any) -> None:
    assert speedups is not None
    ours = speedups.copy_json(value)
    assert ours == _copy_json_py(value) == value or ours != ours  # a NaN is never equal
    assert _containers(ours).isdisjoint(_containers(value))


def _containers(value: Any) -> set[int]:
    found: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.add(id(item))
            stack.extend(item.values())
        elif isinstance(item, list):
            found.add(id(item))
            stack.extend(item)
    return found


@native
def test_copy_json_deep_copies_other_values() -> None:
    assert speedups is not None
    inner = {1, 2}
    copied = speedups.copy_json({"a": [inner]})
    assert copied == {"a": [{1, 2}]}
    assert copied["a"][0] is not inner


@native
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.integers(min_value=0, max_value=4))
def test_base58_equals_the_base58_package(data: bytes, zeros: int) -> None:
    assert speedups is not None
    data = bytes(zeros) + data
    text = speedups.b58encode(data)
    assert text == _b58encode_py(data) == base58.b58encode(data).decode()
    assert speedups.b58decode(text) == _b58decode_py(text) == data


@native
@pytest.mark.parametrize("text", ["0", "O", "I", "l", "abc+", "é", "zz ", " zz", "z\n"])
def test_base58_refuses_what_is_not_base58(text: str) -> None:
    assert speedups is not None
    with pytest.raises(ValueError, match="Invalid character"):
        speedups.b58decode(text)
    with pytest.raises(ValueError, match="Invalid character"):
        _b58decode_py(text)


@native
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(issued_credentials(DID), st.lists(st.sampled_from(EDGES), min_size=1, max_size=8))
def test_serialize_equals_python_and_pyld(document: dict[str, Any], swaps: list[str]) -> None:
    """The compiled template of each issued credential, refilled with edge strings in its text
    slots: C, Python and pyld write the same N-Quads."""
    fast = fastcanon.FastCanonicalizer(direct_first=False)
    survey = fast.survey(document)
    assert survey is not None
    template = fast._template(
        document, survey.key, survey.values, survey.schemes, fast._cache_for(LOADER)[0], LOADER
    )
    if template is None or template.compiled is None:
        return
    values = list(survey.values)
    rng = random.Random(len(values))  # noqa: S311 - test data
    text_slots = [i for i, scheme in enumerate(survey.schemes) if scheme is None]
    for swap in swaps:
        if text_slots and fastcanon._IRI.match(swap) is None and not swap.startswith("@") and swap:
            values[rng.choice(text_slots)] = swap
    ours = rdfc.serialize(template.compiled, values)
    assert ours == rdfc._serialize_py(template.compiled, values)
    assert rdfc.serialize(template.compiled, values) == ours  # again, from the hashes it kept
    if ours is not None and not canon.BAD_CONTROL.search("".join(values)):
        assert ours == canon.canonize_dataset(fastcanon._fill(template, values))


def test_an_iri_ending_in_a_newline_is_written_as_pyld_writes_it() -> None:
    """``$`` in the IRI rule matches before a final newline, so such a value is an IRI slot; N-Quads
    leaves IRIs unescaped, and so must the template (it once escaped every value alike)."""
    rng = random.Random(5)  # noqa: S311 - test data
    document = random_credential(rng, DID)
    document["credentialSubject"]["id"] = "https://learner.example/1"
    fast = fastcanon.FastCanonicalizer(direct_first=False)
    fast(document, LOADER)
    document["credentialSubject"]["id"] = "https://learner.example/2\n"
    document["name"] = 'a "quoted" name'
    reference = canon.rdfc(document, LOADER)
    assert "<https://learner.example/2\n>" in reference
    assert fast(document, LOADER) == reference
    assert fast.stats["template"] == 2


@native
def test_base58_limits_are_the_twins_limits() -> None:
    assert speedups is not None
    longest = bytes(1) + bytes(range(256)) * 15 + bytes(255)  # 4,096 bytes
    text = speedups.b58encode(longest)
    assert text == _b58encode_py(longest)
    assert speedups.b58decode(text) == _b58decode_py(text) == longest
    for encode in (speedups.b58encode, _b58encode_py):
        with pytest.raises(ValueError, match="too long"):
            encode(longest + b"x")
    for decode in (speedups.b58decode, _b58decode_py):
        with pytest.raises(ValueError, match="too long"):
            decode("2" * 6000)


@native
def test_copy_json_refuses_a_dict_changed_while_copied() -> None:
    """Deep-copying a value that is not JSON runs Python code; if that code changes the dict being
    copied, both versions refuse (the C one once read a freed key)."""
    assert speedups is not None

    class Clears:
        def __deepcopy__(self, memo: Any) -> Clears:
            parent.clear()
            return self

    for copy in (speedups.copy_json, _copy_json_py):
        parent = {"".join(["k", "ey"]): Clears(), "b": 2}
        with pytest.raises(RuntimeError, match="changed size"):
            copy(parent)


@native
def test_serialize_refuses_what_describe_never_gives() -> None:
    assert speedups is not None

    class Text(str):
        __slots__ = ()

    with pytest.raises(TypeError, match="values must be str"):
        speedups.serialize((), (("a", 0, "\n"),), (), 0, (), [Text("x")], {})
    with pytest.raises(ValueError, match="named out of range"):
        speedups.serialize((), (("a", 0, "\n"),), (), 5, (), ["x"], {})
    with pytest.raises(TypeError, match="each spec is a tuple"):
        speedups.serialize(((("f",), (["a", 0],)),), (), (), 0, (), ["x"], {})
    assert speedups.serialize((), (('<a> <b> "', 0, '" .\n'),), (), 0, (0,), ['q"'], {}) == (
        '<a> <b> "q\\"" .\n'
    )
