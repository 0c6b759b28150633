"""Interop for CLR 2.0 records: a ClrCredential signed by microcred verifies in the Digital Bazaar
stack and the DCC verifier-core (the record's proof), each credential inside verifies there on
its own, and a record changed after signing fails in both."""

from __future__ import annotations

import copy
import json

from microcred.vc import clr
from microcred.vc.credential import sign_credential
from microcred.vc.verify import verify
from tests.helpers import ISSUED, policy
from tests.unit.test_clr import RECORD_KEY, _held, _macro, _micro, _record


def test_a_record_verifies_in_digital_bazaar_and_dcc(harness):
    first = _micro("urn:example:first", "First")
    second = _micro("urn:example:second", "Second")
    record = sign_credential(
        _record(_held(first, second, _macro([first, second]))), RECORD_KEY, created=ISSUED
    )
    assert verify(record, policy()).verified
    assert len(record["credentialSubject"]["association"]) == 2

    changed = copy.deepcopy(record)
    changed["credentialSubject"]["association"][0]["associationType"] = "isPeerOf"
    for stack in ("digitalbazaar", "dcc"):
        results = harness.verify(stack, [record, changed])
        assert [r["verified"] for r in results] == [True, False], (stack, results)
        inside = harness.verify(stack, record["credentialSubject"]["verifiableCredential"])
        assert [r["verified"] for r in inside] == [True] * 3, (stack, inside)
    assert clr.is_clr(json.loads(json.dumps(record)))
