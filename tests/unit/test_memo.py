"""What verification keeps between runs is only what cannot change: canonical forms and schema
findings by content. Status, keys, trust and dates are read every time."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

from microcred.vc import status_list
from microcred.vc.credential import sign_credential
from microcred.vc.loader import DocumentLoader, default_loader
from microcred.vc.memo import VerifyMemo, content_key
from microcred.vc.status_list import BitstringStatusChecker, encode, entry, list_credential
from microcred.vc.verify import verify
from tests.helpers import ISSUED, ISSUER_KEY, policy, signed, unsigned

LIST_URL = "https://example.org/status/1"


def test_content_key_ignores_key_order_only():
    assert content_key({"a": 1, "b": [1, 2]}) == content_key({"b": [1, 2], "a": 1})
    assert content_key({"a": 1, "b": [1, 2]}) != content_key({"a": 1, "b": [2, 1]})


def test_a_second_verification_reuses_the_canonical_forms_and_schema_findings():
    memo = VerifyMemo(default_loader())
    chosen = policy(memo=memo)
    credential = signed()
    assert verify(credential, chosen).verified
    first = (memo.hits, memo.misses)
    assert first[1] >= 3  # document, proof options, schema
    assert verify(json.loads(json.dumps(credential)), chosen).verified
    assert memo.misses == first[1]
    assert memo.hits >= first[0] + 3

    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["achievement"]["name"] = "Something else"
    report = verify(tampered, chosen)  # other content: computed afresh, and it fails
    assert report.step("proof").code == "proof.signature_invalid"
    assert memo.misses > first[1]


def test_a_memo_bound_to_another_loader_is_not_used():
    other = DocumentLoader({})
    memo = VerifyMemo(other)
    report = verify(signed(), policy(memo=memo))
    assert report.verified
    # only the schema (which needs no loader) went through the memo
    assert memo.misses == 1


def _status_setup(revoked: set[int]):
    document = unsigned()
    document["credentialStatus"] = [entry(LIST_URL, 7, "revocation")]
    credential = signed(document)
    listed = sign_credential(
        list_credential(
            LIST_URL,
            ISSUER_KEY.public.did_key,
            "revocation",
            encode(revoked),
            "2026-05-01T00:00:00Z",
        ),
        ISSUER_KEY,
        created=ISSUED,
    )
    return credential, json.dumps(listed).encode()


def test_status_is_read_live_even_with_a_warm_memo():
    memo = VerifyMemo(default_loader())
    credential, clean = _status_setup(set())
    _, revoked = _status_setup({7})
    served = {"list": clean}
    base = policy(memo=memo)
    live = replace(base, status_checker=BitstringStatusChecker(lambda url: served["list"], base))
    assert verify(credential, live).verified
    served["list"] = revoked  # the issuer revokes: the next verification sees it
    fresh = replace(base, status_checker=BitstringStatusChecker(lambda url: served["list"], base))
    report = verify(credential, fresh)
    assert report.step("status").code == "status.revoked"


def test_a_checker_verifies_each_distinct_list_once(monkeypatch):
    credential, listed = _status_setup(set())
    calls = []
    real = status_list.BitstringStatusChecker._verify_list

    def counting(self, raw, entry_type):
        calls.append(raw)
        return real(self, raw, entry_type)

    monkeypatch.setattr(status_list.BitstringStatusChecker, "_verify_list", counting)
    base = policy()
    checked = replace(base, status_checker=BitstringStatusChecker(lambda url: listed, base))
    for _ in range(5):
        assert verify(credential, checked).verified
    assert len(calls) == 1
