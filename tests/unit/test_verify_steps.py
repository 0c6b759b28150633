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
from microcred.vc.report import Outcome, Verdict
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


def test_status_without_a_checker_fails_closed_unless_skipped_explicitly():
    report = verify(_with_status(), policy())
    step = report.step("status")
    assert step.outcome is Outcome.FAILED
    assert step.code == "status.unchecked"
    assert not report.verified
    assert report.verdict is Verdict.STATUS_UNCHECKED
    offline = verify(_with_status(), policy(skip_status=True))
    assert offline.step("status").outcome is Outcome.UNCHECKED
    assert offline.step("status").code == "status.skipped"
    assert offline.verified  # the caller chose not to require it ...
    assert offline.verdict is Verdict.STATUS_UNCHECKED  # ... and the verdict says so
    assert "status was not checked" in offline.headline()
    assert offline.to_json()["verdict"] == "status_unchecked"


@pytest.mark.parametrize(
    ("status", "code", "verdict"),
    [
        (CredentialStatus.VALID, "status.ok", Verdict.VERIFIED),
        (CredentialStatus.REVOKED, "status.revoked", Verdict.REVOKED),
        (CredentialStatus.SUSPENDED, "status.suspended", Verdict.SUSPENDED),
        (CredentialStatus.UNKNOWN, "status.verification_error", Verdict.STATUS_UNCHECKED),
    ],
)
def test_status_checker_results(status, code, verdict):
    checker = FixedStatus(status)
    report = verify(_with_status(), policy(status_checker=checker))
    assert report.step("status").code == code
    assert report.verdict is verdict
    assert report.verified is (verdict is Verdict.VERIFIED)
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
    assert report.step("status").code == "status.retrieval_error"
    assert "could not be retrieved" in report.step("status").message
    assert not report.verified
    assert report.verdict is Verdict.STATUS_UNCHECKED


PROFILE = "https://issuer.example/profile"


def _https_issuer_documents() -> dict[str, dict]:
    profile = build_did_document(PROFILE, [ListedKey("key-1", ISSUER_KEY.public)])
    profile["@context"] = ["https://www.w3.org/ns/cid/v1"]
    key_document = {
        "id": "https://issuer.example/keys/1",
        "type": "Multikey",
        "controller": PROFILE,
        "publicKeyMultibase": ISSUER_KEY.public.multibase,
    }
    profile["assertionMethod"].append(key_document["id"])
    return {PROFILE: profile, key_document["id"]: key_document}


def test_https_url_keys_in_the_style_of_the_ob3_guide():
    """A key at an https URL: in the issuer's controller document (with a fragment), or a key
    document of its own whose controller lists it for assertions."""
    documents = _https_issuer_documents()
    resolver = OfflineResolver(documents)
    fragment = sign_credential(
        unsigned(PROFILE),
        ISSUER_KEY,
        created=ISSUED,
        controller=PROFILE,
        verification_method=f"{PROFILE}#key-1",
    )
    report = verify(fragment, policy(resolver=resolver))
    assert report.verdict is Verdict.VERIFIED, report.to_json()
    assert report.step("issuer").code == "issuer.ok"

    document = unsigned(PROFILE)
    document["proof"] = [
        proofs.create_proof(
            document,
            ISSUER_KEY,
            "https://issuer.example/keys/1",
            created=ISSUED,
            loader=policy().loader,
        )
    ]
    assert verify(document, policy(resolver=resolver)).verdict is Verdict.VERIFIED
    # without a resolver that may fetch, the key is unresolvable: never a pass
    offline = verify(document, policy())
    assert offline.step("proof").code == "did.unresolvable"
    assert "does not fetch controller documents" in offline.step("proof").message
    # a controller that does not list the key for assertions
    documents[PROFILE]["assertionMethod"].remove("https://issuer.example/keys/1")
    refused = verify(document, policy(resolver=OfflineResolver(documents)))
    assert refused.step("proof").code == "proof.method_not_found"


def test_embedded_endorsements_with_a_single_proof_object_are_valid_and_verified():
    endorser = OTHER_KEY
    endorsement = sign_credential(
        {
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            ],
            "id": "urn:uuid:6a1b3c1e-2c9e-4f7e-9d7c-1f0f4c3b2a10",
            "type": ["VerifiableCredential", "EndorsementCredential"],
            "name": "Endorsed by a QA body",
            "issuer": {"id": endorser.public.did_key, "type": ["Profile"], "name": "QA"},
            "validFrom": "2026-05-01T00:00:00Z",
            "credentialSubject": {
                "id": ISSUER_KEY.public.did_key,
                "type": ["EndorsementSubject"],
                "endorsementComment": "Meets the national standard",
            },
        },
        endorser,
        created=ISSUED,
        proof_as_list=False,
    )
    document = unsigned()
    document["issuer"]["endorsement"] = [endorsement]
    report = verify(signed(document), policy())
    assert report.step("schema").code == "schema.ok", report.step("schema").message
    assert report.step("endorsements").code == "endorsement.ok"
    assert report.verdict is Verdict.VERIFIED

    forged = json.loads(json.dumps(endorsement))
    forged["credentialSubject"]["endorsementComment"] = "The best provider in the world"
    document = unsigned()
    document["issuer"]["endorsement"] = [forged]
    report = verify(signed(document), policy())
    step = report.step("endorsements")
    assert step.outcome is Outcome.WARNING
    assert step.code == "endorsement.not_verified"
    assert report.verdict is Verdict.VERIFIED_WITH_WARNINGS
    assert report.headline().startswith("Authentic, but 1 of 1 endorsements do not verify")


def _proof(document, suite, **extra):
    """A proof whose options carry ``extra`` (an id, a previousProof) before signing."""
    from microcred.vc.canon import rdfc
    from microcred.vc.multikey import multibase_encode

    options = proofs.proof_options(suite, ISSUER_KEY.public.did_key_method_id, ISSUED)
    options.update(extra)
    if suite == proofs.EDDSA_JCS_2022:
        options["@context"] = document["@context"]
    data = proofs.signing_input(document, options, suite, policy().loader, rdfc)
    return {**options, "proofValue": multibase_encode(ISSUER_KEY.sign(data.hash_data))}


def test_proof_sets_and_chains_verify():
    """A proof set (two independent proofs) and a chain (the second proof signed the document
    with the first, naming it in previousProof) both verify; a chain whose previous proof is
    missing, or was altered, does not."""
    document = unsigned()
    first = _proof(
        document, proofs.EDDSA_RDFC_2022, id="urn:uuid:2f0c8b5e-0d55-4b4e-9a61-7c3f0a1e5b01"
    )
    second = _proof(document, proofs.EDDSA_JCS_2022)
    assert verify({**document, "proof": [first, second]}, policy()).verdict is Verdict.VERIFIED

    chained = _proof(
        {**document, "proof": [first]}, proofs.EDDSA_RDFC_2022, previousProof=first["id"]
    )
    chain = {**document, "proof": [first, chained]}
    assert verify(chain, policy()).verdict is Verdict.VERIFIED, verify(chain, policy()).to_json()

    broken = verify({**document, "proof": [chained]}, policy())
    assert broken.step("proof").code == "proof.previous_missing"
    altered = json.loads(json.dumps(chain))
    altered["proof"][0]["created"] = "2026-05-02T09:30:00Z"
    assert verify(altered, policy()).step("proof").code == "proof.signature_invalid"


def test_a_suite_it_does_not_support_is_named():
    document = signed()
    document["@context"] = [*document["@context"], "https://w3id.org/security/suites/jws-2020/v1"]
    report = verify(document, policy())
    assert report.step("context").code == "proof.suite_unsupported"
    assert "JsonWebSignature2020" in report.step("context").message
    assert report.verdict is Verdict.INVALID


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("validUntil", "9999-12-31T23:59:59Z", "validity.ok"),  # "never expires"
        ("validFrom", "0001-01-01T00:00:00Z", "validity.ok"),
        ("validFrom", "0001-01-01T00:00:00+01:00", "validity.malformed_date"),
    ],
)
def test_extreme_dates_are_judged_not_crashed_on(field, value, code):
    document = unsigned()
    document[field] = value
    report = verify(signed(document), policy())
    assert report.step("validity").code == code
    assert "internal.error" not in report.codes()


def test_numbers_beyond_what_json_processors_read_alike_are_refused():
    document = signed()
    text = json.dumps(document).replace('"name": "Data', '"n": ' + "9" * 400 + ', "name": "Data', 1)
    report = verify(text, policy())
    assert report.codes() == ["json.number_out_of_range"]
    document["credentialSubject"]["n"] = 10**400
    assert verify(document, policy()).codes() == ["json.number_out_of_range"]
    assert verify(text.replace("9" * 400, "1e400"), policy()).codes() == [
        "json.number_out_of_range"
    ]
