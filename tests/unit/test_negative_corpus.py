"""The negative corpus: each bad credential is rejected with a stable code, never an exception."""

from __future__ import annotations

import copy
import json
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from microcred.vc import canon, fastcanon
from microcred.vc.credential import sign_credential
from microcred.vc.loader import OB_V3P0_303, VC_V2, default_loader
from microcred.vc.multikey import KeyPair
from microcred.vc.proofs import create_proof
from microcred.vc.report import Outcome
from microcred.vc.verify import verify
from tests.helpers import ISSUED, ISSUER_KEY, OTHER_KEY, policy, signed, unsigned

Mutation = Callable[[dict[str, Any]], Any]


def _resign(document: dict[str, Any], key: KeyPair = ISSUER_KEY) -> dict[str, Any]:
    """Sign ``document`` as it stands (after a mutation), bypassing nothing but the issuer fill."""
    return sign_credential(document, key, created=ISSUED, controller=key.public.did_key)


def tampered_value(c):
    c["credentialSubject"]["achievement"]["name"] = "Brain Surgery (forged)"


def added_property(c):
    c["description"] = "An extra claim, added after signing."


def another_keys_proof(c):
    # Signed by another key while claiming the issuer's key: the signature cannot match.
    theirs = signed(
        unsigned(),
        key=OTHER_KEY,
        controller=ISSUER_KEY.public.did_key,
        verification_method=ISSUER_KEY.public.did_key_method_id,
    )
    c["proof"] = theirs["proof"]


def issuer_not_controller(c):
    # A valid signature by another key, over a credential naming our issuer: the guard in
    # sign_credential refuses to make this, so the proof is built directly.
    body = {k: v for k, v in c.items() if k != "proof"}
    proof = create_proof(
        body, OTHER_KEY, OTHER_KEY.public.did_key_method_id, created=ISSUED, loader=default_loader()
    )
    c["proof"] = [proof]


def _proof_field(name: str, value: Any) -> Mutation:
    def mutate(c):
        c["proof"][0][name] = value

    mutate.__name__ = f"proof_{name}"
    return mutate


def proof_value_without_z(c):
    c["proof"][0]["proofValue"] = c["proof"][0]["proofValue"][1:]


def proof_value_wrong_length(c):
    c["proof"][0]["proofValue"] = c["proof"][0]["proofValue"][:40]


def missing_proof(c):
    del c["proof"]


def vc_context_not_first(c):
    c["@context"] = [OB_V3P0_303, VC_V2]


def unknown_context(c):
    c["@context"].append("https://example.com/contexts/evil.jsonld")


def undefined_term(c):
    c["credentialSubject"]["favouriteColour"] = "green"


def undefined_type(c):
    c["type"].append("MadeUpCredential")


def base_in_context(c):
    c["@context"].append({"@base": "https://attacker.example/"})


def nested_base(c):
    c["credentialSubject"]["@context"] = {"@base": "https://attacker.example/"}


def nested_null_context(c):
    c["credentialSubject"]["achievement"]["@context"] = None
    c["credentialSubject"]["achievement"]["anything"] = "unsigned"


def protected_redefinition(c):
    c["@context"].append({"name": "https://attacker.example/name"})


def expired(c):
    c["validUntil"] = "2026-05-15T00:00:00Z"


def not_yet_valid(c):
    c["validFrom"] = "2027-01-01T00:00:00Z"


def until_before_from(c):
    c["validFrom"] = "2026-05-01T00:00:00Z"
    c["validUntil"] = "2026-04-01T00:00:00Z"


def malformed_did_key(c):
    c["proof"][0]["verificationMethod"] = "did:key:z6MkBROKEN#z6MkBROKEN"


def not_a_did_key_method(c):
    c["proof"][0]["verificationMethod"] = (
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme#zQ3s"
    )


# name -> (mutation, re-sign after mutating?, expected step, expected code)
CORPUS: dict[str, tuple[Mutation, bool, str, str]] = {
    "tampered value": (tampered_value, False, "proof", "proof.signature_invalid"),
    "added property": (added_property, False, "proof", "proof.signature_invalid"),
    "proof by another key": (another_keys_proof, False, "proof", "proof.signature_invalid"),
    "issuer is not the key's controller": (
        issuer_not_controller,
        False,
        "issuer",
        "issuer.key_not_controlled",
    ),
    "proofPurpose authentication": (
        _proof_field("proofPurpose", "authentication"),
        False,
        "proof",
        "proof.purpose_mismatch",
    ),
    "unknown cryptosuite": (
        _proof_field("cryptosuite", "eddsa-2099"),
        False,
        "proof",
        "proof.suite_unsupported",
    ),
    "unknown proof type": (
        _proof_field("type", "RsaSignature2018"),
        False,
        "proof",
        "proof.suite_unsupported",
    ),
    "proofValue without z": (proof_value_without_z, False, "proof", "proof.value_encoding"),
    "proofValue of the wrong length": (
        proof_value_wrong_length,
        False,
        "proof",
        "proof.value_encoding",
    ),
    "missing proof": (missing_proof, False, "proof", "proof.missing"),
    "VC context not first": (vc_context_not_first, False, "context", "context.vc_not_first"),
    "unknown context URL": (unknown_context, False, "context", "context.unknown"),
    "undefined term": (undefined_term, False, "context", "context.undefined_term"),
    "undefined type": (undefined_type, False, "context", "context.undefined_term"),
    "@base in an inline context": (base_in_context, False, "context", "context.base_forbidden"),
    "@base in a nested context": (nested_base, False, "context", "context.base_forbidden"),
    "nested null context": (nested_null_context, False, "context", "context.reset_forbidden"),
    "inline redefinition of a protected term": (
        protected_redefinition,
        False,
        "context",
        "context.protected_redefinition",
    ),
    "validUntil in the past": (expired, True, "validity", "validity.expired"),
    "validFrom in the future": (not_yet_valid, True, "validity", "validity.not_yet_valid"),
    "validUntil before validFrom": (until_before_from, True, "validity", "validity.range_invalid"),
    "malformed did:key": (malformed_did_key, False, "proof", "did.malformed"),
    "did:key of another curve": (not_a_did_key_method, False, "proof", "did.malformed"),
}


@pytest.mark.parametrize("canonicalize", [fastcanon.DEFAULT, canon.rdfc], ids=["fast", "pyld"])
@pytest.mark.parametrize("case", list(CORPUS))
def test_negative_case_is_rejected_with_its_code(case, canonicalize):
    mutate, resign, step_name, code = CORPUS[case]
    if resign:
        document = unsigned()
        mutate(document)
        credential = _resign(document)
    else:
        credential = copy.deepcopy(signed())
        mutate(credential)
    report = verify(json.dumps(credential), policy(canonicalize=canonicalize))
    assert not report.verified
    step = report.step(step_name)
    assert step is not None, report.to_json()
    assert step.outcome is Outcome.FAILED
    assert step.code == code, report.to_json()
    assert report.step("internal") is None  # no unexpected exception was swallowed


def test_the_unmodified_credential_verifies():
    report = verify(json.dumps(signed()), policy())
    assert report.verified, report.to_json()
    assert report.codes() == [
        "parse.ok",
        "context.ok",
        "credential.ok",
        "schema.ok",
        "proof.ok",
        "issuer.ok",
        "validity.ok",
        "status.none",
    ]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "json.invalid"),
        ("", "json.invalid"),
        ("[1, 2]", "json.not_object"),
        ('{"a": 1, "a": 2}', "json.duplicate_key"),
        ('{"a": NaN}', "json.invalid"),
        (b"\xff\xfe{}", "json.not_utf8"),
    ],
)
def test_invalid_json_is_reported(text, code):
    report = verify(text, policy())
    assert not report.verified
    assert report.steps[0].name == "parse"
    assert report.steps[0].code == code


def test_ten_megabyte_document_is_refused_before_parsing():
    big = (
        b'{"@context": ["https://www.w3.org/ns/credentials/v2"], "pad": "'
        + b"x" * (10 * 1024 * 1024)
        + b'"}'
    )
    tracemalloc.start()
    report = verify(big, policy())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.steps[0].code == "json.too_large"
    assert peak < 1024 * 1024  # nothing proportional to the input was allocated


@pytest.mark.parametrize("as_text", [True, False])
def test_ten_thousand_deep_document_is_refused(as_text):
    depth = 10_000
    if as_text:
        document: Any = '{"a":' * depth + "1" + "}" * depth
    else:
        document = {"leaf": 1}
        for _ in range(depth):
            document = {"a": document}
    report = verify(document, policy())
    assert report.steps[0].code == "json.too_deep"
    assert not report.verified


def test_a_deep_but_small_credential_field_is_refused_by_depth_limit():
    credential = signed()
    nested: Any = "x"
    for _ in range(100):
        nested = [nested]
    credential["credentialSubject"]["achievement"]["tag"] = nested
    report = verify(credential, policy())
    assert report.steps[0].code == "json.too_deep"
