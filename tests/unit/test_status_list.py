"""Bitstring Status List validation (section 3.2), failing closed: every way a list cannot be used
fails the status step with the spec's error type as its code; VC 1.1 StatusList2021 lists too."""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import replace
from typing import Any

import pytest

from microcred.vc.credential import sign_credential
from microcred.vc.loader import VC_V1
from microcred.vc.report import Outcome, Verdict
from microcred.vc.status_list import BitstringStatusChecker, encode, entry, list_credential
from microcred.vc.verify import verify
from tests.helpers import ISSUED, ISSUER_KEY, OTHER_KEY, policy, signed, unsigned

LIST_URL = "https://issuer.example/status/1"
INDEX = 94567


def _list(
    bits: set[int] | None = None,
    *,
    purpose: str = "revocation",
    encoded: str | None = None,
    key: Any = ISSUER_KEY,
    **fields: Any,
) -> dict[str, Any]:
    document = list_credential(
        LIST_URL,
        key.public.did_key,
        purpose,
        encoded if encoded is not None else encode(bits or set()),
        "2026-05-01T00:00:00Z",
    )
    document.update(fields)
    return sign_credential(document, key, created=ISSUED)


def _credential(*entries: dict[str, Any]) -> dict[str, Any]:
    document = unsigned()
    document["credentialStatus"] = list(entries) or [entry(LIST_URL, INDEX, "revocation")]
    return signed(document)


def _verify(credential: dict[str, Any], served: Any) -> Any:
    def fetch(url: str) -> bytes:
        if isinstance(served, Exception):
            raise served
        body = served[url] if isinstance(served, dict) and url in served else served
        return body if isinstance(body, bytes) else json.dumps(body).encode()

    base = policy()
    return verify(credential, replace(base, status_checker=BitstringStatusChecker(fetch, base)))


def _short_list(entries: int) -> str:
    compressed = gzip.compress(bytes(entries // 8), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")


def _tampered() -> dict[str, Any]:
    listed = _list()
    listed["credentialSubject"]["encodedList"] = encode({INDEX})  # revoked after signing
    return listed


@pytest.mark.parametrize(
    ("served", "code", "words"),
    [
        (OSError("connection refused"), "status.retrieval_error", "could not be retrieved"),
        (b"<html>not found</html>", "status.retrieval_error", "unreadable"),
        (_tampered(), "status.verification_error", "does not verify"),
        (_list(validUntil="2026-05-15T00:00:00Z"), "status.verification_error", "not valid now"),
        (_list(validFrom="2027-01-01T00:00:00Z"), "status.verification_error", "not valid now"),
        (_list(type=["VerifiableCredential"]), "status.verification_error", "not a Bitstring"),
        (_list(purpose="suspension"), "status.verification_error", "'suspension'"),
        (_list(key=OTHER_KEY), "status.verification_error", "not issued by"),
        (_list(encoded=_short_list(65_536)), "status.list_length_error", "at least 131072"),
        (_list(encoded="unot-gzip"), "status.verification_error", "malformed"),
    ],
    ids=[
        "unreachable",
        "not-json",
        "tampered",
        "expired",
        "not-yet-valid",
        "not-a-list",
        "purpose",
        "issuer",
        "too-short",
        "garbage",
    ],
)
def test_a_list_that_cannot_be_used_fails_with_the_spec_error(served, code, words):
    report = _verify(_credential(), served)
    status = report.step("status")
    assert status.outcome is Outcome.FAILED
    assert status.code == code
    assert words in status.message
    assert not report.verified
    assert report.verdict is Verdict.STATUS_UNCHECKED
    assert "could not be checked" in report.headline()


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ({**entry(LIST_URL, 200_000, "revocation")}, "status.range_error"),
        ({**entry(LIST_URL, INDEX, "revocation"), "statusListIndex": "x"}, "status.malformed"),
        ({**entry(LIST_URL, INDEX, "revocation"), "statusListIndex": "-1"}, "status.malformed"),
        ({**entry(LIST_URL, INDEX, "revocation"), "statusListCredential": 4}, "status.malformed"),
        ({**entry(LIST_URL, INDEX, "revocation"), "statusSize": 2}, "status.unsupported"),
        (
            {**entry(LIST_URL, INDEX, "revocation"), "statusPurpose": "message"},
            "status.unsupported",
        ),
    ],
    ids=["range", "index", "negative", "url", "size", "purpose"],
)
def test_an_entry_that_cannot_be_read_fails(status, code):
    report = _verify(_credential(status), _list())
    assert report.step("status").code == code
    assert report.verdict is Verdict.STATUS_UNCHECKED


def test_revoked_outranks_an_unreadable_second_list():
    suspension_url = LIST_URL + "-suspension"
    credential = _credential(
        entry(LIST_URL, INDEX, "revocation"), entry(suspension_url, INDEX, "suspension")
    )
    report = _verify(credential, {LIST_URL: _list({INDEX}), suspension_url: b"nope"})
    assert report.step("status").code == "status.revoked"
    assert report.verdict is Verdict.REVOKED
    assert (
        report.headline()
        == "Not verified: revoked by its issuer: the issuer has revoked this credential"
    )


def test_a_clean_list_passes_and_a_set_bit_revokes():
    assert _verify(_credential(), _list()).verdict is Verdict.VERIFIED
    assert _verify(_credential(), _list({INDEX})).verdict is Verdict.REVOKED


def test_vc11_status_list_2021_entries_are_checked():
    """StatusList2021 (VC 1.1 credentials in the wild): plain base64url, its own types."""
    document = unsigned()
    document["@context"] = [
        VC_V1,
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        "https://w3id.org/vc/status-list/2021/v1",
    ]
    document["issuanceDate"] = document.pop("validFrom")
    del document["credentialSubject"]["achievement"]["inLanguage"]
    document["credentialStatus"] = {
        "id": f"{LIST_URL}#{INDEX}",
        "type": "StatusList2021Entry",
        "statusPurpose": "revocation",
        "statusListIndex": str(INDEX),
        "statusListCredential": LIST_URL,
    }
    credential = signed(document)

    def status_list(bits: set[int]) -> dict[str, Any]:
        return sign_credential(
            {
                "@context": [VC_V1, "https://w3id.org/vc/status-list/2021/v1"],
                "id": LIST_URL,
                "type": ["VerifiableCredential", "StatusList2021Credential"],
                "issuer": ISSUER_KEY.public.did_key,
                "issuanceDate": "2026-05-01T00:00:00Z",
                "credentialSubject": {
                    "id": f"{LIST_URL}#list",
                    "type": "StatusList2021",
                    "statusPurpose": "revocation",
                    "encodedList": encode(bits)[1:],  # no multibase prefix in 2021 lists
                },
            },
            ISSUER_KEY,
            created=ISSUED,
        )

    assert _verify(credential, status_list(set())).verdict is Verdict.VERIFIED
    assert _verify(credential, status_list({INDEX})).verdict is Verdict.REVOKED
    # a 2021 entry pointing at a Bitstring list (other types) is not taken as valid
    assert _verify(credential, _list()).step("status").code == "status.verification_error"


def test_after_a_failed_signature_later_steps_are_not_checked():
    credential = _credential()
    credential["credentialSubject"]["name"] = "Someone Else"
    report = _verify(credential, _list())
    assert report.step("proof").outcome is Outcome.FAILED
    for name in ("issuer", "validity", "status"):
        assert report.step(name).outcome is Outcome.NOT_CHECKED, name
        assert report.step(name).code == f"{name}.not_checked"
    assert report.verdict is Verdict.INVALID
    after = report.steps[[s.name for s in report.steps].index("proof") + 1 :]
    assert {s.outcome for s in after} == {Outcome.NOT_CHECKED}


def test_an_entry_type_it_does_not_know_is_unsupported_not_valid():
    checker = BitstringStatusChecker(lambda url: b"", policy())
    result = checker.check(_credential(), {"type": "CRLEntry", "statusListIndex": "1"})
    assert result.code == "status.unsupported"
    assert "CRLEntry" in result.message


def test_a_status_or_date_hidden_under_its_full_iri_is_refused():
    """JSON-LD signatures sign meaning: the same property under its full IRI keeps the signature
    valid, but a verifier reading the JSON by name would miss it (a revoked credential passing)."""
    revoked = _credential()
    renamed = {
        (
            "https://www.w3.org/2018/credentials#credentialStatus" if k == "credentialStatus" else k
        ): v
        for k, v in revoked.items()
    }
    from microcred.vc.canon import rdfc

    def unsecured(document):
        return {k: v for k, v in document.items() if k != "proof"}

    loader = policy().loader
    assert rdfc(unsecured(renamed), loader) == rdfc(unsecured(revoked), loader)  # same signature
    report = _verify(renamed, _list({INDEX}))
    assert report.step("context").code == "context.hidden_term"
    assert "credentialStatus" in report.step("context").message
    assert report.verdict is Verdict.INVALID
    assert _verify(revoked, _list({INDEX})).verdict is Verdict.REVOKED

    document = unsigned()
    document["validUntil"] = "2026-05-15T00:00:00Z"  # before the test clock: expired
    expired = signed(document)
    hidden = {k: v for k, v in expired.items() if k != "validUntil"}
    hidden["https://www.w3.org/2018/credentials#validUntil"] = {
        "@value": "2026-05-15T00:00:00Z",
        "@type": "http://www.w3.org/2001/XMLSchema#dateTime",
    }
    assert verify(expired, policy()).verdict is Verdict.EXPIRED
    assert verify(hidden, policy()).step("context").code == "context.hidden_term"


def test_a_list_served_under_another_lists_address_is_not_used():
    """The list fetched must be the one the entry names (its id is the URL), not another list of
    the same issuer served there (by a redirect, say)."""
    other = list_credential(
        LIST_URL + "-other",
        ISSUER_KEY.public.did_key,
        "revocation",
        encode(set()),
        "2026-05-01T00:00:00Z",
    )
    report = _verify(_credential(), sign_credential(other, ISSUER_KEY, created=ISSUED))
    assert report.step("status").code == "status.verification_error"
    assert "names itself" in report.step("status").message
