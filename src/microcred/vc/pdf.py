"""A credential attached to a PDF: the platform's certificate, or any PDF carrying one.

PDF 2.0 section 7.11.4 (embedded file streams in the document's ``EmbeddedFiles`` name tree). The
certificate attaches the signed credential as ``credential.json``; another PDF is read when it
attaches exactly one JSON file. The PDF is untrusted: its size is capped before parsing, pypdf's
decoders are capped while reading it, and the attachment is capped before and after decoding.
"""

from __future__ import annotations

import io

from pypdf import PdfReader, apply_configuration

from microcred.i18n import N_
from microcred.vc.errors import DocumentError
from microcred.vc.jsonsafe import DEFAULT_MAX_BYTES
from microcred.vc.message import Message

PDF_SIGNATURE = b"%PDF-"
ATTACHMENT_NAME = "credential.json"
MAX_PDF_BYTES = 8 * 1024 * 1024
MAX_ATTACHMENT_BYTES = DEFAULT_MAX_BYTES
# what any one stream of the PDF may decode to while it is read (pypdf's default is 75 MB)
_DECODE_LIMIT = 16 * 1024 * 1024
_TOO_LARGE = Message(N_("the attached credential is too large"))


def extract_pdf(data: bytes) -> str:
    """The credential text attached to a PDF."""
    if not data.startswith(PDF_SIGNATURE):
        raise DocumentError(Message(N_("not a PDF")), "pdf.not_pdf")
    if len(data) > MAX_PDF_BYTES:
        raise DocumentError(
            Message(N_("the PDF is larger than %(size)d MiB"), size=MAX_PDF_BYTES // 1024 // 1024),
            "pdf.too_large",
        )
    try:
        with apply_configuration(
            maximum_declared_stream_length=MAX_PDF_BYTES,
            array_based_stream_maximum_output_length=_DECODE_LIMIT,
            lzw_maximum_output_length=_DECODE_LIMIT,
            run_length_maximum_output_length=_DECODE_LIMIT,
            zlib_maximum_output_length=_DECODE_LIMIT,
        ):
            content = _attachment(PdfReader(io.BytesIO(data)))
    except DocumentError:
        raise
    except Exception as exc:  # hostile PDFs make pypdf raise many kinds
        raise DocumentError(
            Message(N_("the PDF cannot be read (%(error)s)"), error=type(exc).__name__),
            "pdf.unreadable",
        ) from exc
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise DocumentError(_TOO_LARGE, "pdf.too_large")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            Message(N_("the attached credential is not UTF-8")), "json.not_utf8"
        ) from exc


def _attachment(reader: PdfReader) -> bytes:
    if reader.is_encrypted:
        raise DocumentError(
            Message(N_("the PDF is encrypted; its attachments cannot be read")), "pdf.encrypted"
        )
    files = list(reader.attachment_list)
    chosen = [f for f in files if f.name == ATTACHMENT_NAME]
    if not chosen:
        chosen = [f for f in files if f.name.lower().endswith(".json")]
    if not chosen:
        raise DocumentError(Message(N_("this PDF has no attached credential")), "pdf.no_credential")
    if len(chosen) > 1:
        names = ", ".join(sorted(f.name for f in chosen))
        raise DocumentError(
            Message(
                N_("this PDF attaches several JSON files (%(names)s); attach one credential"),
                names=names,
            ),
            "pdf.ambiguous",
        )
    size = chosen[0].size
    if size is not None and int(size) > MAX_ATTACHMENT_BYTES:
        raise DocumentError(_TOO_LARGE, "pdf.too_large")
    return bytes(chosen[0].content)
