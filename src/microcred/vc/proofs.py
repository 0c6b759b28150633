"""Data Integrity proofs with Ed25519: create and verify.

Specs:
- Verifiable Credential Data Integrity 1.0, https://www.w3.org/TR/vc-data-integrity/
- Data Integrity EdDSA Cryptosuites v1.0 (eddsa-rdfc-2022, eddsa-jcs-2022),
  https://www.w3.org/TR/vc-di-eddsa/
- Ed25519Signature2020 (CCG), https://w3c-ccg.github.io/di-eddsa-2020/ (verification of
  credentials already in the wild; signing kept for tests and interop)

Each suite: transform (canonical document), proof configuration (canonical proof options with the
document's ``@context``), hash (SHA-256 of the proof configuration, then of the document,
concatenated), and an Ed25519 signature over that, encoded as base58btc multibase ``proofValue``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from microcred.i18n import N_
from microcred.vc import canon
from microcred.vc.errors import KeyFormatError, ProofError
from microcred.vc.fastcanon import FastCanonicalizer, Survey
from microcred.vc.loader import DocumentLoader
from microcred.vc.message import Message
from microcred.vc.multikey import KeyPair, PublicKey, multibase_decode, multibase_encode

EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
EDDSA_JCS_2022 = "eddsa-jcs-2022"
ED25519_SIGNATURE_2020 = "Ed25519Signature2020"
DATA_INTEGRITY_PROOF = "DataIntegrityProof"
ALL_SUITES = (EDDSA_RDFC_2022, EDDSA_JCS_2022, ED25519_SIGNATURE_2020)
SIGNING_SUITES = (EDDSA_RDFC_2022, EDDSA_JCS_2022)

# A canonicaliser maps a JSON-LD document to RDFC-1.0 N-Quads; the default is full pyld, the fast
# compiled path (vc.fastcanon) plugs in here.
Canonicalize = Callable[[Mapping[str, Any], DocumentLoader], str]


@dataclass(frozen=True, slots=True)
class SigningInput:
    """Every intermediate value of a proof, as the W3C test vectors publish them."""

    canonical_document: bytes
    canonical_proof_config: bytes
    document_hash: bytes
    proof_hash: bytes

    @property
    def hash_data(self) -> bytes:
        return self.proof_hash + self.document_hash


def suite_of(proof: Mapping[str, Any]) -> str:
    """The suite name of a proof; :class:`ProofError` ``proof.suite_unsupported`` if unknown."""
    proof_type = proof.get("type")
    if proof_type == DATA_INTEGRITY_PROOF:
        cryptosuite = proof.get("cryptosuite")
        if cryptosuite in (EDDSA_RDFC_2022, EDDSA_JCS_2022):
            return str(cryptosuite)
        raise ProofError(
            Message(
                N_("cryptosuite %(suite)s is not supported (supported: %(supported)s)"),
                suite=repr(cryptosuite),
                supported=f"{EDDSA_RDFC_2022}, {EDDSA_JCS_2022}",
            ),
            "proof.suite_unsupported",
        )
    if proof_type == ED25519_SIGNATURE_2020:
        return ED25519_SIGNATURE_2020
    raise ProofError(
        Message(N_("proof type %(type)s is not supported"), type=repr(proof_type)),
        "proof.suite_unsupported",
    )


@lru_cache(maxsize=256)  # a bulk run signs with one time for many credentials
def format_datetime(moment: datetime) -> str:
    """XSD dateTime in UTC with second precision, as proofs carry it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def proof_options(
    suite: str,
    verification_method: str,
    created: datetime,
    purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    if suite == ED25519_SIGNATURE_2020:
        options: dict[str, Any] = {"type": ED25519_SIGNATURE_2020}
    elif suite in SIGNING_SUITES:
        options = {"type": DATA_INTEGRITY_PROOF, "cryptosuite": suite}
    else:
        raise ProofError(f"cannot sign with suite {suite!r}", "proof.suite_unsupported")
    options.update(
        created=format_datetime(created),
        verificationMethod=verification_method,
        proofPurpose=purpose,
    )
    if challenge is not None:
        options["challenge"] = challenge
    if domain is not None:
        options["domain"] = domain
    return options


def signing_input(
    unsecured: Mapping[str, Any],
    options: Mapping[str, Any],
    suite: str,
    loader: DocumentLoader,
    canonicalize: Canonicalize = canon.rdfc,
) -> SigningInput:
    """Transform, configure and hash (the steps before the signature) for ``suite``."""
    config = {k: v for k, v in options.items() if k != "proofValue"}
    if suite != EDDSA_JCS_2022:
        # RDFC suites: the configuration is read in the document's context (vc-di-eddsa 3.2.5).
        # JCS hashes the proof options as they stand, @context included when present (3.3.5).
        config["@context"] = unsecured.get("@context")
    if suite == EDDSA_JCS_2022:
        jcs = getattr(canonicalize, "jcs", canon.jcs)  # a verification's memo knows shapes
        canonical_document = jcs(unsecured)
        canonical_config = jcs(config)
    else:
        canonical_document = canonicalize(unsecured, loader).encode("utf-8")
        canonical_config = canonicalize(config, loader).encode("utf-8")
    return SigningInput(
        canonical_document=canonical_document,
        canonical_proof_config=canonical_config,
        document_hash=hashlib.sha256(canonical_document).digest(),
        proof_hash=hashlib.sha256(canonical_config).digest(),
    )


def create_proof(
    unsecured: Mapping[str, Any],
    key: KeyPair,
    verification_method: str,
    *,
    suite: str = EDDSA_RDFC_2022,
    created: datetime,
    loader: DocumentLoader,
    purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
    canonicalize: Canonicalize = canon.rdfc,
) -> dict[str, Any]:
    """A proof over ``unsecured`` (which must not carry a proof). Text is checked first."""
    if "proof" in unsecured:
        raise ProofError("the document already carries a proof", "proof.already_signed")
    # microcred's canonicaliser walks the document once, for the text check and its N-Quads
    fast = canonicalize if isinstance(canonicalize, FastCanonicalizer) else None
    survey = fast.survey(unsecured) if fast is not None else None
    if survey is None or survey.has_control_characters():
        canon.refuse_control_characters(unsecured)  # raises, naming where
    if fast is not None and survey is not None:
        canonicalize = _with_survey(fast, unsecured, survey)
    options = proof_options(suite, verification_method, created, purpose, challenge, domain)
    if suite == EDDSA_JCS_2022 and "@context" in unsecured:
        options["@context"] = unsecured["@context"]  # vc-di-eddsa 3.3.1 step 2
    data = signing_input(unsecured, options, suite, loader, canonicalize)
    proof = dict(options)
    proof["proofValue"] = multibase_encode(key.sign(data.hash_data))
    return proof


def _with_survey(
    canonicalizer: FastCanonicalizer, document: Mapping[str, Any], survey: Survey
) -> Canonicalize:
    """``canonicalizer``, given ``survey`` when it canonicalises ``document`` itself."""

    def canonicalize(target: Mapping[str, Any], loader: DocumentLoader) -> str:
        return canonicalizer(target, loader, survey if target is document else None)

    return canonicalize


def decode_proof_value(proof: Mapping[str, Any]) -> bytes:
    value = proof.get("proofValue")
    if not isinstance(value, str):
        raise ProofError(Message(N_("the proof has no proofValue string")), "proof.value_missing")
    if not value.startswith("z"):
        raise ProofError(
            Message(N_("proofValue must be base58btc multibase (start with 'z')")),
            "proof.value_encoding",
        )
    try:
        signature = multibase_decode(value)
    except KeyFormatError as exc:
        raise ProofError(
            Message(N_("proofValue is not valid base58btc: %(reason)s"), reason=exc.message),
            "proof.value_encoding",
        ) from exc
    if len(signature) != 64:
        raise ProofError(
            Message(
                N_("proofValue decodes to %(size)d bytes; an Ed25519 signature has 64"),
                size=len(signature),
            ),
            "proof.value_encoding",
        )
    return signature


def verify_proof(
    unsecured: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_key: PublicKey,
    loader: DocumentLoader,
    canonicalize: Canonicalize = canon.rdfc,
) -> None:
    """Check ``proof`` over ``unsecured`` with ``public_key``; :class:`ProofError` if it fails."""
    suite = suite_of(proof)
    signature = decode_proof_value(proof)
    proof_context = proof.get("@context")
    document = unsecured  # the same object the verifier canonicalised for its context checks
    if proof_context is not None:
        doc_context = _as_list(unsecured.get("@context"))
        wanted = _as_list(proof_context)
        if doc_context[: len(wanted)] != wanted:
            raise ProofError(
                Message(
                    N_("the proof's @context does not match the start of the document's @context")
                ),
                "proof.context_mismatch",
            )
        if unsecured.get("@context") != proof_context:  # equal (the usual case): no copy
            document = {**unsecured, "@context": proof_context}
    dropped = ("proofValue",) if suite == EDDSA_JCS_2022 else ("proofValue", "@context")
    options = {k: v for k, v in proof.items() if k not in dropped}
    data = signing_input(document, options, suite, loader, canonicalize)
    if not public_key.verify(signature, data.hash_data):
        raise ProofError(
            Message(
                N_(
                    "the signature does not match the content: the credential was altered after "
                    "signing, or signed by another key"
                )
            ),
            "proof.signature_invalid",
        )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
