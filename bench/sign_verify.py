"""Signing and verifying throughput: microcred's path against a plain pyld pipeline.

Both run in the same process, interleaved batch by batch, so machine noise hits both alike; the
figure that matters is the ratio. The reference is what a straightforward Python implementation
does: pyld ``normalize`` (URDNA2015) of the document and of the proof configuration, SHA-256,
Ed25519. microcred's verify also checks contexts strictly, the 1EdTech schema, the issuer binding
and the validity period, so its ratio understates the canonicalisation speed-up.

    python bench/sign_verify.py [--batch 50] [--rounds 7]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyld import jsonld

from microcred.tour import sample_micro_credential
from microcred.vc.credential import sign_credential
from microcred.vc.loader import default_loader
from microcred.vc.multikey import KeyPair, multibase_decode, multibase_encode
from microcred.vc.policy import Policy
from microcred.vc.verify import verify

KEY = KeyPair.generate()
NOW = datetime(2026, 6, 1, tzinfo=UTC)
LOADER = default_loader()


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


def microcred_sign(document: dict[str, Any]) -> dict[str, Any]:
    return sign_credential(document, KEY, created=NOW)


POLICY = Policy(clock=lambda: NOW)


def microcred_verify(credential: dict[str, Any]) -> bool:
    return verify(credential, POLICY).verified


def rate(fn: Callable[[dict[str, Any]], Any], inputs: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    for item in inputs:
        fn(item)
    return len(inputs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    def fresh() -> list[dict[str, Any]]:  # new ids, salts and texts: no two alike
        return [sample_micro_credential(KEY.public.did_key, NOW) for _ in range(args.batch)]

    signed = [microcred_sign(d) for d in fresh()]
    assert all(reference_verify(c) for c in signed), "reference disagrees with microcred"
    assert all(microcred_verify(reference_sign(d)) for d in fresh()[:3]), "microcred disagrees"
    for fn in (reference_sign, microcred_sign):  # warm caches
        fn(fresh()[0])

    results: dict[str, list[float]] = {k: [] for k in ("sign_ref", "sign_mc", "ver_ref", "ver_mc")}
    for _ in range(args.rounds):
        batch = fresh()
        results["sign_ref"].append(rate(reference_sign, batch))
        results["sign_mc"].append(rate(microcred_sign, batch))
        to_verify = [microcred_sign(d) for d in fresh()]
        results["ver_ref"].append(rate(reference_verify, to_verify))
        results["ver_mc"].append(rate(microcred_verify, to_verify))

    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"credentials per second (median of {args.rounds} interleaved rounds of {args.batch})")
    print(f"{'':8} {'plain pyld':>12} {'microcred':>12} {'ratio':>8}")
    for label, ref, ours in (("sign", "sign_ref", "sign_mc"), ("verify", "ver_ref", "ver_mc")):
        print(f"{label:8} {med[ref]:12.1f} {med[ours]:12.1f} {med[ours] / med[ref]:7.1f}x")


if __name__ == "__main__":
    main()
