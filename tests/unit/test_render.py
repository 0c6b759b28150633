"""Badges and certificates: baked images verify; the PDF's QR decodes to the verification URL,
its text holds every EU element, and the attached credential verifies."""

from __future__ import annotations

import io
import json
from pathlib import Path

import zxingcpp
from PIL import Image
from pypdf import PdfReader
from typer.testing import CliRunner

from microcred.cli import app, verification_url
from microcred.domain.assessment import OutcomeResult
from microcred.domain.award import Issuer, Recipient, build_credential
from microcred.domain.catalog import MANDATORY_ELEMENTS, DefinitionData
from microcred.render.certificate import attached_credential, certificate_pdf
from microcred.vc import baking
from microcred.vc.credential import sign_credential
from microcred.vc.verify import verify
from tests.helpers import ISSUED, ISSUER_KEY, policy

runner = CliRunner()
DEFINITION = DefinitionData.model_validate(
    {
        "title": "Safe Lifting",
        "description": "Lifting loads safely at work.",
        "country_code": "IE",
        "awarding_body": "Demo Academy",
        "learning_outcomes": [
            {"statement": "Assesses a load before lifting", "criterion": "Checklist"}
        ],
        "workload_ects": 0.5,
        "workload_hours": 12,
        "level": {"framework": "EQF", "value": "2"},
        "assessment_type": "Observed practical",
        "participation": "onsite",
        "quality_assurance": "External moderation",
    }
)


def _credential() -> str:
    did = ISSUER_KEY.public.did_key
    unsigned = build_credential(
        credential_id="https://credentials.example.org/credentials/7f2c",
        achievement_id="https://credentials.example.org/achievements/safe-lifting",
        issuer=Issuer(did=did, name="Demo Academy", url=None, country_code="IE", region="Munster"),
        definition=DEFINITION,
        definition_version=1,
        recipient=Recipient("Niamh O'Brien", "niamh@example.org"),
        results=[OutcomeResult(o.id, True) for o in DEFINITION.learning_outcomes],
        grade=None,
        issued_at=ISSUED,
        valid_until=None,
        status_entries=[],
    )
    return json.dumps(
        sign_credential(unsigned, ISSUER_KEY, created=ISSUED), indent=2, ensure_ascii=False
    )


def test_cli_bakes_and_extracts_byte_identically(tmp_path: Path):
    text = _credential()
    source = tmp_path / "credential.json"
    source.write_text(text, encoding="utf-8")
    result = runner.invoke(
        app,
        ["bake", str(source), "--png", str(tmp_path / "b.png"), "--svg", str(tmp_path / "b.svg")],
    )
    assert result.exit_code == 0, result.output
    for name in ("b.png", "b.svg"):
        extracted = runner.invoke(app, ["extract", str(tmp_path / name)])
        assert extracted.exit_code == 0
        assert extracted.stdout == text
        assert verify(extracted.stdout, policy()).verified
    Image.open(tmp_path / "b.png").verify()
    bad = runner.invoke(app, ["extract", str(source)])
    assert bad.exit_code == 0  # a JSON file is its own credential
    (tmp_path / "x.gif").write_bytes(b"GIF89a")
    assert runner.invoke(app, ["extract", str(tmp_path / "x.gif")]).exit_code == 1


def test_certificate_qr_text_and_attachment(tmp_path: Path):
    text = _credential()
    document = json.loads(text)
    url = verification_url(document, None)
    assert url == (
        "https://credentials.example.org/verify?url="
        "https%3A%2F%2Fcredentials.example.org%2Fcredentials%2F7f2c.json"
    )
    pdf = certificate_pdf(
        text, url, [{"qa_body": "QA Agency", "framework": "EQAVET", "valid_until": "2029-01-01"}]
    )
    reader = PdfReader(io.BytesIO(pdf))
    content = "\n".join(page.extract_text() for page in reader.pages)
    for label in MANDATORY_ELEMENTS.values():
        assert label in content, label
    for value in (
        "Safe Lifting",
        "Niamh O'Brien",
        "Demo Academy",
        "IE, Munster",
        "0.5 ECTS",
        "EQF level 2",
        "Observed practical",
        "On-site",
        "External moderation",
        "Assesses a load before lifting",
        "Accredited: EQAVET by QA Agency",
    ):
        assert value in content, value
    decoded = []
    for page in reader.pages:
        for image in page.images:
            decoded += [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))]
    assert decoded == [url]
    attached = attached_credential(pdf)
    assert attached == text
    assert verify(attached, policy()).verified

    out = tmp_path / "certificate.pdf"
    (tmp_path / "c.json").write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["certificate", str(tmp_path / "c.json"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert attached_credential(out.read_bytes()) == text


def test_baked_image_of_a_tampered_credential_fails():
    document = json.loads(_credential())
    document["credentialSubject"]["achievement"]["name"] = "Heavy Lifting Master"
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    baked = baking.bake_png(buffer.getvalue(), json.dumps(document))
    assert verify(baking.extract(baked), policy()).step("proof").code == "proof.signature_invalid"
