"""Expansion with type-scoped contexts processed once per active context (``canon._Processor``)
equals plain pyld's ``jsonld.expand``: the corpus (valid and broken documents, third-party
shapes), random platform credentials, and a record holding credentials of several shapes."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from pyld import jsonld

from microcred.vc import canon, clr
from microcred.vc.loader import default_loader
from tests.corpus import entries
from tests.helpers import ISSUER_KEY, signed
from tests.issued import random_credential

LOADER = default_loader()


def _both(document: Any) -> tuple[Any, Any]:
    """(plain pyld, microcred's processor): each result or the error's code."""
    outcomes = []
    for expand in (jsonld.expand, canon._Processor().expand):
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


def test_a_record_of_several_shapes_expands_as_plain_pyld() -> None:
    rng = random.Random(7)  # noqa: S311 - test data
    held = []
    for _ in range(12):
        credential = signed(random_credential(rng, ISSUER_KEY.public.did_key))
        held.append(clr.Held(json.dumps(credential).encode(), credential))
    record = clr.build_record(
        record_id="urn:uuid:00000000-0000-4000-8000-000000000001",
        issuer={"id": ISSUER_KEY.public.did_key, "type": ["Profile"], "name": "Records"},
        name="Record",
        description="Twelve credentials",
        identifier=[],
        held=held,
        valid_from=datetime(2026, 12, 1, tzinfo=UTC),
        partial=False,
    )
    plain, ours = _both(record)
    assert ours == plain
    assert len(json.dumps(ours)) > 50_000  # the record's credentials were expanded too
