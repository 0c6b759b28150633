"""A provider's uploaded artwork (badge images, logos), made safe to show and to bake.

PNG is decoded and encoded again: only the pixels survive (no text chunks, no trailing data, no
polyglot), within a size limit. SVG is parsed without DTDs or entities (defusedxml) and rebuilt
from an allow-list of SVG elements and attributes: scripts, event handlers, ``foreignObject``,
styles sheets and every reference outside the document (``href``, ``url(...)`` other than
``#id``, images other than embedded PNG/JPEG) are left out. What is refused raises
``ArtworkError`` naming the reason.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from PIL import Image, UnidentifiedImageError

from microcred.i18n import _

MAX_BYTES = 512 * 1024
MAX_SIDE = 2048
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

_ELEMENTS = {
    "svg", "g", "defs", "symbol", "use", "title", "desc", "path", "rect", "circle", "ellipse",
    "line", "polyline", "polygon", "text", "tspan", "textPath", "linearGradient",
    "radialGradient", "stop", "clipPath", "mask", "pattern", "image", "marker", "filter",
    "feGaussianBlur", "feOffset", "feBlend", "feColorMatrix", "feFlood", "feComposite",
    "feMerge", "feMergeNode", "feDropShadow",
}  # fmt: skip
_ATTRIBUTES = {
    "id", "class", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy",
    "width", "height", "viewBox", "preserveAspectRatio", "d", "points", "transform",
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
    "stroke-linecap", "stroke-linejoin", "stroke-dasharray", "stroke-dashoffset",
    "stroke-miterlimit", "opacity", "clip-path", "clip-rule", "mask", "filter", "offset",
    "stop-color", "stop-opacity", "gradientUnits", "gradientTransform", "spreadMethod",
    "patternUnits", "patternContentUnits", "patternTransform", "clipPathUnits", "maskUnits",
    "maskContentUnits", "font-family", "font-size", "font-weight", "font-style",
    "text-anchor", "dominant-baseline", "letter-spacing", "dx", "dy", "rotate",
    "textLength", "lengthAdjust", "startOffset", "visibility", "display", "color",
    "style", "href", "role", "aria-label", "aria-hidden", "version", "markerWidth",
    "markerHeight", "refX", "refY", "orient", "markerUnits", "stdDeviation", "in", "in2",
    "result", "mode", "type", "values", "operator", "k1", "k2", "k3", "k4", "flood-color",
    "flood-opacity", "filterUnits", "primitiveUnits", "marker-start", "marker-mid",
    "marker-end", "vector-effect", "shape-rendering", "xml:space",
}  # fmt: skip
_LOCAL_URL = re.compile(r"url\(\s*(['\"]?)#[\w.:-]+\1\s*\)", re.IGNORECASE)
# what is left of a value once its url(#id) are taken out must name no resource at all
_REACHING = ("url", "image", "src(", "element(", "cross-fade", "javascript:", "expression(",
             "@import", "//")  # fmt: skip
MAX_DEPTH = 64
_INERT = {"id", "class", "role", "aria-label", "aria-hidden", "xml:space", "version"}  # no CSS
_EMBEDDED_IMAGE = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]+\Z")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}\Z")


class ArtworkError(ValueError):
    """Artwork that cannot be used, with the reason for the person who uploaded it."""


@dataclass(frozen=True, slots=True)
class Artwork:
    data: bytes
    media_type: str  # image/png or image/svg+xml


def colour(value: str) -> str | None:
    """``#rrggbb`` or nothing: a brand colour goes into CSS, so nothing else gets through."""
    value = value.strip()
    return value.lower() if _COLOUR.match(value) else None


def sanitise(data: bytes) -> Artwork:
    """Clean PNG or SVG artwork, or ``ArtworkError``."""
    if not data:
        raise ArtworkError(_("the file is empty"))
    if len(data) > MAX_BYTES:
        raise ArtworkError(_("the file is larger than %(size)d KB") % {"size": MAX_BYTES // 1024})
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Artwork(_png(data), "image/png")
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--")) and b"<svg" in data[:4096].lower():
        return Artwork(_svg(data), "image/svg+xml")
    raise ArtworkError(_("use a PNG or an SVG image"))


def _png(data: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise ArtworkError(_("use a PNG or an SVG image"))
            if max(image.size) > MAX_SIDE:
                raise ArtworkError(
                    _("the image is larger than %(side)d pixels on a side") % {"side": MAX_SIDE}
                )
            image.load()
            pixels = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ArtworkError(_("the PNG image cannot be read")) from exc
    out = io.BytesIO()
    pixels.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _svg(data: bytes) -> bytes:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True)
    except (DefusedXmlException, ET.ParseError, ValueError) as exc:
        raise ArtworkError(
            _("the SVG image cannot be read (or declares a DTD or entities)")
        ) from exc
    if root.tag != f"{{{SVG_NS}}}svg":
        raise ArtworkError(_("the SVG image has no <svg> root in the SVG namespace"))
    ET.register_namespace("", SVG_NS)
    clean = _copy(root, 0)
    assert clean is not None
    if "viewBox" not in clean.attrib and not {"width", "height"} <= set(clean.attrib):
        raise ArtworkError(_("the SVG image has neither a viewBox nor a width and height"))
    written: bytes = ET.tostring(clean, encoding="utf-8", xml_declaration=False)
    return written


def _copy(element: ET.Element, depth: int) -> ET.Element | None:
    """The element with its allowed attributes and children, or None if it is not allowed."""
    if depth > MAX_DEPTH:
        raise ArtworkError(_("the SVG image is nested too deeply"))
    if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{SVG_NS}}}"):
        return None
    name = element.tag.split("}", 1)[1]
    if name not in _ELEMENTS:
        return None
    copy = ET.Element(element.tag)
    for key, value in element.attrib.items():
        local = _local(key)
        if local is None or local not in _ATTRIBUTES:
            continue
        if local == "href":
            target = value.strip()
            if target.startswith("#") or (name == "image" and _EMBEDDED_IMAGE.match(target)):
                copy.set(local, target)
            continue
        if local == "style":
            value = _style(value)
        elif local not in _INERT and _outside(value):
            continue
        if value:
            copy.set(local, value)
    if name in ("image", "use") and "href" not in copy.attrib:
        return None  # a reference to anything outside the image: left out
    copy.text = element.text if name in ("text", "tspan", "textPath", "title", "desc") else None
    for child in element:
        kept = _copy(child, depth + 1)
        if kept is not None:
            kept.tail = child.tail if name in ("text", "tspan", "textPath") else None
            copy.append(kept)
    return copy


def _local(key: str) -> str | None:
    """An attribute's name without its namespace, if it is in one we keep (none, or xlink
    for ``href``, or xml for ``space``)."""
    if key.startswith(f"{{{XLINK_NS}}}"):
        local = key.split("}", 1)[1]
        return local if local == "href" else None
    if key == "{http://www.w3.org/XML/1998/namespace}space":
        return "xml:space"
    if key.startswith("{"):
        return None
    return key


def _outside(value: str) -> bool:
    """A value that could reach outside the document: anything but ``url(#id)`` that names a
    resource (``url(http:...)``, unclosed or escaped ones, ``image-set(...)``, ``javascript:``)."""
    if "\\" in value:  # a CSS escape can spell anything
        return True
    lowered = _LOCAL_URL.sub(" ", value).lower()
    return any(word in lowered for word in _REACHING)


def _style(value: str) -> str:
    """The declarations of a ``style`` attribute that stay inside the document."""
    kept = []
    for declaration in value.split(";"):
        if ":" not in declaration or "\\" in declaration or _outside(declaration):
            continue
        kept.append(declaration.strip())
    return "; ".join(d for d in kept if d)
