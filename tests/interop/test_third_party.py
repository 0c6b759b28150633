"""Interop: microcred's credentials verify in Digital Bazaar's and the DCC's verifiers, and
credentials signed by the Digital Bazaar stack verify in microcred; tampered copies fail in all.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from microcred.vc import proofs
from microcred.vc.errors import ContextError
from microcred.vc.loader import OB_V3P0_303, VC_V1
from microcred.vc.multikey import KeyPair
from microcred.vc.verify import verify
from tests.helpers import ISSUER_KEY, policy, signed, unsigned

SEED = bytes(range(100, 132))
DB_KEY = KeyPair.from_seed(SEED)
CREATED = "2026-05-01T09:30:00Z"

TEXTS = {
    "emoji": "Team leadership 🚀🧑‍🤝‍🧑 with a 🇪🇺 flag",
    "quotes and backslashes": "He said \"done\" \\ C:\\path\\to\\file 'single'",
    "newlines and tabs": "Line one\nLine two\r\n\tindented",
    "scripts": "Ελληνικά · 日本語 · العربية · עִברִית · हिन्दी · Ŧěšť",
    "combining and zero-width": "e\u0301 vs é, zero\u200bwidth, bidi \u202eRTL\u202c",
    "private use and astral": "\ue000\uffff 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \U0010fffd",
}


def _with_text(text: str) -> dict[str, Any]:
    document = unsigned()
    document["credentialSubject"]["achievement"]["name"] = text
    document["credentialSubject"]["achievement"]["description"] = text + " (description)"
    document["name"] = text
    return document


def _tamper(credential: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(credential)
    changed["credentialSubject"]["achievement"]["name"] += " (altered)"
    return changed


@pytest.mark.parametrize("suite", [proofs.EDDSA_RDFC_2022, proofs.EDDSA_JCS_2022])
@pytest.mark.parametrize("proof_as_list", [True, False])
def test_our_credentials_verify_in_digital_bazaar(harness, suite, proof_as_list):
    ours = [signed(_with_text(t), suite=suite, proof_as_list=proof_as_list) for t in TEXTS.values()]
    ours.append(signed(suite=suite, proof_as_list=proof_as_list))
    results = harness.verify("digitalbazaar", ours)
    assert [r["verified"] for r in results] == [True] * len(ours), results
    tampered = harness.verify("digitalbazaar", [_tamper(c) for c in ours])
    assert [r["verified"] for r in tampered] == [False] * len(ours)


def test_our_credentials_verify_in_dcc_verifier_core(harness):
    # verifier-core 1.0.0-beta.11 supports eddsa-rdfc-2022 and Ed25519Signature2020 (not JCS).
    ours = [signed(_with_text(t)) for t in TEXTS.values()] + [signed(), signed(proof_as_list=False)]
    results = harness.verify("dcc", ours)
    assert [r["verified"] for r in results] == [True] * len(ours), results
    for result in results:
        assert {"id": "valid_signature", "valid": True} in result["log"]
    tampered = harness.verify("dcc", [_tamper(c) for c in ours])
    assert [r["verified"] for r in tampered] == [False] * len(ours)


def test_dcc_rejects_what_we_reject_for_expiry(harness):
    document = unsigned()
    document["validUntil"] = "2020-01-01T00:00:00Z"
    document["validFrom"] = "2019-01-01T00:00:00Z"
    expired = signed(document)
    [result] = harness.verify("dcc", [expired])
    assert {"id": "expiration", "valid": False} in [
        {"id": e["id"], "valid": e["valid"]} for e in result["log"]
    ]
    assert verify(expired, policy()).step("validity").code == "validity.expired"


OB_300 = "https://purl.imsglobal.org/spec/ob/v3p0/context.json"
OB_302 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"


def _db_document(
    text: str | None = None, vc1: bool = False, ob_context: str = OB_302
) -> dict[str, Any]:
    document = unsigned(issuer=DB_KEY.public.did_key) if text is None else _with_text(text)
    document["issuer"] = {"id": DB_KEY.public.did_key, "type": ["Profile"], "name": "DB Issuer"}
    if vc1:  # VC 2.0 documents keep the sample's OB 3.0.3 context
        document["@context"] = [VC_V1, ob_context]
        document["issuanceDate"] = document.pop("validFrom")
        del document["credentialSubject"]["achievement"]["inLanguage"]  # not in OB 3.0.2
    return document


DB_CASES = {
    "VC 2.0 eddsa-rdfc-2022": (proofs.EDDSA_RDFC_2022, False, OB_V3P0_303),
    "VC 2.0 eddsa-jcs-2022": (proofs.EDDSA_JCS_2022, False, OB_V3P0_303),
    "VC 2.0 Ed25519Signature2020": (proofs.ED25519_SIGNATURE_2020, False, OB_V3P0_303),
    "VC 1.1 OB 3.0.2 Ed25519Signature2020": (proofs.ED25519_SIGNATURE_2020, True, OB_302),
    "VC 1.1 OB 3.0.0 Ed25519Signature2020": (proofs.ED25519_SIGNATURE_2020, True, OB_300),
    "VC 1.1 OB 3.0.2 eddsa-rdfc-2022": (proofs.EDDSA_RDFC_2022, True, OB_302),
}


@pytest.mark.parametrize("case", list(DB_CASES))
def test_digital_bazaar_credentials_verify_in_microcred(harness, case):
    suite, vc1, ob_context = DB_CASES[case]
    theirs = harness.sign(suite, _db_document(vc1=vc1, ob_context=ob_context), SEED, CREATED)
    report = verify(theirs, policy())
    assert report.verified, report.to_json()
    assert report.step("issuer").code == "issuer.ok"
    tampered = verify(_tamper(theirs), policy())
    assert not tampered.verified
    assert tampered.step("proof").code == "proof.signature_invalid"
    # and the signer's own verifier agrees on both
    results = harness.verify("digitalbazaar", [theirs, _tamper(theirs)])
    assert [r["verified"] for r in results] == [True, False]


@pytest.mark.parametrize("name", list(TEXTS))
def test_unicode_signed_by_digital_bazaar_verifies_in_microcred(harness, name):
    theirs = harness.sign(proofs.EDDSA_RDFC_2022, _db_document(TEXTS[name]), SEED, CREATED)
    report = verify(theirs, policy())
    assert report.verified, report.to_json()


def test_issuer_binding_agrees_with_digital_bazaar(harness):
    # A valid signature by a key that the named issuer does not control.
    document = _db_document()
    document["issuer"]["id"] = ISSUER_KEY.public.did_key
    theirs = harness.sign(proofs.EDDSA_RDFC_2022, document, SEED, CREATED)
    report = verify(theirs, policy())
    assert report.step("proof").code == "proof.ok"
    assert report.step("issuer").code == "issuer.key_not_controlled"
    [result] = harness.verify("digitalbazaar", [theirs])
    assert result["verified"] is False


def test_undefined_terms_are_refused_by_both(harness):
    # OB 3.0.2 does not define inLanguage: Digital Bazaar's safe mode and our strict
    # expansion both refuse to sign it.
    document = _db_document(vc1=True)
    document["credentialSubject"]["achievement"]["inLanguage"] = "en"
    [result] = harness.run(
        [
            {
                "op": "sign",
                "suite": proofs.ED25519_SIGNATURE_2020,
                "credential": document,
                "seedHex": SEED.hex(),
                "created": CREATED,
            }
        ]
    )
    assert "signed" not in result
    assert "Safe mode" in result["error"]
    with pytest.raises(ContextError) as caught:
        signed(document, key=DB_KEY)
    assert caught.value.code == "context.undefined_term"
