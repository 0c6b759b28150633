"""The paper certificate: a PDF with every EU element, the outcomes, the provider and its
accreditation, a QR code opening the verification page, and the signed credential attached
inside, so the PDF's file verifies by itself (extract it with any PDF reader's attachments)."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import segno
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfgen.canvas import Canvas

from microcred.domain.award import read_eu_elements
from microcred.domain.catalog import MANDATORY_ELEMENTS, OPTIONAL_ELEMENTS

ATTACHMENT_NAME = "credential.json"


def qr_png(data: str, scale: int = 6) -> bytes:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def certificate_pdf(
    credential_text: str,
    verify_url: str,
    accreditations: Sequence[Mapping[str, Any]] | None = None,
) -> bytes:
    credential = json.loads(credential_text)
    elements = read_eu_elements(credential)
    subject = credential.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    issuer = credential.get("issuer") or {}
    issuer_name = issuer.get("name", "") if isinstance(issuer, dict) else ""
    issuer_id = issuer.get("id", "") if isinstance(issuer, dict) else str(issuer)

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=0)
    canvas.setTitle(f"{achievement.get('name', 'Micro-credential')} — certificate")
    canvas.setAuthor(issuer_name)
    width, height = A4
    left, y = 20 * mm, height - 25 * mm

    def line(text: str, size: float = 10, bold: bool = False, gap: float = 1.5) -> None:
        nonlocal y
        font = "Helvetica-Bold" if bold else "Helvetica"
        canvas.setFont(font, size)
        for part in simpleSplit(text, font, size, width - 2 * left - 45 * mm) or [""]:
            if y < 25 * mm:
                canvas.showPage()
                y = height - 25 * mm
                canvas.setFont(font, size)
            canvas.drawString(left, y, part)
            y -= size * 0.3528 * mm * 1.25 + gap
        y -= gap

    canvas.drawImage(
        ImageReader(io.BytesIO(qr_png(verify_url))),
        width - left - 40 * mm,
        height - 65 * mm,
        40 * mm,
        40 * mm,
    )
    canvas.setFont("Helvetica", 7)
    canvas.drawString(width - left - 40 * mm, height - 69 * mm, "Scan to verify")
    line("Micro-credential", 12)
    line(str(achievement.get("name", "")), 20, bold=True, gap=4)
    line(f"awarded to {elements.get('learner', '')}", 13, gap=3)
    line(f"by {issuer_name}", 12, gap=6)
    line("EU micro-credential elements", 12, bold=True)
    for key, label in {**MANDATORY_ELEMENTS, **OPTIONAL_ELEMENTS}.items():
        if key in elements:
            line(f"{label}: {elements[key]}", 9.5)
    y -= 4
    line("Learning outcomes", 12, bold=True)
    for outcome in achievement.get("resultDescription") or []:
        line(f"- {outcome.get('name', '')}", 9.5)
    criteria = (achievement.get("criteria") or {}).get("narrative")
    if criteria:
        line("Assessment criteria", 12, bold=True)
        for part in str(criteria).splitlines():
            line(part, 9)
    line("The provider", 12, bold=True)
    line(f"{issuer_name} ({issuer_id})", 9.5)
    if accreditations:
        for accreditation in accreditations:
            line(
                f"Accredited: {accreditation.get('framework')} by {accreditation.get('qa_body')}, "
                f"valid until {accreditation.get('valid_until')}",
                9.5,
            )
    else:
        line("Accreditation: none recorded in the registries consulted when this was printed.", 9.5)
    y -= 4
    line(f"Verify: {verify_url}", 8)
    line(
        f"Credential: {credential.get('id', '')} - the signed credential is attached to this PDF "
        f"as {ATTACHMENT_NAME}.",
        8,
    )
    canvas.save()

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buffer.getvalue())))
    writer.add_attachment(ATTACHMENT_NAME, credential_text.encode("utf-8"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def attached_credential(pdf: bytes) -> str:
    """The signed credential attached to a certificate PDF."""
    reader = PdfReader(io.BytesIO(pdf))
    attachments = reader.attachments
    if ATTACHMENT_NAME not in attachments:
        raise ValueError("no credential is attached to this PDF")
    return attachments[ATTACHMENT_NAME][0].decode("utf-8")
