"""Holder binding: a credential is the holder's when its recipient is one of their identities."""

from __future__ import annotations

import pytest

from microcred.domain.holder import Binding, Identities, binding
from microcred.vc.model import IdentityObject

DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
MINE = Identities.of(["Ada@Example.org"], [DID])


def _about(**subject):
    return {"credentialSubject": subject}


def test_hashed_email_with_salt():
    hashed = IdentityObject.for_email("ada@example.org", "pepper").to_json()
    assert binding(_about(identifier=[hashed]), MINE) is Binding.HOLDER
    other = IdentityObject.for_email("eve@example.org", "pepper").to_json()
    assert binding(_about(identifier=[other]), MINE) is Binding.OTHER


def test_identifier_may_be_one_object_and_plain():
    plain = {"type": "IdentityObject", "hashed": False, "identityHash": "ADA@example.org"}
    plain["identityType"] = "emailAddress"
    assert binding(_about(identifier=plain), MINE) is Binding.HOLDER


def test_did_and_mailto_subjects():
    assert binding(_about(id=DID), MINE) is Binding.HOLDER
    assert binding(_about(id="did:example:someone"), MINE) is Binding.OTHER
    assert binding(_about(id="mailto:ada%40example.org"), MINE) is Binding.HOLDER
    # a VC 1.1 subject list: one of them is the holder
    assert binding({"credentialSubject": [{"id": "did:example:x"}, {"id": DID}]}, MINE) == "holder"


@pytest.mark.parametrize(
    "credential",
    [
        {"credentialSubject": {"achievement": {"name": "x"}}},
        {"credentialSubject": "not an object"},
        {},
        "not a credential",
        _about(identifier=[{"identityType": "name", "identityHash": "Ada", "hashed": False}]),
    ],
)
def test_no_recipient_we_can_bind(credential):
    assert binding(credential, MINE) is Binding.UNKNOWN


def test_nobody_proven_binds_nothing():
    hashed = IdentityObject.for_email("ada@example.org").to_json()
    assert binding(_about(identifier=[hashed]), Identities()) is Binding.OTHER
