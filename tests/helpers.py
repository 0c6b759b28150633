"""Shared test data: a fixed key, a fixed clock, a loader with the test-only contexts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from microcred.tour import sample_micro_credential
from microcred.vc.credential import sign_credential
from microcred.vc.loader import DocumentLoader, default_loader
from microcred.vc.multikey import KeyPair
from microcred.vc.policy import Policy

ROOT = Path(__file__).resolve().parent
VECTORS = ROOT / "vectors" / "data"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ISSUED = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
ISSUER_KEY = KeyPair.from_seed(bytes(range(32)))
OTHER_KEY = KeyPair.from_seed(bytes(range(1, 33)))


def vector_loader() -> DocumentLoader:
    """The product loader plus the contexts the W3C vectors use (test-only)."""
    base = ROOT / "fixtures" / "contexts"
    index = json.loads((base / "index.json").read_text())
    extra = {url: json.loads((base / name).read_text()) for url, name in index.items()}
    return default_loader().with_documents(extra)


def policy(**overrides: Any) -> Policy:
    options: dict[str, Any] = {"clock": lambda: NOW}
    options.update(overrides)
    return Policy(**options)


def unsigned(issuer: str | None = None) -> dict[str, Any]:
    return sample_micro_credential(issuer or ISSUER_KEY.public.did_key, ISSUED)


def signed(
    document: dict[str, Any] | None = None, key: KeyPair = ISSUER_KEY, **options: Any
) -> dict[str, Any]:
    document = document if document is not None else unsigned(key.public.did_key)
    return sign_credential(document, key, created=ISSUED, **options)
