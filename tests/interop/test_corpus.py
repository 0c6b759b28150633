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


REBUILD = "the corpus is stale: run .venv/bin/python -m tests.corpus_build and review the diff"


def test_the_generator_reproduces_the_checked_in_corpus():
    built = corpus_build.build()
    for name, document in built.documents.items():
        on_disk = json.loads((corpus_build.GENERATED / f"{name}.json").read_bytes())
        assert on_disk == document, (name, REBUILD)
    for url, body in built.served.items():
        assert corpus_build.served_path(url).read_bytes() == body, (url, REBUILD)
    table = json.loads((corpus_build.CORPUS / "expected.json").read_bytes())["items"]
    assert table == corpus_build.table(built), REBUILD


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


SHORT_LISTS = {
    "dcc-v1-valid-status",
    "dcc-v2-double-sig-valid-status",
    "dcc-v2-eddsa-valid-status",
    "dcc-v2-valid-status",
    "short-100k-clear",
    "short-16k",
    "short-sl2021",
    "short-suspension",
}
# Where microcred says "not verified" and a third-party verifier "verified", and why.
STRICTER = {
    "digitalbazaar": {
        **dict.fromkeys(SHORT_LISTS, "reads lists shorter than 131,072 entries"),
        "vp-not-the-subject": "no holder binding: the holder need not be the subject",
    },
    "dcc": {
        **dict.fromkeys(SHORT_LISTS, "reads lists shorter than 131,072 entries"),
        "dcc-v2-did-web-valid-status": "reads the short list (of another issuer)",
        "dcc-v2-did-web-multikey-valid-status": "reads the short list (of another issuer)",
        **dict.fromkeys(
            [
                "revoked-vc11-sl2021",
                "suspended-vc11-sl2021",
                "list-tampered-sl2021",
                "list-expired-sl2021",
                "unreachable-sl2021-404",
            ],
            "ignores StatusList2021Entry",
        ),
        **dict.fromkeys(
            ["nyv-rdfc", "nyv-did-web", "nyv-vc11", "nyv-with-status"], "does not check validFrom"
        ),
        "list-other-issuer": "does not compare the list's issuer with the credential's",
        **dict.fromkeys(
            ["vp-not-the-subject", "vp-tampered", "vp-wrong-challenge", "vp-wrong-domain"],
            "cannot check presentation proofs; the credentials inside verify",
        ),
    },
}


def test_where_microcred_is_stricter(verdicts):
    """Items microcred does not verify and a third-party verifier does, each for a known reason
    (pinned, so that a change on either side shows)."""
    stricter: dict[str, set[str]] = {"digitalbazaar": set(), "dcc": set()}
    for entry in ENTRIES:
        ours, digital_bazaar, dcc = verdicts[entry.name]
        if ours.verified:
            continue
        if digital_bazaar["verified"]:
            stricter["digitalbazaar"].add(entry.name)
        if _dcc_verified(entry, dcc):
            stricter["dcc"].add(entry.name)
    assert stricter == {verifier: set(reasons) for verifier, reasons in STRICTER.items()}
