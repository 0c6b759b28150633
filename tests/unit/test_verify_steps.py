"""The verification report: validity, status, did:web keys, proof sets, policy."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from microcred.vc import proofs
from microcred.vc.credential import sign_credential
from microcred.vc.did import OfflineResolver
from microcred.vc.did_web import ListedKey, build_did_document
from microcred.vc.loader import VC_V1
from microcred.vc.policy import CredentialStatus, StatusResult
from microcred.vc.report import Outcome
from microcred.vc.verify import verify
from tests.helpers import ISSUED, ISSUER_KEY, NOW, OTHER_KEY, policy, signed, unsigned

STATUS_ENTRY = {
    "id": "https://example.org/status/1#94567",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "94567",
    "statusListCredential": "https://example.org/status/1",
}


def _with_status():
    document = unsigned()
    document["credentialStatus"] = dict(STATUS_ENTRY)
    return signed(document)


class FixedStatus:
    def __init__(self, status: CredentialStatus) -> None:
        self.status = status
        self.seen: list[dict] = []

    def check(self, credential, entry):
        self.seen.append(entry)
        return StatusResult(self.status, f"the list says {self.status.value}")


def test_status_without_a_checker_is_unchecked_not_valid():
    report = verify(_with_status(), policy())
    step = report.step("status")
    assert step.outcome is Outcome.UNCHECKED
    assert step.code == "status.unchecked"
    assert report.verified  # authentic; the status is reported as not checked
    strict = verify(_with_status(), policy(require_status_check=True))
    assert not strict.verified


@pytest.mark.parametrize(
    ("status", "code", "verified"),
    [
        (CredentialStatus.VALID, "status.ok", True),
        (CredentialStatus.REVOKED, "status.revoked", False),
        (CredentialStatus.SUSPENDED, "status.suspended", False),
        (CredentialStatus.UNKNOWN, "status.unknown", True),
    ],
)
def test_status_checker_results(status, code, verified):
    checker = FixedStatus(status)
    report = verify(_with_status(), policy(status_checker=checker))
    assert report.step("status").code == code
    assert report.verified is verified
    assert checker.seen == [STATUS_ENTRY]


def test_clock_skew_is_allowed():
    document = unsigned()
    document["validFrom"] = (NOW + timedelta(seconds=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    credential = signed(document)
    assert verify(credential, policy()).step("validity").code == "validity.ok"
    strict = verify(credential, policy(clock_skew=timedelta(0)))
    assert strict.step("validity").code == "validity.not_yet_valid"


def test_malformed_date_is_reported():
    document = unsigned()
    document["validUntil"] = "next tuesday"
    credential = signed(document)
    report = verify(credential, policy(check_schema=False))
    assert report.step("validity").code == "validity.malformed_date"


def test_did_web_issuer_with_rotated_key_still_verifies_old_credentials():
    did = "did:web:example.org:providers:acme"
    old = signed(
        unsigned(issuer=did),
        controller=did,
        verification_method=f"{did}#key-1",
    )
    document = build_did_document(
        did,
        [ListedKey("key-2", OTHER_KEY.public), ListedKey("key-1", ISSUER_KEY.public, active=False)],
    )
    report = verify(old, policy(resolver=OfflineResolver({did: document})))
    assert report.verified, report.to_json()
    # Without the DID document the key cannot be found: unresolvable, not a crash.
    report = verify(old, policy())
    assert report.step("proof").code == "did.unresolvable"


def test_key_not_listed_for_assertion():
    did = "did:web:example.org"
    credential = signed(unsigned(issuer=did), controller=did, verification_method=f"{did}#k")
    document = build_did_document(did, [ListedKey("k", ISSUER_KEY.public)])
    document["assertionMethod"] = []
    report = verify(credential, policy(resolver=OfflineResolver({did: document})))
    assert report.step("issuer").code == "issuer.key_not_authorized"


def test_policy_can_refuse_a_suite():
    credential = signed(suite=proofs.EDDSA_JCS_2022)
    report = verify(credential, policy(suites=frozenset({proofs.EDDSA_RDFC_2022})))
    assert report.step("proof").code == "proof.suite_not_allowed"


def test_two_proofs_must_both_hold():
    first = signed()
    second = sign_credential(
        {k: v for k, v in first.items() if k != "proof"},
        ISSUER_KEY,
        created=ISSUED,
        suite=proofs.EDDSA_JCS_2022,
    )
    both = dict(first)
    both["proof"] = first["proof"] + second["proof"]
    assert verify(both, policy()).verified
    both["proof"][1] = dict(both["proof"][1], proofValue=first["proof"][0]["proofValue"])
    report = verify(both, policy())
    assert report.step("proof").code == "proof.signature_invalid"
    assert "proof 2 of 2" in report.step("proof").message


def test_expired_proof():
    credential = signed()
    credential["proof"][0]["expires"] = "2026-01-01T00:00:00Z"
    assert verify(credential, policy()).step("proof").code == "proof.expired"


def test_vc11_dates_are_checked():
    document = unsigned()
    document["@context"] = [VC_V1, "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"]
    document["issuanceDate"] = document.pop("validFrom")
    document["expirationDate"] = "2026-05-20T00:00:00Z"
    del document["credentialSubject"]["achievement"]["inLanguage"]
    report = verify(signed(document), policy())
    assert report.step("schema").outcome is Outcome.SKIPPED
    assert report.step("validity").code == "validity.expired"


def test_report_serialises_to_json():
    report = verify(signed(), policy())
    data = json.loads(json.dumps(report.to_json()))
    assert data["verified"] is True
    assert [s["step"] for s in data["steps"]] == [
        "parse",
        "context",
        "credential",
        "schema",
        "proof",
        "issuer",
        "validity",
        "status",
    ]


def test_a_presentation_is_not_taken_for_a_credential():
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [signed()],
    }
    report = verify(presentation, policy())
    assert report.step("credential").code == "credential.type_missing"
    assert not report.verified


def test_an_unreachable_status_list_is_unknown_never_valid():
    from microcred.vc.status_list import BitstringStatusChecker

    def unreachable(url: str) -> bytes:
        raise OSError(f"connection refused: {url}")

    checker = BitstringStatusChecker(unreachable, policy())
    report = verify(_with_status(), policy(status_checker=checker))
    assert report.step("status").code == "status.unknown"
    assert "could not be fetched" in report.step("status").message
    strict = verify(_with_status(), policy(status_checker=checker, require_status_check=True))
    assert not strict.verified
