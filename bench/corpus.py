"""Credentials as the platform issues them, for the benchmarks: every demo definition, distinct
learners, ids, grades and status indexes, built by ``domain.award.build_credential``."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from microcred.domain.assessment import OutcomeResult
from microcred.domain.award import Issuer, Recipient, build_credential
from microcred.domain.catalog import DefinitionData
from microcred.services.demo import DEFINITIONS
from microcred.vc.status_list import entry

NOW = datetime(2026, 6, 1, tzinfo=UTC)
FIRST = ["Aoife", "Jonas", "Lucía", "Piotr", "Emma", "Sofia", "Ζωή", "Łukasz", "Chiara", "Søren"]
LAST = ["Murphy", "Weber", "García", "Nowak", "Laurent", "Rossi", "Παπαδοπούλου", "Kovač"]
_DATA = [DefinitionData.model_validate(d) for d in DEFINITIONS]


def platform_credential(
    issuer_did: str, rng: random.Random, which: int | None = None
) -> dict[str, Any]:
    """One unsigned credential of demo definition ``which`` (random when None)."""
    index = rng.randrange(len(_DATA)) if which is None else which
    data = _DATA[index]
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.randrange(10**6)}"
    issued = NOW - timedelta(seconds=rng.randrange(10**7))
    base = "https://microcred.example/status/demo"
    return build_credential(
        credential_id=f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}",
        achievement_id=f"https://microcred.example/achievements/{index}/1",
        issuer=Issuer(
            did=issuer_did,
            name="Demo Training Institute",
            url="https://microcred.example",
            country_code="IE",
            region="Leinster",
        ),
        definition=data,
        definition_version=1,
        recipient=Recipient(name=name, email=f"learner{rng.randrange(10**9)}@example.org"),
        results=[OutcomeResult(o.id, rng.random() < 0.9) for o in data.learning_outcomes],
        grade=str(rng.randrange(70, 100)) if data.grade_scheme.kind == "percent" else None,
        issued_at=issued,
        valid_until=issued + timedelta(days=3 * 365),
        status_entries=[entry(f"{base}/revocation", rng.randrange(131072), "revocation")],
    )
