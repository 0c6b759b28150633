"""VC Data Model shape checks (1.1 and 2.0): each violation names its field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from microcred.vc.datamodel import Problem, problems
from microcred.vc.loader import VC_V1, VC_V2
from tests.helpers import unsigned

V2: dict[str, Any] = {
    "@context": [VC_V2],
    "id": "urn:uuid:6c4a2f0e-6f56-4b8c-9b1d-6f3f1c3a9a10",
    "type": ["VerifiableCredential"],
    "issuer": "did:example:issuer",
    "validFrom": "2026-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:subject"},
}
V1: dict[str, Any] = {
    "@context": [VC_V1],
    "type": "VerifiableCredential",
    "issuer": {"id": "https://issuer.example"},
    "issuanceDate": "2026-01-01T00:00:00Z",
    "credentialSubject": [{"id": "did:example:a"}, {"name": "B"}],
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(base)
    for key, value in changes.items():
        if value is _DROP:
            document.pop(key, None)
        else:
            document[key] = value
    return document


_DROP = object()

CASES: dict[str, tuple[dict[str, Any], str, str]] = {
    # name: (credential, field, code)
    "no credentialSubject": (
        _with(V2, credentialSubject=_DROP),
        "credentialSubject",
        "subject_missing",
    ),
    "credentialSubject is a number": (
        _with(V2, credentialSubject=4),
        "credentialSubject",
        "subject_not_object",
    ),
    "credentialSubject list holds a string": (
        _with(V2, credentialSubject=[{"id": "did:example:a"}, "b"]),
        "credentialSubject[1]",
        "subject_not_object",
    ),
    "credentialSubject empty object": (
        _with(V2, credentialSubject={}),
        "credentialSubject",
        "subject_empty",
    ),
    "credentialSubject empty list": (
        _with(V2, credentialSubject=[]),
        "credentialSubject",
        "subject_missing",
    ),
    "no issuer": (_with(V2, issuer=_DROP), "issuer", "issuer_missing"),
    "issuer null": (_with(V2, issuer=None), "issuer", "issuer_missing"),
    "issuer not a URL": (_with(V2, issuer="ACME Inc"), "issuer", "id_not_url"),
    "issuer object without id": (_with(V2, issuer={"name": "ACME"}), "issuer.id", "id_missing"),
    "issuer id not a URL": (_with(V2, issuer={"id": "acme"}), "issuer.id", "id_not_url"),
    "id not a URL": (_with(V2, id="credential-1"), "id", "id_not_url"),
    "id a list": (_with(V2, id=["urn:a", "urn:b"]), "id", "id_not_url"),
    "subject id not a URL": (
        _with(V2, credentialSubject={"id": "ada lovelace"}),
        "credentialSubject.id",
        "id_not_url",
    ),
    "no type": (_with(V2, type=_DROP), "type", "type_missing"),
    "type without VerifiableCredential": (
        _with(V2, type=["OpenBadgeCredential"]),
        "type",
        "type_missing",
    ),
    "no base context": (
        _with(V2, **{"@context": ["https://example.org/ctx"]}),
        "@context",
        "context_invalid",
    ),
    "validFrom malformed": (_with(V2, validFrom="2026-13-01"), "validFrom", "date_malformed"),
    "validUntil malformed": (_with(V2, validUntil="tomorrow"), "validUntil", "date_malformed"),
    "validUntil before validFrom": (
        _with(V2, validUntil="2025-01-01T00:00:00Z"),
        "validUntil",
        "date_order",
    ),
    "issuanceDate malformed": (
        _with(V1, issuanceDate="01/01/2026"),
        "issuanceDate",
        "date_malformed",
    ),
    "expirationDate malformed": (
        _with(V1, expirationDate=20270101),
        "expirationDate",
        "date_malformed",
    ),
    "VC 1.1 without issuanceDate": (_with(V1, issuanceDate=_DROP), "issuanceDate", "date_missing"),
    "credentialStatus without type": (
        _with(V2, credentialStatus={"id": "https://status.example/1#5"}),
        "credentialStatus.type",
        "entry_type_missing",
    ),
    "credentialStatus id not a URL": (
        _with(V2, credentialStatus={"id": "five", "type": "X"}),
        "credentialStatus.id",
        "id_not_url",
    ),
    "termsOfUse without type": (
        _with(V2, termsOfUse=[{"type": "Policy"}, {"id": "https://t.example"}]),
        "termsOfUse[1].type",
        "entry_type_missing",
    ),
    "evidence without type": (
        _with(V2, evidence={"id": "https://e.example"}),
        "evidence.type",
        "entry_type_missing",
    ),
    "evidence not an object": (_with(V2, evidence=["x"]), "evidence[0]", "entry_invalid"),
    "refreshService without type": (
        _with(V2, refreshService={"id": "https://r.example"}),
        "refreshService.type",
        "entry_type_missing",
    ),
    "credentialSchema without type": (
        _with(V2, credentialSchema={"id": "https://s.example/schema.json"}),
        "credentialSchema.type",
        "entry_type_missing",
    ),
    "credentialSchema without id": (
        _with(V2, credentialSchema={"type": "JsonSchema"}),
        "credentialSchema.id",
        "id_missing",
    ),
    "relatedResource without id": (
        _with(V2, relatedResource=[{"digestSRI": "sha384-abc"}]),
        "relatedResource[0].id",
        "id_missing",
    ),
    "relatedResource without digest": (
        _with(V2, relatedResource={"id": "https://r.example/x"}),
        "relatedResource",
        "digest_missing",
    ),
    "relatedResource digest not a string": (
        _with(V2, relatedResource={"id": "https://r.example/x", "digestMultibase": 5}),
        "relatedResource",
        "digest_invalid",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_violation_names_its_field(name):
    credential, field, code = CASES[name]
    found = problems(credential)
    assert [(p.field, p.code) for p in found] == [(field, f"datamodel.{code}")], found
    assert all(p.message for p in found)


@pytest.mark.parametrize("credential", [V1, V2, unsigned()], ids=["VC 1.1", "VC 2.0", "OB 3.0"])
def test_conforming_credentials_have_no_problems(credential):
    assert problems(credential) == []


def test_every_violation_is_listed_at_once():
    found = problems({"@context": [VC_V2], "credentialSubject": 4, "validFrom": "soon"})
    assert {p.field for p in found} == {"type", "issuer", "credentialSubject", "validFrom"}


def test_not_an_object():
    assert [p.code for p in problems([V2])] == ["datamodel.not_object"]


def test_pointer_and_field():
    problem = Problem("/credentialSubject/0/a~1b", "x", "y")
    assert problem.field == "credentialSubject[0].a/b"
    assert problem.to_json() == {
        "field": "credentialSubject[0].a/b",
        "pointer": "/credentialSubject/0/a~1b",
        "code": "x",
        "message": "y",
    }
