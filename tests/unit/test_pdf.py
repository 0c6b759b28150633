"""A credential attached to a PDF: the certificate's, another tool's, and PDFs without one."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfWriter

from microcred.vc import pdf
from microcred.vc.errors import DocumentError


def _pdf(*attachments: tuple[str, bytes]) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    for name, content in attachments:
        writer.add_attachment(name, content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_attached_credential_is_read():
    text = json.dumps({"type": ["VerifiableCredential"], "name": "Ada"})
    assert pdf.extract_pdf(_pdf((pdf.ATTACHMENT_NAME, text.encode()))) == text
    assert pdf.extract_pdf(_pdf(("notes.txt", b"x"), ("badge.json", text.encode()))) == text


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (_pdf(), "pdf.no_credential"),
        (_pdf(("a.json", b"{}"), ("b.json", b"{}")), "pdf.ambiguous"),
        (_pdf(("credential.json", b"\xff\xfe")), "json.not_utf8"),
        (_pdf(("credential.json", b" " * (pdf.MAX_ATTACHMENT_BYTES + 1))), "pdf.too_large"),
        (b"%PDF-1.7\n" + b"0" * pdf.MAX_PDF_BYTES, "pdf.too_large"),
        (b"%PDF-1.7 not really", "pdf.unreadable"),
    ],
)
def test_pdfs_without_a_readable_credential(data, code):
    with pytest.raises(DocumentError) as caught:
        pdf.extract_pdf(data)
    assert caught.value.code == code
