"""Signing: issuer binding, control characters, Unicode round trips, schema of what we sign."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microcred.vc import proofs, schema
from microcred.vc.credential import bind_issuer, sign_credential
from microcred.vc.errors import ContextError, SigningError
from microcred.vc.verify import verify
from tests.helpers import ISSUED, ISSUER_KEY, OTHER_KEY, policy, signed, unsigned


def test_issuer_is_filled_when_absent():
    document = unsigned()
    del document["issuer"]
    result = signed(document)
    assert result["issuer"] == ISSUER_KEY.public.did_key
    assert verify(result, policy()).verified


def test_issuer_id_is_filled_when_the_profile_has_none():
    document = unsigned()
    del document["issuer"]["id"]
    result = signed(document)
    assert result["issuer"]["id"] == ISSUER_KEY.public.did_key
    assert result["issuer"]["name"] == "Example Health Academy"


@pytest.mark.parametrize("issuer", ["did:web:example.org", {"id": "did:web:example.org"}])
def test_another_controller_is_refused(issuer):
    document = unsigned()
    document["issuer"] = issuer
    with pytest.raises(SigningError) as caught:
        signed(document)
    assert caught.value.code == "sign.issuer_mismatch"
    assert "did:web:example.org" in caught.value.message


def test_bind_issuer_does_not_modify_its_input():
    document = unsigned()
    del document["issuer"]
    bind_issuer(document, "did:key:z6Mk")
    assert "issuer" not in document


@pytest.mark.parametrize("char", ["\b", "\v", "\f", "\x00", "\x01", "\x1b", "\x7f"])
def test_control_characters_are_refused_with_their_place(char):
    document = unsigned()
    document["credentialSubject"]["achievement"]["name"] = f"Bad{char}name"
    with pytest.raises(SigningError) as caught:
        signed(document)
    assert caught.value.code == "text.control_character"
    assert "$.credentialSubject.achievement.name" in caught.value.message
    assert f"U+{ord(char):04X}" in caught.value.message


def test_control_characters_in_keys_are_refused():
    document = unsigned()
    document["credentialSubject"]["achievement"]["x\x01"] = "y"
    with pytest.raises(SigningError):
        signed(document)


@pytest.mark.parametrize("suite", proofs.SIGNING_SUITES)
def test_signed_credentials_match_the_1edtech_schema(suite):
    credential = signed(suite=suite)
    assert isinstance(credential["proof"], list)  # the 1EdTech schema wants an array
    assert schema.validate(credential, schema.ACHIEVEMENT_CREDENTIAL) == []


def test_schema_problems_name_the_place():
    credential = signed()
    del credential["credentialSubject"]["achievement"]["criteria"]
    problems = schema.validate(credential, schema.ACHIEVEMENT_CREDENTIAL)
    assert any(
        p.path == "$.credentialSubject.achievement" and "criteria" in p.message for p in problems
    )


def test_schema_failure_fails_verification():
    document = unsigned()
    del document["credentialSubject"]["achievement"]["criteria"]
    report = verify(signed(document), policy())
    assert report.step("schema").code == "schema.invalid"
    assert report.step("proof").code == "proof.ok"
    assert not report.verified


def test_refuses_to_sign_twice():
    with pytest.raises(SigningError) as caught:
        sign_credential(signed(), ISSUER_KEY, created=ISSUED)
    assert caught.value.code == "sign.already_signed"


def test_refuses_unknown_suite():
    with pytest.raises(SigningError) as caught:
        signed(suite="Ed25519Signature2018")
    assert caught.value.code == "sign.suite_unsupported"


def test_verification_method_must_belong_to_the_controller():
    with pytest.raises(SigningError) as caught:
        signed(verification_method=OTHER_KEY.public.did_key_method_id)
    assert caught.value.code == "sign.method_mismatch"


safe_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
        "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f",
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=safe_text, narrative=safe_text, suite=st.sampled_from(proofs.SIGNING_SUITES))
def test_any_text_signs_and_verifies_and_any_change_is_caught(name, narrative, suite):
    document = unsigned()
    document["credentialSubject"]["achievement"]["name"] = name
    document["credentialSubject"]["achievement"]["criteria"]["narrative"] = narrative
    credential = signed(document, suite=suite)
    assert verify(credential, policy()).verified
    credential["credentialSubject"]["achievement"]["name"] = name + "!"
    report = verify(credential, policy())
    assert report.step("proof").code == "proof.signature_invalid"


def test_refuses_to_sign_what_it_would_refuse_to_verify():
    document = unsigned()
    document["@context"].append({"@base": "https://attacker.example/"})
    with pytest.raises(ContextError) as caught:
        signed(document)
    assert caught.value.code == "context.base_forbidden"


@pytest.mark.parametrize(
    "place",
    ["value", "key", "type", "first of a known shape", "later of a known shape"],
)
def test_the_walk_that_canonicalises_also_finds_control_characters(place):
    """Signing with microcred's canonicaliser reads the text from its walk of the document:
    keys and fixed strings by shape (kept per shape), the other strings as values. A shape
    signed cleanly before does not let a later bad value through."""
    from microcred.vc.fastcanon import FastCanonicalizer

    fast = FastCanonicalizer()
    clean = unsigned()
    signed(copy.deepcopy(clean), canonicalize=fast)  # the shape is known from here on
    document = copy.deepcopy(clean)
    achievement = document["credentialSubject"]["achievement"]
    if place == "value":
        achievement["description"] = "tab\tis fine, escape\x1b is not"
    elif place == "key":
        achievement["n\x7fme"] = achievement.pop("name")
    elif place == "type":
        achievement["type"] = ["Achievement\x01"]
    elif place == "first of a known shape":
        achievement["name"] = "\x00" + achievement["name"]
    else:
        signed(copy.deepcopy(clean), canonicalize=fast)
        achievement["name"] = achievement["name"] + "\x08"
    with pytest.raises(SigningError) as caught:
        signed(document, canonicalize=fast)
    assert caught.value.code == "text.control_character"
