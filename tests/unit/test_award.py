"""domain/award.py: a credential built around a prebuilt achievement (bulk issuing builds it once
per chunk), or filled into a ``CredentialTemplate``, is the same credential, key for key and in
the same order."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microcred.domain.assessment import OutcomeResult
from microcred.domain.award import (
    CredentialTemplate,
    Issuer,
    Recipient,
    build_achievement,
    build_credential,
)
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


TEXT = st.text(max_size=30)
MOMENTS = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
DATA = [DefinitionData.model_validate(definition) for definition in DEFINITIONS]
TEMPLATES = [  # one per demo definition, kept across examples as bulk issuing keeps its plan
    CredentialTemplate(
        achievement_id=f"https://microcred.example/achievements/{which}/1",
        issuer=ISSUER,
        definition=data,
        definition_version=2,
        achievement=build_achievement(
            achievement_id=f"https://microcred.example/achievements/{which}/1",
            issuer=ISSUER,
            definition=data,
            definition_version=2,
        ),
    )
    for which, data in enumerate(DATA)
]


@settings(max_examples=150, deadline=None)
@given(
    which=st.integers(0, len(DEFINITIONS) - 1),
    name=TEXT,
    email=st.one_of(st.emails(), TEXT),
    achieved=st.lists(st.booleans(), min_size=0, max_size=8),
    grade=st.one_of(st.none(), st.just(""), TEXT),
    issued_at=MOMENTS,
    valid_until=st.one_of(st.none(), MOMENTS),
    purposes=st.lists(st.sampled_from(["revocation", "suspension"]), max_size=3),
    index=st.integers(0, 131071),
)
def test_a_template_gives_what_build_credential_gives(
    which, name, email, achieved, grade, issued_at, valid_until, purposes, index
) -> None:
    template, data = TEMPLATES[which], DATA[which]
    arguments = {
        "credential_id": f"urn:uuid:{index}",
        "recipient": Recipient(name, email),
        "results": [
            OutcomeResult(o.id, a) for o, a in zip(data.learning_outcomes, achieved, strict=False)
        ],
        "grade": grade,
        "issued_at": issued_at,
        "valid_until": valid_until,
        "status_entries": [entry("https://microcred.example/s/1", index, p) for p in purposes],
    }
    with mock.patch("secrets.token_hex", lambda n: "5a" * n):  # the salt, else random
        filled = template.build(**arguments)
        built = build_credential(
            achievement_id=f"https://microcred.example/achievements/{which}/1",
            issuer=ISSUER,
            definition=data,
            definition_version=2,
            **arguments,
        )
    assert json.dumps(filled) == json.dumps(built)
    # each credential is its own copy: changing one changes none built after it
    filled["credentialSubject"]["result"].append("changed")
    filled["credentialStatus"] = "changed"
    filled["credentialSubject"]["achievement"]["name"] = "changed"
    again = template.build(**arguments)
    assert (
        again["credentialSubject"]["achievement"]["name"]
        == built["credentialSubject"]["achievement"]["name"]
    )
    assert again["credentialSubject"]["result"] == built["credentialSubject"]["result"]
