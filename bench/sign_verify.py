"""Signing and verifying throughput, one core: microcred against plain pyld, the Ed25519 floor and
Digital Bazaar (Node.js, when ``tests/interop/node_modules`` is installed), in one run.

The credentials are the platform's own (``bench/corpus.py``: the demo definitions, ~7 KB each), all
distinct. Rounds interleave the implementations so machine noise hits them alike; the figures that
matter are the ratios (medians over rounds).

- floor: Ed25519 over 64 bytes (what a proof signs), the most any suite could reach
- plain pyld: ``jsonld.normalize`` of document and proof options, SHA-256, Ed25519
- microcred warm: compiled templates of the definitions' shapes already made; cold: the first
  round, from empty caches
- unseen shapes: each credential of a definition never seen before (``tests/issued.py``), so each
  builds its template: the full pipeline
- verify: microcred's whole ``verify`` (contexts, 1EdTech schema, proof, issuer, dates; status
  skipped, it is measured by the HTTP benchmarks), against the same plain pyld steps and Digital
  Bazaar's ``verifyCredential``

    python bench/sign_verify.py [--count 10000] [--rounds 5] [--reference 40]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pyld import jsonld  # noqa: E402
from tests.issued import random_credential  # noqa: E402

from corpus import NOW, platform_credential  # noqa: E402
from microcred.vc import fastcanon  # noqa: E402
from microcred.vc.credential import sign_credential  # noqa: E402
from microcred.vc.loader import default_loader  # noqa: E402
from microcred.vc.multikey import KeyPair, multibase_decode, multibase_encode  # noqa: E402
from microcred.vc.policy import Policy  # noqa: E402
from microcred.vc.proofs import EDDSA_JCS_2022  # noqa: E402
from microcred.vc.verify import verify  # noqa: E402

SEED = bytes(range(32))
KEY = KeyPair.from_seed(SEED)
LOADER = default_loader()
HARNESS = ROOT / "tests" / "interop" / "harness.mjs"


def plain_loader(url: str, options: Any = None) -> dict[str, Any]:
    return {"contextUrl": None, "documentUrl": url, "document": LOADER.get(url)}


def plain_canon(document: dict[str, Any]) -> bytes:
    nquads = jsonld.normalize(
        document,
        {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": plain_loader},
    )
    return str(nquads).encode()


def plain_hash(document: dict[str, Any], proof: dict[str, Any]) -> bytes:
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    config["@context"] = document["@context"]
    return (
        hashlib.sha256(plain_canon(config)).digest()
        + hashlib.sha256(plain_canon(document)).digest()
    )


def reference_sign(document: dict[str, Any]) -> dict[str, Any]:
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-05-01T00:00:00Z",
        "verificationMethod": KEY.public.did_key_method_id,
        "proofPurpose": "assertionMethod",
    }
    proof["proofValue"] = multibase_encode(KEY.sign(plain_hash(document, proof)))
    return {**document, "proof": proof}


def reference_verify(credential: dict[str, Any]) -> bool:
    document = {k: v for k, v in credential.items() if k != "proof"}
    proof = credential["proof"]
    proof = proof[0] if isinstance(proof, list) else proof
    return KEY.public.verify(multibase_decode(proof["proofValue"]), plain_hash(document, proof))


CANON = fastcanon.FastCanonicalizer()


def microcred_sign(document: dict[str, Any], suite: str = "eddsa-rdfc-2022") -> dict[str, Any]:
    return sign_credential(document, KEY, created=NOW, suite=suite, canonicalize=CANON)


def microcred_verify(credential: dict[str, Any]) -> bool:
    policy = Policy(clock=lambda: NOW, skip_status=True, canonicalize=CANON)
    report = verify(credential, policy)
    return report.step("proof").code == "proof.ok" and report.step("schema").code == "schema.ok"


def rate(fn: Callable[[Any], Any], inputs: list[Any]) -> float:
    start = time.perf_counter()
    for item in inputs:
        fn(item)
    return len(inputs) / (time.perf_counter() - start)


def floor(count: int = 20000) -> tuple[float, float]:
    message = bytes(64)
    signature = KEY.sign(message)
    sign = rate(lambda _: KEY.sign(message), range(count))
    check = rate(lambda _: KEY.public.verify(signature, message), range(count))
    return sign, check


def node_rates(tasks: list[dict[str, Any]]) -> list[float] | None:
    node = shutil.which("node")
    if node is None or not (ROOT / "tests" / "interop" / "node_modules" / "jsonld").is_dir():
        return None
    done = subprocess.run(
        [node, str(HARNESS)],
        input=json.dumps({"tasks": tasks}),
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    results = json.loads(done.stdout)["results"]
    if any("rate" not in r or r.get("error") for r in results):
        raise SystemExit(f"Digital Bazaar benchmark failed: {results}")
    return [r["rate"] for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000, help="distinct credentials signed")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reference", type=int, default=40, help="pyld credentials per round")
    args = parser.parse_args()
    rng = random.Random(2026)
    batch = args.count // args.rounds

    def fresh(n: int) -> list[dict[str, Any]]:
        return [platform_credential(KEY.public.did_key, rng) for _ in range(n)]

    check = [microcred_sign(d) for d in fresh(5)]
    assert all(reference_verify(c) for c in check), "plain pyld disagrees with microcred"
    assert all(microcred_verify(reference_sign(d)) for d in fresh(3)), "microcred disagrees"
    CANON.__init__()  # type: ignore[misc]  # cold again: no templates

    ed_sign, ed_verify = floor()
    r: dict[str, list[float]] = {k: [] for k in ("ref_s", "mc_s", "ref_v", "mc_v", "jcs_v")}
    cold = 0.0
    signed_rdfc: list[dict[str, Any]] = []
    signed_jcs: list[dict[str, Any]] = []
    for round_ in range(args.rounds):
        documents = fresh(batch)
        r["ref_s"].append(rate(reference_sign, documents[: args.reference]))
        mc = rate(microcred_sign, documents)
        if round_ == 0:
            cold = mc
        else:
            r["mc_s"].append(mc)
        to_verify = [microcred_sign(d) for d in fresh(batch // 4)]
        jcs = [microcred_sign(d, EDDSA_JCS_2022) for d in fresh(batch // 4)]
        r["ref_v"].append(rate(reference_verify, to_verify[: args.reference]))
        r["mc_v"].append(rate(microcred_verify, to_verify))
        r["jcs_v"].append(rate(microcred_verify, jcs))
        signed_rdfc += to_verify[:200]
        signed_jcs += jcs[:200]
    if args.rounds == 1:
        r["mc_s"].append(cold)

    # unseen shapes: every credential of a definition not seen before (full pipeline), the same
    # documents through both
    unseen_docs = [random_credential(rng, KEY.public.did_key) for _ in range(2 * args.reference)]
    unseen = rate(microcred_sign, unseen_docs)
    unseen_ref = rate(reference_sign, unseen_docs)

    med = {k: statistics.median(v) for k, v in r.items()}
    print(f"One core; {args.count} distinct platform credentials signed, {args.rounds} rounds.")
    print(f"Ed25519 floor: sign {ed_sign:,.0f}/s, verify {ed_verify:,.0f}/s")
    print(f"{'':28} {'plain pyld':>11} {'microcred':>11} {'× pyld':>8} {'% floor':>8}")
    rows = [
        ("sign, known shapes (warm)", med["ref_s"], med["mc_s"], ed_sign),
        ("sign, first round (cold)", med["ref_s"], cold, ed_sign),
        ("sign, unseen shapes", unseen_ref, unseen, ed_sign),
        ("verify eddsa-rdfc-2022", med["ref_v"], med["mc_v"], ed_verify),
    ]
    for label, ref, ours, top in rows:
        print(f"{label:28} {ref:11,.1f} {ours:11,.1f} {ours / ref:7.1f}x {100 * ours / top:7.1f}%")
    print(f"{'verify eddsa-jcs-2022':28} {'':>11} {med['jcs_v']:11,.1f}")

    rounds = node_rates(
        [
            {"op": "bench-verify", "credentials": signed_rdfc},
            {"op": "bench-verify", "credentials": signed_jcs},
            {"op": "bench-sign", "credentials": fresh(200), "seedHex": SEED.hex()},
        ]
    )
    if rounds is None:
        print("Digital Bazaar: not measured (run `make test` once to install tests/interop)")
        return
    db_rdfc, db_jcs, db_sign = rounds
    ours_rdfc = rate(microcred_verify, signed_rdfc)
    ours_jcs = rate(microcred_verify, signed_jcs)
    ours_sign = rate(microcred_sign, fresh(len(signed_rdfc)))
    print(f"{'':28} {'Digital Bazaar':>14} {'microcred':>11} {'ratio':>8}")
    for label, theirs, ours in (
        ("sign eddsa-rdfc-2022", db_sign, ours_sign),
        ("verify eddsa-rdfc-2022", db_rdfc, ours_rdfc),
        ("verify eddsa-jcs-2022", db_jcs, ours_jcs),
    ):
        print(f"{label:28} {theirs:14,.1f} {ours:11,.1f} {ours / theirs:7.2f}x")


if __name__ == "__main__":
    main()
