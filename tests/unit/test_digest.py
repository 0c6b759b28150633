"""relatedResource digests: recomputed from the exact component bytes."""

from __future__ import annotations

import json

from microcred.vc.credential import sign_credential
from microcred.vc.digest import check_related, digest_multibase, related_resource
from microcred.vc.verify import verify
from tests.helpers import ISSUED, ISSUER_KEY, policy, signed, unsigned


def test_known_digest():
    # multihash 0x12 0x20 + sha256("") = e3b0c442...b855, in multibase base64url
    assert digest_multibase(b"") == "uEiDjsMRCmPwcFJr79MiZb7kkJ65B5GSbk0yklZkbeFK4VQ"


def test_a_credential_naming_components_signs_verifies_and_checks():
    components = [json.dumps(signed(), indent=2).encode() for _ in range(2)]
    macro = unsigned()
    macro["relatedResource"] = [related_resource(json.loads(c)["id"], c) for c in components]
    credential = sign_credential(macro, ISSUER_KEY, created=ISSUED)
    assert verify(credential, policy()).verified  # the terms are defined by the VC 2.0 context
    ids = [json.loads(c)["id"] for c in components]
    assert check_related(credential, components) == ids
    altered = components[0].replace(b'"name"', b'"name" ', 1)
    assert check_related(credential, [altered, components[1]]) == ids[1:]
