"""CLR 2.0 records: built from exact credential bytes, associations only where the digests say so,
signed, and verified both as a whole and credential by credential."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from microcred.vc import clr
from microcred.vc.credential import sign_credential
from microcred.vc.digest import related_resource
from microcred.vc.multikey import KeyPair
from microcred.vc.verify import verify
from tests.helpers import ISSUED, policy, signed, unsigned

RECORD_KEY = KeyPair.from_seed(bytes(range(7, 39)))


def _micro(achievement_id: str, name: str) -> bytes:
    document = unsigned()
    document["credentialSubject"]["achievement"]["id"] = achievement_id
    document["credentialSubject"]["achievement"]["name"] = name
    return json.dumps(signed(document), indent=2).encode()


def _macro(components: list[bytes]) -> bytes:
    document = unsigned()
    document["credentialSubject"]["achievement"]["id"] = "urn:example:macro"
    document["credentialSubject"]["achievement"]["name"] = "Macro"
    document["relatedResource"] = [related_resource(json.loads(c)["id"], c) for c in components]
    return json.dumps(signed(document), indent=2).encode()


def _held(*files: bytes) -> list[clr.Held]:
    return [clr.Held(f, json.loads(f)) for f in files]


def _record(held: list[clr.Held], **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "record_id": "urn:uuid:5f0c3c4e-30a1-4c50-9d47-6a3b0f0f2f11",
        "issuer": {"id": RECORD_KEY.public.did_key, "type": ["Profile"], "name": "Records"},
        "name": "Comprehensive learner record",
        "description": "test",
        "identifier": [
            {
                "type": "IdentityObject",
                "hashed": False,
                "identityHash": "a@b.example",
                "identityType": "emailAddress",
            }
        ],
        "held": held,
        "valid_from": ISSUED,
        "partial": False,
    }
    options.update(overrides)
    return clr.build_record(**options)


def _sign(document: dict[str, Any]) -> dict[str, Any]:
    return sign_credential(document, RECORD_KEY, created=ISSUED)


@pytest.fixture(scope="module")
def files() -> tuple[bytes, bytes, bytes, bytes]:
    first = _micro("urn:example:first", "First")
    second = _micro("urn:example:second", "Second")
    other = _micro("urn:example:other", "Unrelated")
    return first, second, other, _macro([first, second])


def test_a_record_names_which_micro_credentials_make_up_the_macro(files):
    first, second, other, macro = files
    document = _sign(_record(_held(first, second, other, macro)))
    subject = document["credentialSubject"]
    assert subject["association"] == [
        {"type": "Association", "associationType": "isPartOf", "sourceId": s, "targetId": t}
        for s, t in [
            ("urn:example:first", "urn:example:macro"),
            ("urn:example:second", "urn:example:macro"),
        ]
    ]
    assert [a["id"] for a in subject["achievement"]] == [
        "urn:example:first",
        "urn:example:second",
        "urn:example:other",
        "urn:example:macro",
    ]
    assert len(subject["verifiableCredential"]) == 4
    report = verify(document, policy())
    assert report.verified, report.to_json()
    components = report.step("components")
    assert components.code == "clr.ok"
    assert [c["verified"] for c in components.details["credentials"]] == [True] * 4


def test_no_association_when_the_component_bytes_differ(files):
    first, second, _, macro = files
    reformatted = json.dumps(json.loads(first)).encode()  # same content, other bytes
    associations = clr.part_of_associations(_held(reformatted, second, macro))
    assert [a["sourceId"] for a in associations] == ["urn:example:second"]
    assert clr.part_of_associations(_held(first, second)) == []  # no macro, no association


def test_a_record_changed_after_signing_fails_its_own_proof(files):
    document = _sign(_record(_held(*files)))
    changed = copy.deepcopy(document)
    changed["credentialSubject"]["verifiableCredential"][0]["name"] = "Something else"
    assert verify(changed, policy()).step("proof").code == "proof.signature_invalid"


def test_a_forged_credential_inside_a_signed_record_is_named(files):
    first, second, other, _ = files
    forged = json.loads(second)
    forged["credentialSubject"]["achievement"]["name"] = "Second, with honours"
    held = [*_held(first, other), clr.Held(json.dumps(forged).encode(), forged)]
    report = verify(_sign(_record(held)), policy())
    assert report.step("proof").code == "proof.ok"  # the record's issuer signed what it was given
    components = report.step("components")
    assert components.code == "clr.component_failed"
    assert "credential 3 (Second, with honours)" in components.message
    assert [c["verified"] for c in components.details["credentials"]] == [True, True, False]
    assert not report.verified


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda s: s.update(
                association=[
                    {
                        "type": "Association",
                        "associationType": "isPartOf",
                        "sourceId": "urn:example:first",
                        "targetId": "urn:example:nowhere",
                    }
                ]
            ),
            "association[0].targetId 'urn:example:nowhere' names no achievement",
        ),
        (
            lambda s: s.update(
                association=[
                    {
                        "type": "Association",
                        "associationType": "isMadeOf",
                        "sourceId": "urn:example:first",
                        "targetId": "urn:example:second",
                    }
                ]
            ),
            "unknown associationType 'isMadeOf'",
        ),
        (lambda s: s.update(verifiableCredential=[]), "holds no credential"),
    ],
)
def test_a_malformed_record_says_what_is_wrong(files, change, expected):
    document = _record(_held(*files))
    change(document["credentialSubject"])
    report = verify(_sign(document), policy())
    step = report.step("components")
    assert step.code == "clr.malformed"
    assert expected in step.message


def test_a_record_of_too_many_credentials_is_refused(files):
    document = _record(_held(files[0]))
    document["credentialSubject"]["verifiableCredential"] *= clr.MAX_CREDENTIALS + 1
    report = verify(_sign(document), policy())
    step = report.step("components")
    assert step.code == "clr.malformed"
    assert f"holds {clr.MAX_CREDENTIALS + 1} credentials" in step.message


def test_a_record_inside_a_record_is_refused(files):
    inner = _sign(_record(_held(files[0])))
    held = [*_held(files[1]), clr.Held(json.dumps(inner).encode(), inner)]
    report = verify(_sign(_record(held)), policy())
    assert report.step("components").code == "clr.malformed"
    assert "verifiableCredential[1] is itself a record" in report.step("components").message


def test_an_empty_record_cannot_be_built():
    with pytest.raises(ValueError, match="at least one credential"):
        _record([])
