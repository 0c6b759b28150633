"""The certificate is an accessible, tagged PDF (PDF/UA-1): a structure tree that holds every
page's content, the document's language, alternative text on its figures, the PDF/UA
identification; the signed credential attached still verifies; branding is applied only when it
is what it claims to be; the credential's text never makes the renderer fetch anything."""

from __future__ import annotations

import base64
import gettext
import io
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pikepdf
import pytest
from PIL import Image
from pypdf import PdfReader

from microcred import i18n
from microcred.render import certificate
from microcred.render.certificate import Branding, brand_colour, certificate_pdf
from microcred.vc.pdf import ATTACHMENT_NAME, extract_pdf
from microcred.vc.verify import verify
from tests.helpers import policy, signed, unsigned
from tests.unit.test_render import _credential as eu_credential

VERIFY_URL = "https://credentials.example.org/verify?url=https%3A%2F%2Fx.example%2Fc.json"
ACCREDITED = [{"qa_body": "QA Agency", "framework": "EQAVET", "valid_until": "2029-01-01"}]
QR_ALT = f"QR code: verify this credential at {VERIFY_URL}"
PAINTING = {"Tj", "TJ", "'", '"', "Do", "sh", "BI", "f", "F", "f*", "S", "s", "B", "B*", "b", "b*"}


@pytest.fixture(scope="module")
def text() -> str:
    return eu_credential()


@pytest.fixture(scope="module")
def pdf(text: str) -> bytes:
    return certificate_pdf(text, VERIFY_URL, ACCREDITED)


def _png(size: tuple[int, int] = (120, 40), colour: str = "#0a7c59") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _elements(node: Any) -> Iterator[pikepdf.Dictionary]:
    """Every structure element under ``node`` (depth first, in order)."""
    kids = node.get("/K")
    if kids is None:
        return
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") != "/OBJR" and "/S" in kid:
            yield kid
            yield from _elements(kid)


def _tagged_mcids(document: pikepdf.Pdf) -> dict[tuple[int, int], set[int]]:
    """Per page (by object id), the marked-content ids the structure tree points to."""
    found: dict[tuple[int, int], set[int]] = {}
    for element in _elements(document.Root.StructTreeRoot):
        kids = element.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
            if isinstance(kid, int):
                page = element.Pg
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                page, kid = kid.get("/Pg", element.Pg), int(kid.MCID)
            else:
                continue
            found.setdefault(page.objgen, set()).add(int(kid))
    return found


def _stream_mcids(page: pikepdf.Page) -> tuple[set[int], list[str]]:
    """The page's marked-content ids, and what it paints outside any marked content."""
    depth, mcids, untagged = 0, set(), []
    for operands, operator in pikepdf.parse_content_stream(page):
        name = str(operator)
        if name in ("BDC", "BMC"):
            depth += 1
            properties = operands[1] if name == "BDC" else None
            if isinstance(properties, pikepdf.Dictionary) and "/MCID" in properties:
                mcids.add(int(properties.MCID))
        elif name == "EMC":
            depth -= 1
        elif name in PAINTING and depth == 0:
            untagged.append(name)
    return mcids, untagged


def _figures(document: pikepdf.Pdf) -> list[str]:
    return [
        str(e.get("/Alt", "")) for e in _elements(document.Root.StructTreeRoot) if e.S == "/Figure"
    ]


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _colours(document: pikepdf.Pdf) -> set[tuple[float, ...]]:
    return {
        tuple(round(float(x), 3) for x in operands)
        for page in document.pages
        for operands, operator in pikepdf.parse_content_stream(page)
        if str(operator) in ("rg", "RG")
    }


def _images(document: pikepdf.Pdf) -> list[pikepdf.Object]:
    return [
        o
        for o in document.objects
        if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image"
    ]


def _rgb(colour: str) -> tuple[float, ...]:
    return tuple(round(int(colour[i : i + 2], 16) / 255, 3) for i in (1, 3, 5))


def _long() -> bytes:
    """A certificate over several pages: sixty outcomes and a long narrative."""
    document = unsigned()
    achievement = document["credentialSubject"]["achievement"]
    achievement["resultDescription"] = [
        {**achievement["resultDescription"][0], "name": f"Outcome number {n} " + "word " * 12}
        for n in range(60)
    ]
    achievement["criteria"]["narrative"] = "\n".join(f"Criterion {n}" for n in range(40))
    return certificate_pdf(json.dumps(document), VERIFY_URL)


@pytest.mark.parametrize("long", [False, True], ids=["one page", "several pages"])
def test_a_tagged_pdf_ua_document(pdf: bytes, long: bool):
    document = pikepdf.open(io.BytesIO(_long() if long else pdf))
    assert (len(document.pages) > 1) is long
    root = document.Root
    assert "/StructTreeRoot" in root
    assert bool(root.MarkInfo.Marked) is True
    assert str(root.Lang) == "en"
    assert bool(root.ViewerPreferences.DisplayDocTitle) is True
    with document.open_metadata() as meta:
        assert meta["pdfuaid:part"] == "1"
        assert meta["dc:title"].endswith(": certificate")
    tagged = _tagged_mcids(document)
    for number, page in enumerate(document.pages):
        assert "/StructParents" in page.obj, number
        in_stream, untagged = _stream_mcids(page)
        assert in_stream, f"page {number} has no marked content"
        assert untagged == [], f"page {number} paints outside marked content"
        assert in_stream == tagged.get(page.obj.objgen, set()), number
    kinds = {str(e.S) for e in _elements(root.StructTreeRoot)}
    assert {"/H1", "/H2", "/Table", "/TH", "/TD", "/L", "/LI", "/Figure", "/Link"} <= kinds
    assert _figures(document) == [QR_ALT]
    for page in document.pages:  # PDF/UA: every font embedded
        for font in page.Resources.Font.values():
            descriptor = font.DescendantFonts[0].FontDescriptor
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys())


def test_the_attached_credential_extracts_and_verifies(text: str, pdf: bytes):
    assert extract_pdf(pdf) == text
    assert certificate.attached_credential(pdf) == text
    assert verify(extract_pdf(pdf), policy()).verified
    document = pikepdf.open(io.BytesIO(pdf))
    assert list(document.attachments) == [ATTACHMENT_NAME]


def test_the_content_of_the_certificate(pdf: bytes):
    content = _text(pdf)
    for value in (
        "Safe Lifting",
        "awarded to Niamh O'Brien",
        "Identification of the learner",
        "Date of issuing",
        "May 1, 2026",  # the issue date, in the document's language
        "EQF level 2",
        "Assesses a load before lifting",
        "Accredited: EQAVET by QA Agency, valid until Jan 1, 2029",
        "https://credentials.example.org/credentials/7f2c",
        "Scan to verify",
    ):
        assert value in content, value
    assert "credentials.example.org/verify?url=" in content.replace("\n", "")
    unaccredited = _text(certificate_pdf(eu_credential(), VERIFY_URL))
    assert "Accreditation: none recorded" in unaccredited


def test_branding_colour_and_logo(text: str):
    plain = pikepdf.open(io.BytesIO(certificate_pdf(text, VERIFY_URL)))
    assert _rgb(certificate.DEFAULT_COLOUR) in _colours(plain)

    branded = certificate_pdf(
        text,
        VERIFY_URL,
        branding=Branding(name="Acme Training", logo=_png(), primary_colour="#0A7C59"),
    )
    document = pikepdf.open(io.BytesIO(branded))
    colours = _colours(document)
    assert _rgb("#0a7c59") in colours
    assert _rgb(certificate.DEFAULT_COLOUR) not in colours
    assert _figures(document) == ["Acme Training logo", QR_ALT]
    assert (120, 40) in {(int(i.Width), int(i.Height)) for i in _images(document)}
    assert "Acme Training" in _text(branded)
    assert extract_pdf(branded) == text

    # a mapping does too; an SVG logo is a figure with the same alternative text
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="90" height="30">'
        b'<rect width="90" height="30" fill="#0a7c59"/></svg>'
    )
    mapped = certificate_pdf(text, VERIFY_URL, branding={"name": "Acme Training", "logo": svg})
    assert _figures(pikepdf.open(io.BytesIO(mapped))) == ["Acme Training logo", QR_ALT]


def test_an_svg_logo_shows_the_png_it_embeds(text: str, monkeypatch):
    asked = _spy(monkeypatch)
    embedded = "data:image/png;base64," + base64.b64encode(_png((30, 10))).decode()
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="90" height="30">'
        f'<image href="{embedded}" width="90" height="30"/></svg>'
    ).encode()
    pdf = certificate_pdf(text, VERIFY_URL, branding=Branding(name="Acme", logo=svg))
    assert embedded in asked
    document = pikepdf.open(io.BytesIO(pdf))
    sizes = {(int(i.Width), int(i.Height)) for i in _images(document)}
    assert (30, 10) in sizes  # drawn inside the logo


@pytest.mark.parametrize("style", ["", "<style>@import url(http://evil.example/s.css);</style>"])
def test_an_svg_logo_fetches_nothing_either(text: str, style: str, monkeypatch):
    opened: list[object] = []
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", lambda *a, **k: opened.append(a))
    asked = _spy(monkeypatch)
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="90" height="30">{style}<rect width="90" height="30" fill="#0a7c59"/>'
        '<image href="http://evil.example/a.png" width="9" height="9"/>'
        '<image xlink:href="file:///etc/passwd" width="9" height="9"/></svg>'
    ).encode()
    pdf = certificate_pdf(text, VERIFY_URL, branding=Branding(name="Acme", logo=svg))
    assert _figures(pikepdf.open(io.BytesIO(pdf))) == ["Acme logo", QR_ALT]
    assert opened == []  # refused before anything is opened
    foreign = [url for url in asked if not url.startswith("data:")]
    assert set(foreign) <= {"http://evil.example/a.png", "file:///etc/passwd"}
    if not style:  # WeasyPrint 70 drops an SVG with an @import before fetching it
        assert sorted(foreign) == ["file:///etc/passwd", "http://evil.example/a.png"]


@pytest.mark.parametrize(
    "colour",
    [
        "red;background:url(http://x)",
        "red",
        "#0a7c59;background:url(http://x)",
        "#0a7c59\n",
        "#fff",
        "#0a7c5g",
        " #0a7c59",
        "rgb(10,124,89)",
        None,
        7,
    ],
)
def test_a_colour_that_is_not_rrggbb_is_ignored(text: str, colour: object, monkeypatch):
    assert brand_colour(colour) is None
    fetched = _spy(monkeypatch)
    pdf = certificate_pdf(text, VERIFY_URL, branding={"name": "Acme", "primary_colour": colour})
    assert _rgb(certificate.DEFAULT_COLOUR) in _colours(pikepdf.open(io.BytesIO(pdf)))
    assert all(url.startswith("data:image/png;base64,") for url in fetched)


def test_a_logo_that_is_neither_png_nor_svg_is_left_out(text: str):
    gif = b"GIF89a" + bytes(20)
    pdf = certificate_pdf(text, VERIFY_URL, branding=Branding(name="Acme", logo=gif))
    assert _figures(pikepdf.open(io.BytesIO(pdf))) == [QR_ALT]


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs WeasyPrint asks the certificate's fetcher for."""
    asked: list[str] = []
    answer = certificate.OwnDataOnly.answer

    def recording(self: certificate.OwnDataOnly, url: str) -> tuple[str, bytes]:
        asked.append(url)
        return answer(self, url)

    monkeypatch.setattr(certificate.OwnDataOnly, "answer", recording)
    return asked


def test_markup_and_css_in_a_credential_fetch_nothing(monkeypatch):
    img = '<img src="http://evil.example/pixel.png">'
    css = '<style>@import url("http://evil.example/a.css");</style>'
    style = '<p style="background: url(http://evil.example/b.png)">styled</p>'
    link = '<link rel="attachment" href="file:///etc/passwd">'
    document = unsigned()
    achievement = document["credentialSubject"]["achievement"]
    achievement["name"] = f"Safe {img} Lifting {css}"
    achievement["description"] = f"{img}{css}{style}{link}"
    achievement["criteria"]["narrative"] = f"{style}\n{link}\nurl(http://evil.example/c.png)"
    achievement["resultDescription"][0]["name"] = f"{img} {link}"
    document["issuer"]["name"] = f"Evil {style}"
    text = json.dumps(signed(document), ensure_ascii=False)

    fetched = _spy(monkeypatch)
    pdf = certificate_pdf(text, VERIFY_URL, ACCREDITED)
    assert len(fetched) == 1  # the QR code
    assert fetched[0].startswith("data:image/png;base64,")
    content = _text(pdf)
    assert "Safe <img" in content  # shown as the text it is
    assert "evil.example/a.css" in content.replace("\n", "")
    parsed = pikepdf.open(io.BytesIO(pdf))
    assert list(parsed.attachments) == [ATTACHMENT_NAME]
    assert _figures(parsed) == [QR_ALT]
    assert extract_pdf(pdf) == text
    assert verify(extract_pdf(pdf), policy()).verified


def test_the_fetcher_answers_only_its_own_data_uris(monkeypatch):
    opened: list[object] = []
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", lambda *a, **k: opened.append(a))
    own = "data:image/png;base64,AAAA"
    policy = certificate.OwnDataOnly({own: ("image/png", b"\x89PNG")})
    fetcher = certificate.weasyprint_fetcher(policy)
    response = fetcher.fetch(own)
    assert (response.read(), response.content_type) == (b"\x89PNG", "image/png")
    refused = [
        "http://evil.example/x.png",
        "https://evil.example/x.png",
        "file:///etc/passwd",
        "data:image/png;base64,BBBB",  # a data: URI, but not one the certificate made
        "data:text/css,body{background:url(http://evil.example/x)}",
        "ftp://evil.example/x",
    ]
    for url in refused:
        with pytest.raises(ValueError, match="fetches nothing"):
            fetcher.fetch(url)
        with pytest.raises(ValueError, match="fetches nothing"):
            fetcher(url)  # how WeasyPrint calls it
    assert policy.refused == [url for url in refused for _ in range(2)]
    assert opened == []


class _French(gettext.NullTranslations):
    def gettext(self, message: str) -> str:
        return {"Learning outcomes": "Acquis d'apprentissage"}.get(message, message)


def test_the_language_sets_lang_and_the_text(text: str, monkeypatch):
    monkeypatch.setattr(i18n, "catalogue", lambda language: _French())
    pdf = certificate_pdf(text, VERIFY_URL, language="fr")
    assert str(pikepdf.open(io.BytesIO(pdf)).Root.Lang) == "fr"
    content = _text(pdf)
    assert "Acquis d'apprentissage" in content
    assert "1 mai 2026" in content  # the date of issue, in French
    assert i18n.current() == "en"  # the caller's language is left as it was

    with i18n.use_language("de"):  # the default: the current language
        current = certificate_pdf(text, VERIFY_URL)
        # a language the platform does not have is written in English, and says so
        other = certificate_pdf(text, VERIFY_URL, language="xx")
        regional = certificate_pdf(text, VERIFY_URL, language="fr-BE")
    assert str(pikepdf.open(io.BytesIO(current)).Root.Lang) == "de"
    assert str(pikepdf.open(io.BytesIO(other)).Root.Lang) == "en"
    assert str(pikepdf.open(io.BytesIO(regional)).Root.Lang) == "fr"
