"""domain/award.py: a credential built around a prebuilt achievement (bulk issuing builds it once
per chunk) is the same credential, key for key and in the same order."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from microcred.domain.assessment import OutcomeResult
from microcred.domain.award import Issuer, Recipient, build_achievement, build_credential
from microcred.domain.catalog import DefinitionData
from microcred.services.demo import DEFINITIONS
from microcred.vc.status_list import entry

NOW = datetime(2026, 6, 1, tzinfo=UTC)

ISSUER = Issuer(
    did="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    name="Demo Training Institute",
    url="https://microcred.example",
    country_code="IE",
    region="Leinster",
)


@pytest.mark.parametrize("which", range(len(DEFINITIONS)))
def test_a_prebuilt_achievement_gives_the_same_credential(which: int) -> None:
    data = DefinitionData.model_validate(DEFINITIONS[which])
    rng = random.Random(which)  # noqa: S311 - test data
    achievement_id = f"https://microcred.example/achievements/{which}/1"
    shared = build_achievement(
        achievement_id=achievement_id, issuer=ISSUER, definition=data, definition_version=3
    )
    before = json.dumps(shared)
    for learner in range(3):
        arguments = {
            "credential_id": f"urn:uuid:{learner}",
            "achievement_id": achievement_id,
            "issuer": ISSUER,
            "definition": data,
            "definition_version": 3,
            "recipient": Recipient(f"Learner {learner}", f"l{learner}@example.org"),
            "results": [OutcomeResult(o.id, rng.random() < 0.5) for o in data.learning_outcomes],
            "grade": "88" if learner else None,
            "issued_at": NOW,
            "valid_until": None,
            "status_entries": [entry("https://microcred.example/status/1", learner, "revocation")],
        }
        built = build_credential(**arguments)
        planned = build_credential(**arguments, achievement=shared)
        assert json.dumps(_unsalted(planned)) == json.dumps(_unsalted(built))
        # each credential has its own copy: changing one changes neither the other nor the plan
        planned["credentialSubject"]["achievement"]["name"] = "changed"
    assert json.dumps(shared) == before


def _unsalted(credential: dict) -> dict:
    """The email's identity hash has a random salt per credential: set both aside."""
    for identity in credential["credentialSubject"]["identifier"]:
        if identity.get("salt"):
            identity["salt"] = identity["identityHash"] = "-"
    return credential
