"""The paper certificate: an accessible, tagged PDF (PDF/UA-1) with every EU element, the
outcomes, the provider and its accreditation, a QR code opening the verification page, and the
signed credential attached inside, so the PDF's file verifies by itself (ADR 0030).

``certificate.html`` is rendered by Jinja2 (autoescaped, text through gettext) and laid out by
WeasyPrint, which tags the PDF from the HTML (headings, lists, a table of the EU elements, the
images as figures with their alternative text) and takes ``/Lang`` from ``<html lang>``.
Everything in the credential is untrusted text: it is escaped, and the URL fetcher given to
WeasyPrint answers only the ``data:`` URIs made here (the QR code and the provider's logo), so
no markup or CSS in a credential can make the renderer read a file or the network.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
import segno
from pypdf import PdfReader

from microcred import i18n
from microcred.domain.award import read_eu_elements
from microcred.domain.catalog import MANDATORY_ELEMENTS, OPTIONAL_ELEMENTS

ATTACHMENT_NAME = "credential.json"
PDF_VARIANT = "pdf/ua-1"
TEMPLATES = Path(__file__).parent
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_COLOUR = "#3d4752"  # a neutral slate for the rules when the provider has no colour
MAX_LOGO_BYTES = 1024 * 1024
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
# a PNG or JPEG image embedded in an SVG logo (what render.artwork keeps of <image href>)
_EMBEDDED = re.compile(rb"""href\s*=\s*["'](data:image/(png|jpeg);base64,([A-Za-z0-9+/]+=*))["']""")
_DATES = ("date_of_issue",)


@dataclass(frozen=True)
class Branding:
    """How a provider's certificates look. ``logo``: PNG or SVG bytes the caller has already
    sanitised (anything else is left out); ``primary_colour``: ``#rrggbb`` for the rules, any
    other value ignored. A mapping with the same keys does as well."""

    name: str = ""
    logo: bytes | None = None
    primary_colour: str | None = None


def qr_png(data: str, scale: int = 6) -> bytes:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def brand_colour(value: object) -> str | None:
    """``value`` when it is exactly ``#rrggbb`` (lower-cased), else None."""
    if isinstance(value, str) and _COLOUR.fullmatch(value):
        return value.lower()
    return None


def certificate_pdf(
    credential_text: str,
    verify_url: str,
    accreditations: Sequence[Mapping[str, Any]] | None = None,
    *,
    branding: Branding | Mapping[str, Any] | None = None,
    language: str | None = None,
    shown: Mapping[str, Any] | None = None,
) -> bytes:
    """The certificate of ``credential_text`` (attached byte for byte as ``credential.json``).

    ``accreditations``: the provider's current ones (``framework``, ``qa_body``,
    ``valid_until``). ``language``: of the text and the PDF's ``/Lang`` (default: the current
    language; one without a catalogue falls back to English, and ``/Lang`` says so).
    ``shown``: the achievement's ``name`` and ``outcomes`` (by result description id) in that
    language, when its issuer gives it in it (services/catalogue.in_language).
    """
    brand = _branding(branding)
    with i18n.use_language(i18n.current() if language is None else _primary(language)):
        lang = i18n.current()
        html, images = _html(
            credential_text, verify_url, accreditations or [], brand, lang, shown or {}
        )
        description = i18n._("The signed credential")
    # imported here: WeasyPrint's import (cffi, Pango) takes half a second, which only a process
    # that makes a certificate should pay (the web app imports this module at start)
    from weasyprint import HTML, Attachment

    attachment = Attachment(
        string=credential_text.encode("utf-8"),
        name=ATTACHMENT_NAME,
        description=description,
    )
    fetcher = weasyprint_fetcher(OwnDataOnly(images))
    return bytes(
        HTML(string=html, url_fetcher=fetcher).write_pdf(
            pdf_variant=PDF_VARIANT, attachments=[attachment]
        )
    )


def attached_credential(pdf: bytes) -> str:
    """The signed credential attached to a certificate PDF."""
    reader = PdfReader(io.BytesIO(pdf))
    attachments = reader.attachments
    if ATTACHMENT_NAME not in attachments:
        raise ValueError("no credential is attached to this PDF")
    return attachments[ATTACHMENT_NAME][0].decode("utf-8")


class OwnDataOnly:
    """What a certificate may load: the ``data:`` URIs it made or decoded itself (``images``: URI
    to media type and bytes). Every other URL is refused, whatever its scheme (``data:`` too)."""

    def __init__(self, images: Mapping[str, tuple[str, bytes]]) -> None:
        self._images = dict(images)
        self.refused: list[str] = []

    def answer(self, url: str) -> tuple[str, bytes]:
        found = self._images.get(url)
        if found is None:
            self.refused.append(url[:200])
            raise ValueError("a certificate fetches nothing but its own images")
        return found


def weasyprint_fetcher(policy: OwnDataOnly) -> Any:
    """WeasyPrint's URL fetcher answering by ``policy`` alone: nothing is ever opened."""
    return _fetcher_class()(policy)


@functools.cache
def _fetcher_class() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class Fetcher(URLFetcher):  # type: ignore[misc]
        def __init__(self, policy: OwnDataOnly) -> None:
            super().__init__(allowed_protocols=("data",), allow_redirects=False)
            self.policy = policy

        def fetch(self, url: str, headers: Any = None) -> Any:
            media_type, body = self.policy.answer(url)
            return URLFetcherResponse(url, body, {"Content-Type": media_type})

    return Fetcher


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    i18n.install(env)
    return env


def _primary(language: str) -> str:
    """``fr`` for ``fr``, ``FR`` or ``fr-BE``; a language the platform lacks is English."""
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in i18n.LANGUAGES else i18n.DEFAULT


def _branding(branding: Branding | Mapping[str, Any] | None) -> Branding:
    if branding is None:
        return Branding()
    if isinstance(branding, Mapping):
        name, logo, colour = (
            branding.get("name"),
            branding.get("logo"),
            branding.get("primary_colour"),
        )
    else:
        name, logo, colour = branding.name, branding.logo, branding.primary_colour
    return Branding(
        name=name.strip() if isinstance(name, str) else "",
        logo=bytes(logo) if isinstance(logo, bytes | bytearray) else None,
        primary_colour=brand_colour(colour),
    )


def _logo_type(logo: bytes | None) -> str | None:
    if not logo or len(logo) > MAX_LOGO_BYTES:
        return None
    if logo.startswith(_PNG):
        return "image/png"
    head = logo[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and b"<svg" in logo[:4096].lower():
        return "image/svg+xml"
    return None


def _embedded(svg: bytes) -> dict[str, tuple[str, bytes]]:
    """The PNG and JPEG images written inside an SVG logo as ``data:`` URIs, decoded here, so
    that the fetcher can answer them as it answers the certificate's own images."""
    found: dict[str, tuple[str, bytes]] = {}
    for match in _EMBEDDED.finditer(svg):
        try:
            body = base64.b64decode(match[3], validate=True)
        except ValueError:
            continue
        if body.startswith(_PNG if match[2] == b"png" else _JPEG):
            found[match[1].decode("ascii")] = (f"image/{match[2].decode('ascii')}", body)
    return found


def _data_uri(media_type: str, body: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(body).decode('ascii')}"


def _first(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), None)
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _day(value: Any) -> str:
    """An ISO date or date-time as a date in the current language (as given if it is not one)."""
    text = _text(value)
    try:
        moment: date = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = date.fromisoformat(text)
        except ValueError:
            return text
    return i18n.format_date(moment)


def _html(
    credential_text: str,
    verify_url: str,
    accreditations: Sequence[Mapping[str, Any]],
    brand: Branding,
    lang: str,
    shown: Mapping[str, Any],
) -> tuple[str, dict[str, tuple[str, bytes]]]:
    _ = i18n._
    credential = json.loads(credential_text)
    if not isinstance(credential, dict):
        raise ValueError("a credential is a JSON object")
    found = read_eu_elements(credential)
    subject = _first(credential.get("credentialSubject"))
    achievement = _first(subject.get("achievement"))
    issuer = credential.get("issuer")
    issuer_name = _text(issuer.get("name")) if isinstance(issuer, dict) else ""
    issuer_id = _text(issuer.get("id")) if isinstance(issuer, dict) else _text(issuer)
    title = _text(shown.get("name") or achievement.get("name")) or _("Micro-credential")
    translated = shown.get("outcomes") or {}

    elements = [
        (_(label), _day(found[key]) if key in _DATES else found[key])
        for key, label in {**MANDATORY_ELEMENTS, **OPTIONAL_ELEMENTS}.items()
        if key in found
    ]
    outcomes = [
        _text(translated.get(o.get("id")) or o.get("name"))
        for o in achievement.get("resultDescription") or []
        if isinstance(o, dict) and o.get("name")
    ]
    criteria = _first(achievement.get("criteria")).get("narrative")
    qr_image = qr_png(verify_url)
    qr = _data_uri("image/png", qr_image)
    images = {qr: ("image/png", qr_image)}
    logo = None
    if (logo_type := _logo_type(brand.logo)) and brand.logo is not None:
        logo = _data_uri(logo_type, brand.logo)
        images[logo] = (logo_type, brand.logo)
        if logo_type == "image/svg+xml":
            images.update(_embedded(brand.logo))
    html = (
        environment()
        .get_template("certificate.html")
        .render(
            lang=lang,
            title=title,
            learner=found.get("learner", ""),
            provider=issuer_name,
            brand=brand.name or issuer_name,
            issuer_id=issuer_id,
            colour=brand.primary_colour or DEFAULT_COLOUR,
            logo=logo,
            qr=qr,
            verify_url=verify_url,
            verify_link=verify_url.startswith(("https://", "http://")),
            elements=elements,
            outcomes=outcomes,
            criteria=[line for line in _text(criteria).splitlines() if line.strip()],
            accreditations=[
                {
                    "framework": _text(a.get("framework")),
                    "body": _text(a.get("qa_body")),
                    "until": _day(a.get("valid_until")),
                }
                for a in accreditations
            ],
            credential_id=_text(credential.get("id")),
            attachment=ATTACHMENT_NAME,
        )
    )
    return html, images
