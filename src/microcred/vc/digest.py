"""Integrity of related resources (VC Data Model 2.0, section 5.3): ``relatedResource`` entries
with ``digestMultibase`` — multibase base64url (``u``) of a sha2-256 multihash of the exact bytes.

A macro-credential names each component credential this way, so anyone holding the component files
can recompute the digests and check that the award was made on exactly those credentials.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

SHA2_256 = b"\x12\x20"  # multihash: code 0x12, length 32


def digest_multibase(data: bytes) -> str:
    multihash = SHA2_256 + hashlib.sha256(data).digest()
    return "u" + base64.urlsafe_b64encode(multihash).decode("ascii").rstrip("=")


def related_resource(
    resource_id: str, data: bytes, media_type: str = "application/vc"
) -> dict[str, Any]:
    return {"id": resource_id, "digestMultibase": digest_multibase(data), "mediaType": media_type}


def check_related(document: Mapping[str, Any], files: Iterable[bytes]) -> list[str]:
    """The ``relatedResource`` ids whose digest matches one of ``files`` (exact bytes)."""
    digests = {digest_multibase(data) for data in files}
    related = document.get("relatedResource") or []
    related = related if isinstance(related, list) else [related]
    return [
        str(r.get("id"))
        for r in related
        if isinstance(r, Mapping) and r.get("digestMultibase") in digests
    ]
