"""Verifiable presentations: challenge, domain, holder binding, credentials inside."""

from __future__ import annotations

import copy

import pytest

from microcred.vc.multikey import KeyPair
from microcred.vc.presentation import sign_presentation, verify_presentation
from tests.helpers import ISSUED, policy, signed, unsigned

HOLDER = KeyPair.from_seed(bytes(range(50, 82)))


def _vp(**options):
    return sign_presentation(
        [signed()], HOLDER, challenge="c-123", domain="verifier.example", created=ISSUED, **options
    )


def test_a_signed_presentation_verifies():
    report = verify_presentation(_vp(), policy(), challenge="c-123", domain="verifier.example")
    assert report.verified, report.to_json()
    assert len(report.credentials) == 1


@pytest.mark.parametrize(
    ("challenge", "domain", "code"),
    [
        ("other", "verifier.example", "proof.challenge_mismatch"),
        ("c-123", "evil.example", "proof.domain_mismatch"),
    ],
)
def test_challenge_and_domain_must_match(challenge, domain, code):
    report = verify_presentation(_vp(), policy(), challenge=challenge, domain=domain)
    assert not report.verified
    assert report.presentation.step("proof").code == code


def test_a_tampered_credential_inside_fails_while_the_presentation_proof_is_recomputed():
    vp = _vp()
    vp["verifiableCredential"][0]["credentialSubject"]["achievement"]["name"] = "Forged"
    report = verify_presentation(vp, policy(), challenge="c-123", domain="verifier.example")
    assert not report.verified
    # the presentation's own signature covers the credential too
    assert report.presentation.step("proof").code == "proof.signature_invalid"


def test_a_tampered_credential_re_presented_by_its_holder_fails_on_the_credential():
    tampered = copy.deepcopy(signed())
    tampered["credentialSubject"]["achievement"]["name"] = "Forged"
    vp = sign_presentation([tampered], HOLDER, challenge="c", domain=None, created=ISSUED)
    report = verify_presentation(vp, policy(), challenge="c")
    assert report.presentation.verified
    assert report.credentials[0].step("proof").code == "proof.signature_invalid"
    assert not report.verified


def test_holder_must_control_the_key():
    vp = _vp()
    vp["holder"] = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    report = verify_presentation(vp, policy(), challenge="c-123")
    assert report.presentation.step("proof").code in (
        "proof.signature_invalid",
        "proof.holder_mismatch",
    )


def test_unsigned_presentation_needs_no_challenge_only_when_allowed():
    vp = _vp()
    del vp["proof"]
    assert verify_presentation(vp, policy(), require_proof=False).verified
    report = verify_presentation(vp, policy(), challenge="c-123")
    assert report.presentation.step("proof").code == "proof.missing"


def test_a_credential_signed_for_authentication_is_not_an_assertion():
    vp = _vp()
    report = verify_presentation(
        vp["verifiableCredential"][0] | {"type": ["VerifiablePresentation"]},
        policy(),
        challenge="c-123",
    )
    assert not report.verified


def test_the_holder_must_be_the_subject_a_credential_names():
    about_holder = unsigned()
    about_holder["credentialSubject"]["id"] = HOLDER.public.did_key
    mine = signed(about_holder)
    vp = sign_presentation([mine], HOLDER, challenge="c", domain=None, created=ISSUED)
    report = verify_presentation(vp, policy(), challenge="c")
    assert report.presentation.step("holder").code == "presentation.holder_is_subject"
    assert report.verified, report.to_json()

    someone = unsigned()
    someone["credentialSubject"]["id"] = "did:example:someone-else"
    vp = sign_presentation([signed(someone)], HOLDER, challenge="c", domain=None, created=ISSUED)
    report = verify_presentation(vp, policy(), challenge="c")
    assert report.presentation.step("holder").code == "presentation.holder_not_subject"
    assert not report.verified


def test_an_unsigned_presentation_does_not_prove_its_holder():
    """A bare ``holder`` claim binds nothing: without a verified proof the holder step warns."""
    about_victim = unsigned()
    about_victim["credentialSubject"]["id"] = HOLDER.public.did_key
    vp = sign_presentation(
        [signed(about_victim)], HOLDER, challenge="c", domain=None, created=ISSUED
    )
    del vp["proof"]
    report = verify_presentation(vp, policy(), require_proof=False)
    step = report.presentation.step("holder")
    assert step.outcome.value == "warning"
    assert step.code == "presentation.holder_unproven"
    assert report.verdict.value == "verified_with_warnings"
