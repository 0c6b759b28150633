"""microcred's compiled canonical forms equal jsonld.js's (Digital Bazaar, npm) byte for byte."""

from __future__ import annotations

import random

from microcred.vc.fastcanon import FastCanonicalizer
from microcred.vc.loader import default_loader
from tests.helpers import ISSUER_KEY, unsigned
from tests.issued import random_credential
from tests.node_harness import Harness


def test_issued_credentials_canonicalise_as_jsonld_js_does(harness: Harness) -> None:
    rng = random.Random(2026)  # noqa: S311 - test data
    documents = [random_credential(rng, ISSUER_KEY.public.did_key) for _ in range(150)]
    # one definition, many learners: the template path proper
    for _ in range(50):
        again = random_credential(random.Random(11), ISSUER_KEY.public.did_key)  # noqa: S311
        again["id"] = f"urn:uuid:00000000-0000-4000-8000-{rng.randrange(10**12):012d}"
        again["credentialSubject"]["identifier"][1]["identityHash"] = rng.choice(
            ["Zoë Ñúñez", 'Ann "the" Smith', "李小龍", "back\\slash", "tab\there"]
        ) + str(rng.randrange(1000))
        documents.append(again)
    tied = unsigned()
    same = {"type": ["Result"], "resultDescription": "urn:uuid:1", "status": "Completed"}
    tied["credentialSubject"]["result"] = [dict(same), dict(same)]
    documents.append(tied)

    fast = FastCanonicalizer(direct_first=False)  # every document through a template
    ours = [fast(document, default_loader()) for document in documents]
    first_sight = FastCanonicalizer()  # each shape's first straight to RDF (vc/direct.py)
    direct = [first_sight(document, default_loader()) for document in documents]
    [answer] = harness.run([{"op": "canonize", "documents": documents}])
    assert fast.stats["fallback"] == 0
    assert fast.stats["template"] == len(documents)
    assert fast.stats["built"] < 160  # the 50 of one definition share a template
    assert first_sight.stats["direct"] >= 150
    assert first_sight.stats["fallback"] == 0
    theirs = answer["nquads"]
    for mine in (ours, direct):
        mismatched = [i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b]
        assert not mismatched, (mismatched[:5], theirs[mismatched[0]])
