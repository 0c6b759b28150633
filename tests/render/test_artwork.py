"""Uploaded artwork: PNGs are re-encoded to their pixels, SVGs rebuilt from an allow-list, so a
script or a reference outside the image never reaches a page, a badge or a certificate."""

from __future__ import annotations

import io

import pytest
from defusedxml import ElementTree
from PIL import Image

from microcred.render.artwork import MAX_BYTES, ArtworkError, colour, sanitise

HOSTILE = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" viewBox="0 0 100 100"
     onload="alert(1)" inkscape:version="1.3">
  <script>alert(document.cookie)</script>
  <style>@import url(https://evil.example/x.css);</style>
  <title>Safe Lifting</title>
  <defs><linearGradient id="g"><stop offset="0" stop-color="#1f5fbf"/></linearGradient></defs>
  <circle cx="50" cy="50" r="40" fill="url(#g)" onclick="steal()"
          style="stroke: #fff; background: url(https://evil.example/track.png); stroke-width: 2"/>
  <rect width="10" height="10" fill="url(https://evil.example/paint)"/>
  <use href="https://evil.example/sprite.svg#icon"/>
  <use xlink:href="#g"/>
  <image href="https://evil.example/pixel.png" width="1" height="1"/>
  <image href="javascript:alert(1)" width="1" height="1"/>
  <a href="javascript:alert(1)"><text x="1" y="1">click</text></a>
  <foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>
  <text x="50" y="55" text-anchor="middle">SL<tspan dy="2">1</tspan></text>
</svg>"""


def test_an_svg_keeps_its_drawing_and_loses_scripts_and_outside_references() -> None:
    clean = sanitise(HOSTILE)
    assert clean.media_type == "image/svg+xml"
    text = clean.data.decode()
    for gone in (
        "script",
        "alert",
        "onload",
        "onclick",
        "evil.example",
        "@import",
        "javascript",
        "foreignObject",
        "inkscape",
        "<image",
        "click",
    ):
        assert gone not in text, gone
    tree = ElementTree.fromstring(clean.data)  # still a well-formed SVG
    names = [e.tag.split("}")[1] for e in tree.iter()]
    assert names.count("circle") == 1
    assert names.count("use") == 1
    assert "linearGradient" in names
    circle = next(e for e in tree.iter() if e.tag.endswith("circle"))
    assert circle.get("fill") == "url(#g)"
    assert circle.get("style") == "stroke: #fff; stroke-width: 2"
    rect = next(e for e in tree.iter() if e.tag.endswith("rect"))
    assert rect.get("fill") is None
    assert "SL" in text
    assert ">1</" in text
    assert "Safe Lifting" in text


def test_an_embedded_png_image_stays() -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">'
        b'<image width="1" height="1" href="data:image/png;base64,iVBORw0KGgo="/></svg>'
    )
    assert b"data:image/png;base64,iVBORw0KGgo=" in sanitise(svg).data


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"GIF89a....", "PNG or an SVG"),
        (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
            "DTD",
        ),
        (b"<svg><circle/></svg>", "SVG namespace"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><circle/></svg>', "viewBox"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'><circle>", "cannot be read"),
        (b"\x89PNG\r\n\x1a\nnot really", "cannot be read"),
        (b"<svg " + b" " * MAX_BYTES + b"/>", "larger than"),
    ],
)
def test_what_cannot_be_used_is_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ArtworkError, match=reason):
        sanitise(data)


def test_a_png_is_reduced_to_its_pixels() -> None:
    image = Image.new("RGB", (64, 32), (31, 95, 191))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=_text_chunk("Comment", "<script>x</script>"))
    clean = sanitise(out.getvalue() + b"<html>trailing polyglot</html>")
    assert clean.media_type == "image/png"
    assert b"script" not in clean.data
    assert b"polyglot" not in clean.data
    with Image.open(io.BytesIO(clean.data)) as back:
        assert back.size == (64, 32)
        assert back.getpixel((3, 3))[:3] == (31, 95, 191)


def test_a_huge_png_is_refused() -> None:
    out = io.BytesIO()
    Image.new("1", (4000, 10)).save(out, format="PNG")
    with pytest.raises(ArtworkError, match="2048 pixels"):
        sanitise(out.getvalue())


def test_a_brand_colour_is_a_hex_colour_or_nothing() -> None:
    assert colour(" #1F5FBF ") == "#1f5fbf"
    for bad in ("red", "#fff", "#1f5fbf;background:url(http://x)", "expression(1)", ""):
        assert colour(bad) is None, bad


def _text_chunk(key: str, value: str):  # type: ignore[no-untyped-def]
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info


@pytest.mark.parametrize(
    "value",
    [
        r"\75rl(https://evil.example/x)",  # a CSS escape spelling url(
        "url(https://evil.example/a",  # never closed: CSS closes it
        "image-set('https://evil.example/x.png' 1x)",  # a load without url(
        "URL( 'https://evil.example/y' )",
        "url(//evil.example/z)",
    ],
)
def test_no_spelling_of_an_outside_reference_gets_through(value: str) -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
        f'<rect id="imageFrame" class="url-ish" width="5" height="5" fill="{value}" '
        f'mask="{value}" style="stroke: {value}; fill: #fff"/></svg>'
    ).encode()
    clean = sanitise(svg).data.decode()
    assert "evil" not in clean
    assert 'id="imageFrame"' in clean  # names are not references
    assert "fill: #fff" in clean


def test_a_deeply_nested_svg_is_refused_not_a_crash() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">' + b"<g>" * 5000
    svg += b"</g>" * 5000 + b"</svg>"
    with pytest.raises(ArtworkError, match="nested too deeply"):
        sanitise(svg[: MAX_BYTES - 1] if len(svg) >= MAX_BYTES else svg)
