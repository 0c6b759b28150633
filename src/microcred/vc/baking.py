"""Open Badges 3.0 baking: a signed credential inside a PNG or SVG badge image.

Spec: Open Badges 3.0, section 5.3 "Badge baking" (https://www.imsglobal.org/spec/ob/v3p0/#baking):
- PNG: an ``iTXt`` chunk with keyword ``openbadgecredential`` whose text is the credential (JSON,
  UTF-8, uncompressed); a reader also accepts the compressed form.
- SVG: an ``<openbadges:credential>`` element in the ``https://purl.imsglobal.org/ob/v3p0``
  namespace, directly under the root ``<svg>``, holding the credential (in CDATA when baked here).

Extraction treats the image as untrusted: chunk CRCs are checked, sizes capped, XML parsed with
defusedxml. A ``<!DOCTYPE svg PUBLIC …>`` line, as Inkscape, Illustrator and 1EdTech's validator
write it, is accepted and never fetched; an internal subset (``<!DOCTYPE svg [ … ]>``), entity
declarations (billion laughs) and external entities are refused.
"""

from __future__ import annotations

import json
import struct
import zlib
from pyexpat import XML_PARAM_ENTITY_PARSING_NEVER
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden

from microcred.i18n import N_
from microcred.vc.errors import DocumentError
from microcred.vc.message import Message

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"openbadgecredential"
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_TEXT_BYTES = 2 * 1024 * 1024


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    if not png.startswith(PNG_SIGNATURE):
        raise DocumentError(Message(N_("not a PNG image")), "bake.not_png")
    if len(png) > MAX_IMAGE_BYTES:
        raise DocumentError(Message(N_("the image is too large")), "bake.too_large")
    chunks = []
    offset = len(PNG_SIGNATURE)
    while offset < len(png):
        if offset + 8 > len(png):
            raise DocumentError(Message(N_("the PNG is truncated")), "bake.png_corrupt")
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        crc_bytes = png[offset + 8 + length : offset + 12 + length]
        if len(data) != length or len(crc_bytes) != 4:
            raise DocumentError(Message(N_("the PNG is truncated")), "bake.png_corrupt")
        if struct.unpack(">I", crc_bytes)[0] != zlib.crc32(kind + data) & 0xFFFFFFFF:
            raise DocumentError(
                Message(N_("PNG chunk %(chunk)s fails its CRC check"), chunk=repr(kind)),
                "bake.png_corrupt",
            )
        chunks.append((kind, data))
        offset += 12 + length
        if kind == b"IEND":
            break
    return chunks


def bake_png(png: bytes, credential: str | dict[str, Any]) -> bytes:
    """``png`` with the credential baked in (an existing baked credential is replaced)."""
    text = credential if isinstance(credential, str) else json.dumps(credential, ensure_ascii=False)
    chunks = [c for c in _chunks(png) if not (c[0] == b"iTXt" and c[1].startswith(KEYWORD + b"\0"))]
    itxt = KEYWORD + b"\0" + b"\0\0" + b"\0" + b"\0" + text.encode("utf-8")
    out = [PNG_SIGNATURE]
    for kind, data in chunks:
        out.append(_chunk(kind, data))
        if kind == b"IHDR":
            out.append(_chunk(b"iTXt", itxt))
    return b"".join(out)


def extract_png(png: bytes) -> str:
    """The credential text baked into a PNG."""
    for kind, data in _chunks(png):
        if kind != b"iTXt" or not data.startswith(KEYWORD + b"\0"):
            continue
        rest = data[len(KEYWORD) + 1 :]
        if len(rest) < 2:
            raise DocumentError(Message(N_("malformed iTXt chunk")), "bake.png_corrupt")
        compressed, _method = rest[0], rest[1]
        rest = rest[2:]
        _language, _, rest = rest.partition(b"\0")
        _translated, _, text = rest.partition(b"\0")
        if compressed:
            inflater = zlib.decompressobj()
            text = inflater.decompress(text, MAX_TEXT_BYTES + 1)
            if len(text) > MAX_TEXT_BYTES:
                raise DocumentError(
                    Message(N_("the baked credential is too large")), "bake.too_large"
                )
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DocumentError(
                Message(N_("the baked credential is not UTF-8")), "bake.png_corrupt"
            ) from exc
    raise DocumentError(
        Message(N_("no Open Badges credential is baked into this PNG")), "bake.none"
    )


def bake_svg(svg: str, credential: str | dict[str, Any]) -> str:
    """``svg`` with an ``<openbadges:credential>`` element right after the root's opening tag."""
    text = credential if isinstance(credential, str) else json.dumps(credential, ensure_ascii=False)
    if "]]>" in text:
        raise DocumentError("the credential cannot be put in CDATA", "bake.svg_invalid")
    start = svg.find("<svg")
    end = svg.find(">", start)
    if start < 0 or end < 0:
        raise DocumentError(Message(N_("not an SVG image")), "bake.not_svg")
    opening = svg[start:end]
    self_closing = opening.endswith("/")
    opening = opening.rstrip("/").rstrip()
    if "xmlns:openbadges=" not in opening:
        opening += f' xmlns:openbadges="{OB_NAMESPACE}"'
    element = f"<openbadges:credential><![CDATA[{text}]]></openbadges:credential>"
    if self_closing:  # <svg .../> becomes <svg ...>ELEMENT</svg>
        return svg[:start] + opening + ">" + element + "</svg>" + svg[end + 1 :]
    return svg[:start] + opening + ">" + element + svg[end + 1 :]


def _parse_svg(data: bytes) -> Any:
    """The root element; a plain DOCTYPE is accepted, DTD subsets and entities are refused."""
    parser = SafeET.DefusedXMLParser(forbid_dtd=False, forbid_entities=True, forbid_external=True)
    expat = parser.parser
    expat.SetParamEntityParsing(XML_PARAM_ENTITY_PARSING_NEVER)  # the DTD is never read
    subset: list[bool] = []

    def start_doctype(_name: str, _sysid: str, _pubid: str, has_internal_subset: int) -> None:
        subset.append(bool(has_internal_subset))

    def end_doctype() -> None:
        if any(subset):
            raise DocumentError(
                Message(
                    N_(
                        "the SVG's DOCTYPE has an internal subset ([...]); only a plain DOCTYPE "
                        "is accepted"
                    )
                ),
                "bake.svg_dtd_subset",
            )

    expat.StartDoctypeDeclHandler = start_doctype
    expat.EndDoctypeDeclHandler = end_doctype
    try:
        parser.feed(data)
        return parser.close()
    except EntitiesForbidden as exc:
        if exc.sysid:
            message = Message(
                N_(
                    "the SVG declares the XML entity %(entity)s (external: %(source)s); entities "
                    "are refused (they can expand without bound or read files) and never loaded"
                ),
                entity=repr(exc.name),
                source=str(exc.sysid),
            )
        else:
            message = Message(
                N_(
                    "the SVG declares the XML entity %(entity)s; entities are refused (they can "
                    "expand without bound or read files) and never loaded"
                ),
                entity=repr(exc.name),
            )
        raise DocumentError(message, "bake.svg_entities") from exc
    except ExternalReferenceForbidden as exc:
        raise DocumentError(
            Message(
                N_("the SVG refers to an external entity (%(source)s); it is not loaded"),
                source=str(exc.sysid),
            ),
            "bake.svg_external",
        ) from exc
    except (SafeET.ParseError, DefusedXmlException, ValueError, LookupError) as exc:
        # LookupError: an XML declaration naming an encoding Python does not know
        raise DocumentError(
            Message(N_("not a well-formed, safe SVG: %(reason)s"), reason=str(exc)),
            "bake.not_svg",
        ) from exc


def extract_svg(svg: bytes | str) -> str:
    data = svg.encode("utf-8") if isinstance(svg, str) else svg
    if len(data) > MAX_IMAGE_BYTES:
        raise DocumentError(Message(N_("the image is too large")), "bake.too_large")
    root = _parse_svg(data)
    if root.tag != "{http://www.w3.org/2000/svg}svg":
        raise DocumentError(Message(N_("not an SVG image")), "bake.not_svg")
    for child in root:
        if child.tag == f"{{{OB_NAMESPACE}}}credential":
            text = (child.text or "").strip()
            if text:
                return text
    raise DocumentError(
        Message(N_("no Open Badges credential is baked into this SVG")), "bake.none"
    )


def extract(data: bytes) -> str:
    """The credential text in a baked PNG or SVG, or the data itself when it is JSON."""
    head = data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]  # after a UTF-8 byte order mark
    if data.startswith(PNG_SIGNATURE):
        return extract_png(data)
    if head == b"<":
        return extract_svg(data)
    if head in (b"{", b"["):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(Message(N_("the document is not UTF-8")), "json.not_utf8") from exc
    raise DocumentError(Message(N_("not JSON, a baked PNG or a baked SVG")), "bake.unknown_format")
