"""Credentials as the platform issues them, every optional element varied: for the differential
tests of the fast canonicaliser (against pyld with hypothesis, against jsonld.js in interop)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from microcred.domain.assessment import OutcomeResult
from microcred.domain.award import Issuer, Recipient, build_credential
from microcred.domain.catalog import DefinitionData
from microcred.vc.status_list import entry

# Any Unicode a provider or learner may type: quotes, backslashes, tabs and new lines (escaped in
# N-Quads), accents, Greek, CJK, emoji, combining marks, right-to-left text. Not the control
# characters signing refuses, nor lone surrogates (not text).
_SPECIAL = ['"', "\\", "\n", "\t", "\r", "é", "Σ", "漢", "🎓", "e\u0301", "ש", "\u00a0", "%", "{"]


def _text(rng: random.Random, low: int = 3, high: int = 40) -> str:
    chars = []
    for _ in range(rng.randint(low, high)):
        pick = rng.random()
        if pick < 0.6:
            chars.append(chr(rng.randint(0x20, 0x7E)))
        elif pick < 0.85:
            chars.append(rng.choice(_SPECIAL))
        else:
            code = rng.randint(0xA0, 0x2FFFF)
            while 0xD800 <= code <= 0xDFFF or chr(code).isprintable() is False:
                code = rng.randint(0xA0, 0x2FFFF)
            chars.append(chr(code))
    text = "".join(chars).strip()
    return text if len(text) >= 3 else text + "abc"


def _maybe(rng: random.Random, value: Any, empty: Any = "") -> Any:
    return value if rng.random() < 0.5 else empty


def random_definition(rng: random.Random) -> DefinitionData:
    outcomes = [
        {
            "statement": _text(rng),
            "criterion": _maybe(rng, _text(rng)),
            "esco_uri": _maybe(
                rng, f"http://data.europa.eu/esco/skill/{uuid.UUID(int=rng.getrandbits(128))}", None
            ),
        }
        for _ in range(rng.randint(1, 6))
    ]
    return DefinitionData.model_validate(
        {
            "title": _text(rng),
            "description": _maybe(rng, _text(rng, 3, 200)),
            "country_code": rng.choice(["IE", "DE", "FR", "PL"]),
            "region": _maybe(rng, _text(rng)),
            "awarding_body": _text(rng),
            "learning_outcomes": outcomes,
            "workload_ects": rng.choice([0.5, 1, 1.5, 2, 7.5, 60]),
            "workload_hours": _maybe(rng, rng.randint(1, 5400), None),
            "level": rng.choice(
                [None, {"framework": "EQF", "value": "4"}, {"framework": "NQF", "value": "6"}]
            ),
            "assessment_type": _text(rng),
            "participation": rng.choice(["online", "onsite", "blended", ""]),
            "quality_assurance": _text(rng),
            "prerequisites": _maybe(rng, _text(rng)),
            "supervision": rng.choice(["", "unsupervised", "supervised", "supervised_id"]),
            "stackability": rng.choice(["standalone", "integrated"]),
            "stacks_into": [_text(rng) for _ in range(rng.randint(0, 2))],
            "further_information": _maybe(rng, _text(rng)),
            "language": rng.choice(["en", "de", "fr"]),
            "field_of_study": _maybe(rng, _text(rng)),
            "suspendable": rng.random() < 0.3,
        }
    )


def random_credential(rng: random.Random, issuer_did: str) -> dict[str, Any]:
    """One unsigned credential as ``domain.award.build_credential`` makes it."""
    data = random_definition(rng)
    issued = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8))
    base = "https://microcred.example/status/" + rng.choice(["a", "b"])
    purposes = ["revocation", "suspension"] if data.suspendable else ["revocation"]
    evidence = [
        {"id": f"https://evidence.example/{rng.randrange(10**9)}", "type": ["Evidence"]}
        for _ in range(rng.choice([0, 0, 1, 3]))
    ]
    return build_credential(
        credential_id=f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}",
        achievement_id=f"https://microcred.example/achievements/{rng.randrange(10**6)}/1",
        issuer=Issuer(
            did=issuer_did,
            name=_text(rng),
            url=rng.choice([None, "https://provider.example"]),
            country_code=data.country_code or "IE",
            region=data.region or None,
            email=rng.choice([None, "office@provider.example"]),
        ),
        definition=data,
        definition_version=rng.randint(1, 20),
        recipient=Recipient(name=_text(rng), email=f"l{rng.randrange(10**6)}@example.org"),
        results=[OutcomeResult(o.id, rng.random() < 0.8) for o in data.learning_outcomes],
        grade=_maybe(rng, _text(rng, 1, 5), None),
        issued_at=issued,
        valid_until=_maybe(rng, issued + timedelta(days=1000), None),
        status_entries=[entry(f"{base}/{p}", rng.randrange(131072), p) for p in purposes],
        evidence=evidence or None,
    )


def issued_credentials(issuer_did: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.randoms(use_true_random=False).map(lambda rng: random_credential(rng, issuer_did))
