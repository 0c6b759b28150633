"""The verification corpus (tests/fixtures/corpus): third-party credentials from public test
fixtures and microcred-signed variants, each with its expected verdict and code in
``expected.json``. microcred matches the table, and is never more lenient than Digital Bazaar or
the DCC verifier: when either says "not verified", so does microcred. Status lists and key
documents are served on loopback under their own https URLs; each third-party verifier runs the
whole corpus in one Node process.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from microcred.vc.report import Verdict
from tests import corpus_build
from tests.corpus import Entry, Outcome, entries, microcred_outcome, serving

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]

ENTRIES = entries()
VERIFIERS = ("digitalbazaar", "dcc")
# DCC verifier-core 1.0.0-beta.11 checks a presentation's own proof with AssertionProofPurpose,
# so no holder-signed presentation (proofPurpose "authentication", VC 2.0 and Data Integrity)
# verifies there. For presentations, its verdict on the credentials inside is what counts.
DCC_PURPOSE_MISMATCH = "insufficient proofs matched the acceptable suite(s) and required purpose"


def _task(verifier: str, entry: Entry) -> dict[str, Any]:
    if entry.kind == "presentation":
        return {
            "op": "verify-presentation",
            "verifier": verifier,
            "presentation": entry.document(),
            "challenge": entry.challenge,
            "domain": entry.domain,
        }
    return {"op": "verify", "verifier": verifier, "credential": entry.document()}


@pytest.fixture(scope="module")
def verdicts(harness) -> dict[str, tuple[Outcome, dict[str, Any], dict[str, Any]]]:
    """Every item through microcred, Digital Bazaar and DCC, in the same run."""
    with serving() as loopback, ThreadPoolExecutor(len(VERIFIERS)) as pool:
        hosts = loopback.hosts()
        running = [
            pool.submit(harness.run, [_task(v, e) for e in ENTRIES], host_map=hosts)
            for v in VERIFIERS
        ]
        policy = loopback.policy()
        ours = [microcred_outcome(e, policy) for e in ENTRIES]
        digital_bazaar, dcc = (job.result() for job in running)
    return {
        e.name: (o, db, dc) for e, o, db, dc in zip(ENTRIES, ours, digital_bazaar, dcc, strict=True)
    }


def test_the_table_covers_every_category_and_file():
    counts = Counter(e.category for e in ENTRIES)
    assert set(counts) == set(corpus_build.CATEGORIES)
    assert min(counts.values()) >= 5, counts
    assert len({e.name for e in ENTRIES}) == len(ENTRIES)
    for entry in ENTRIES:
        assert entry.verdict in set(Verdict), entry
        assert bool(entry.code) is (entry.verdict not in ("verified", "verified_with_warnings"))
    files = {
        str(p.relative_to(corpus_build.CORPUS))
        for folder in ("public", "generated")
        for p in (corpus_build.CORPUS / folder).glob("*.json")
    }
    assert files == {e.file for e in ENTRIES}


def test_the_generator_reproduces_the_checked_in_corpus():
    built = corpus_build.build()
    for name, document in built.documents.items():
        on_disk = json.loads((corpus_build.GENERATED / f"{name}.json").read_bytes())
        assert on_disk == document, name
    for url, body in built.served.items():
        assert corpus_build.served_path(url).read_bytes() == body, url
    table = json.loads((corpus_build.CORPUS / "expected.json").read_bytes())["items"]
    assert {r["name"] for r in table} == {i.name for i in [*corpus_build.PUBLIC, *built.items]}


def test_microcred_matches_the_table(verdicts):
    wrong = {
        e.name: {"expected": (e.verdict, e.code), "got": (o.verdict, o.code), "steps": o.steps}
        for e in ENTRIES
        for o in [verdicts[e.name][0]]
        if (o.verdict, o.code) != (e.verdict, e.code)
    }
    assert not wrong, json.dumps(wrong, indent=1)
    assert all(
        o.verified is (o.verdict in ("verified", "verified_with_warnings"))
        for o, _, _ in verdicts.values()
    )


def _dcc_verified(entry: Entry, result: dict[str, Any]) -> bool:
    if entry.kind != "presentation":
        return bool(result["verified"])
    changed = "the DCC verifier now checks holder-signed presentations: compare them whole"
    assert result.get("signatureOk") is False, (changed, result)
    assert DCC_PURPOSE_MISMATCH in result["error"], (changed, result)
    return bool(result["credentialsOk"])


def test_microcred_is_never_more_lenient_than_digital_bazaar_or_dcc(verdicts):
    lenient = []
    for entry in ENTRIES:
        ours, digital_bazaar, dcc = verdicts[entry.name]
        if not ours.verified:
            continue
        if not digital_bazaar["verified"]:
            lenient.append((entry.name, "Digital Bazaar", digital_bazaar.get("error")))
        if not _dcc_verified(entry, dcc):
            lenient.append((entry.name, "DCC", dcc.get("error")))
    assert not lenient, lenient
    # and the corpus is not trivially strict: every verifier passes some items
    assert sum(o.verified for o, _, _ in verdicts.values()) >= 10
    assert sum(bool(db["verified"]) for _, db, _ in verdicts.values()) >= 10
