"""The compiled RDFC-1.0 path (vc/rdfc.py) equals pyld byte for byte on every credential the
platform issues, and hands the cases it does not label itself to pyld's full algorithm."""

from __future__ import annotations

import copy
import random
from typing import Any

from hypothesis import HealthCheck, given, settings

from microcred.vc import canon
from microcred.vc.credential import sign_credential
from microcred.vc.fastcanon import FastCanonicalizer, _describe
from microcred.vc.loader import default_loader
from tests.helpers import ISSUED, ISSUER_KEY, OTHER_KEY, unsigned
from tests.issued import issued_credentials, random_credential, random_definition

LOADER = default_loader()
DID = ISSUER_KEY.public.did_key


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(issued_credentials(DID))
def test_every_issued_credential_is_compiled_and_equals_pyld(document: dict[str, Any]) -> None:
    fast = FastCanonicalizer(direct_first=False)
    assert fast(document, LOADER) == canon.rdfc(document, LOADER)
    assert fast.stats["fallback"] == 0, fast.stats
    # only two identical anonymous nodes (the same ESCO skill twice, say) need the full step
    assert fast.stats["tied"] == 0 or _twins(document), fast.stats


def _twins(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_twins(v) for v in value.values())
    if isinstance(value, list):
        anonymous = [repr(v) for v in value if isinstance(v, dict) and "id" not in v]
        return len(set(anonymous)) < len(anonymous) or any(_twins(v) for v in value)
    return False


def test_one_definition_many_learners_share_one_template() -> None:
    rng = random.Random(7)  # noqa: S311 - test data
    fast = FastCanonicalizer(direct_first=False)
    first = random_credential(rng, DID)
    others = []
    for _ in range(60):
        document = copy.deepcopy(first)
        other = random_credential(rng, DID)
        # the same definition (shape), another learner, id, dates, grade and texts
        document["id"] = other["id"]
        document["validFrom"] = other["validFrom"]
        subject = document["credentialSubject"]
        subject["identifier"] = other["credentialSubject"]["identifier"]
        document["name"] = other["name"]
        others.append(document)
    for document in others:
        assert fast(document, LOADER) == canon.rdfc(document, LOADER)
    # a text that starts with "@" is kept in the shape (it may be a keyword): a few more shapes
    shapes = {_describe(d)[0] for d in others}
    assert len(shapes) < 5
    assert fast.stats == {
        "template": 60,
        "tied": 0,
        "built": len(shapes),
        "fallback": 0,
        "large": 0,
        "direct": 0,
    }


def test_blank_nodes_with_equal_first_degree_hashes_take_the_full_algorithm() -> None:
    document = unsigned()
    same = {"type": ["Result"], "resultDescription": "urn:uuid:1", "status": "Completed"}
    document["credentialSubject"]["result"] = [dict(same), dict(same)]
    fast = FastCanonicalizer(direct_first=False)
    assert fast(document, LOADER) == canon.rdfc(document, LOADER)
    assert fast.stats["tied"] == 1


def test_equal_quads_of_one_blank_node_merge_before_hashing() -> None:
    document = unsigned()
    achievement = document["credentialSubject"]["achievement"]
    achievement.pop("id", None)  # a blank node
    achievement["tag"] = ["safety", "first aid", "safety"]
    fast = FastCanonicalizer(direct_first=False)
    assert fast(document, LOADER) == canon.rdfc(document, LOADER)
    # another credential of the shape whose values no longer repeat
    achievement["tag"] = ["safety", "first aid", "welding"]
    assert fast(document, LOADER) == canon.rdfc(document, LOADER)
    assert fast.stats["fallback"] == 0


def test_an_embedded_signed_credential_names_its_proof_graph_with_a_blank_node() -> None:
    rng = random.Random(3)  # noqa: S311 - test data
    fast = FastCanonicalizer(direct_first=False)
    for _ in range(5):
        endorsement = sign_credential(
            {
                "@context": [
                    "https://www.w3.org/ns/credentials/v2",
                    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                ],
                "id": f"urn:uuid:6a1b3c1e-2c9e-4f7e-9d7c-{rng.randrange(10**12):012d}",
                "type": ["VerifiableCredential", "EndorsementCredential"],
                "name": random_definition(rng).title,
                "issuer": {"id": OTHER_KEY.public.did_key, "type": ["Profile"], "name": "QA"},
                "validFrom": "2026-05-01T00:00:00Z",
                "credentialSubject": {
                    "id": DID,
                    "type": ["EndorsementSubject"],
                    "endorsementComment": random_definition(rng).title,
                },
            },
            OTHER_KEY,
            created=ISSUED,
        )
        document = unsigned()
        document["issuer"]["endorsement"] = [endorsement]
        assert fast(document, LOADER) == canon.rdfc(document, LOADER)
    assert fast.stats["built"] == 1
    assert fast.stats["template"] == 5
