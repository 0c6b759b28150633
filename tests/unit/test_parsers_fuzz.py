"""Issue 12, acceptance 1: the parsers that read what strangers send, fuzzed with hypothesis.

Each one either returns or raises its own documented error (``VcError`` in ``vc``, ``DomainError``
for the CSV import): no other exception, whatever the bytes. The seeds in
``tests/fixtures/fuzz/`` (a credential, a baked PNG and SVG, a PDF with the credential attached,
a status list, a bulk CSV) are run first, then mutations of them and random input. Bounded:
``derandomize`` keeps the cases the same on every run."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from microcred.domain.catalog import DefinitionData, parse_definition
from microcred.domain.errors import DomainError
from microcred.services.bulk import parse_csv
from microcred.vc import baking, pdf, status_list
from microcred.vc.did_web import did_web_to_url
from microcred.vc.errors import VcError
from microcred.vc.jsonsafe import parse_json
from microcred.vc.multikey import decode_public_multibase, multibase_decode, parse_did_key

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "fuzz"
FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def seed(name: str) -> bytes:
    return (SEEDS / name).read_bytes()


def mutated(name: str) -> st.SearchStrategy[bytes]:
    """The seed with bytes flipped, cut or spliced in."""
    data = seed(name)

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            where = draw(st.integers(0, max(0, len(out) - 1)))
            action = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
            if action == "flip" and out:
                out[where] ^= draw(st.integers(1, 255))
            elif action == "cut":
                del out[where : where + draw(st.integers(1, 64))]
            elif action == "insert":
                out[where:where] = draw(st.binary(min_size=1, max_size=64))
            else:
                del out[where:]
        return bytes(out)

    return build()


def any_bytes(name: str) -> st.SearchStrategy[bytes]:
    return st.one_of(mutated(name), st.binary(max_size=4096))


@FUZZ
@given(any_bytes("credential.json"))
@example(seed("credential.json"))
@example(b"[" * 10_000)
@example(b'{"a": ' + b"9" * 5000 + b"}")
@example(b'{"a": 1, "a": 2}')
def test_json_with_limits(data):
    with contextlib.suppress(VcError):
        parse_json(data)


@FUZZ
@given(
    st.one_of(st.text(max_size=200), st.just("z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"))
)
def test_multibase_and_did_key(text):
    for parse in (multibase_decode, decode_public_multibase):
        with contextlib.suppress(VcError):
            parse(text)
    with contextlib.suppress(VcError):
        parse_did_key("did:key:" + text)


@FUZZ
@given(
    st.one_of(st.text(max_size=200), st.from_regex(r"did:web:[a-z0-9.%:-]{0,60}", fullmatch=True))
)
@example("did:web:example.org:user%3A1")
@example("did:web:" + "%" * 40)
def test_did_web(text):
    try:
        url = did_web_to_url(text)
    except VcError:
        return
    assert url.startswith("https://")


@FUZZ
@given(
    st.one_of(mutated("status-list.txt").map(lambda b: b.decode("latin-1")), st.text(max_size=300))
)
@example(seed("status-list.txt").decode())
@example("u" + "A" * 10)
def test_status_list_decoding(text):
    try:
        bits = status_list.decode(text)
    except VcError:
        return
    assert isinstance(bits, bytes)


@FUZZ
@given(any_bytes("baked.png"))
@example(seed("baked.png"))
def test_png_extraction(data):
    with contextlib.suppress(VcError):
        baking.extract(data)


@FUZZ
@given(any_bytes("baked.svg"))
@example(seed("baked.svg"))
@example(b'<!DOCTYPE x [<!ENTITY a "a">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>')
def test_svg_extraction(data):
    with contextlib.suppress(VcError):
        baking.extract(data)


@settings(FUZZ, max_examples=120)
@given(any_bytes("attached.pdf"))
@example(seed("attached.pdf"))
def test_pdf_extraction(data):
    with contextlib.suppress(VcError):
        pdf.extract_pdf(data)


@FUZZ
@given(any_bytes("bulk.csv"))
@example(seed("bulk.csv"))
@example(b"name,email\n" + b'"' * 1000)
@example(b"\xef\xbb\xbfname,email\r\nA,a@example.org\r\n")
def test_csv_import(data):
    definition = _definition()
    with contextlib.suppress(DomainError):
        parse_csv(data, definition, 1, "family:v1")


def _definition() -> DefinitionData:
    from tests.platform.conftest import DEFINITION as RAW

    return parse_definition(RAW)


def test_the_seeds_themselves_parse():
    """The fuzzing starts from inputs the parsers accept, so mutations reach their depths."""
    credential = parse_json(seed("credential.json"))
    for name in ("baked.png", "baked.svg"):
        assert parse_json(baking.extract(seed(name)).encode()) == credential
    assert parse_json(pdf.extract_pdf(seed("attached.pdf")).encode()) == credential
    bits = status_list.decode(seed("status-list.txt").decode())
    assert status_list.bit(bits, 77)
    assert not status_list.bit(bits, 78)
    good, problems, total = parse_csv(seed("bulk.csv"), _definition(), 1, "family:v1")
    assert (len(good), problems, total) == (2, [], 2)
