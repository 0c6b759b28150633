"""microcred's JSON-LD processor (``vc/ldprocessor.py``: type-scoped contexts processed once
per active context, an indexed node map) gives plain pyld's results: expansion equals
``jsonld.expand`` on the corpus (valid and broken documents, third-party shapes), random
platform credentials and a record holding credentials of several shapes; the record's
canonical N-Quads equal ``jsonld.normalize``'s."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from pyld import jsonld

from microcred.vc import canon, clr
from microcred.vc.ldprocessor import Processor
from microcred.vc.loader import default_loader
from tests.corpus import entries
from tests.helpers import ISSUER_KEY, signed
from tests.issued import random_credential

LOADER = default_loader()


def _both(document: Any) -> tuple[Any, Any]:
    """(plain pyld, microcred's processor): each result or the error's code."""
    outcomes = []
    for expand in (jsonld.expand, Processor().expand):
        options = {"documentLoader": LOADER, "contextResolver": LOADER.context_resolver()}
        try:
            outcomes.append(expand(json.loads(json.dumps(document)), options))
        except jsonld.JsonLdError as exc:
            outcomes.append(("error", getattr(exc, "code", None), exc.type))
    return outcomes[0], outcomes[1]


@pytest.mark.parametrize("entry", [e for e in entries() if e.file.endswith(".json")], ids=str)
def test_the_corpus_expands_as_plain_pyld(entry) -> None:
    try:
        document = entry.document()
    except (UnicodeDecodeError, ValueError):
        pytest.skip("not JSON")
    if not isinstance(document, dict) or "@context" not in document:
        pytest.skip("no JSON-LD")
    plain, ours = _both(document)
    assert ours == plain


def test_random_credentials_expand_as_plain_pyld() -> None:
    rng = random.Random(13)  # noqa: S311 - test data
    for _ in range(40):
        plain, ours = _both(signed(random_credential(rng, ISSUER_KEY.public.did_key)))
        assert ours == plain


def _record(count: int) -> dict[str, Any]:
    rng = random.Random(7)  # noqa: S311 - test data
    held = []
    for _ in range(count):
        credential = signed(random_credential(rng, ISSUER_KEY.public.did_key))
        held.append(clr.Held(json.dumps(credential).encode(), credential))
    record = clr.build_record(
        record_id="urn:uuid:00000000-0000-4000-8000-000000000001",
        issuer={"id": ISSUER_KEY.public.did_key, "type": ["Profile"], "name": "Records"},
        name="Record",
        description=f"{count} credentials",
        identifier=[],
        held=held,
        valid_from=datetime(2026, 12, 1, tzinfo=UTC),
        partial=False,
    )
    # the same credential twice: shared nodes and their blank nodes many times over
    record["credentialSubject"]["verifiableCredential"].append(
        record["credentialSubject"]["verifiableCredential"][0]
    )
    return record


def test_a_record_of_several_shapes_expands_as_plain_pyld() -> None:
    record = _record(12)
    plain, ours = _both(record)
    assert ours == plain
    assert len(json.dumps(ours)) > 50_000  # the record's credentials were expanded too


def test_a_record_canonicalises_as_plain_pyld() -> None:
    record = _record(8)
    ours = canon.canonize_dataset(canon.dataset_of_expanded(canon.expand_strict(record, LOADER)))
    plain = jsonld.normalize(
        json.loads(json.dumps(record)),
        {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": LOADER,
            "base": None,
        },
    )
    assert ours == plain
    assert ours.count("\n") > 500


def test_a_large_document_is_canonicalised_in_one_pass(monkeypatch) -> None:
    """Above ``_LARGE`` strings no template is made (a record is its own shape); the result is
    still the reference's."""
    from microcred.vc import fastcanon

    monkeypatch.setattr(fastcanon, "_LARGE", 100)
    record = _record(3)
    fast = fastcanon.FastCanonicalizer()
    assert fast(record, LOADER) == canon.rdfc(record, LOADER)
    assert fast.stats["large"] == 1
    assert fast.stats["built"] == 0
