"""Verifiable Presentations: sign for a verifier's challenge and domain, and verify.

Specs: VC Data Model 2.0 section 4.13 (presentations); Data Integrity 1.0 (``authentication``
proofs with ``challenge`` and ``domain``). A presentation verifies when its own proof holds for the
expected challenge and domain, the signing key is the holder's, the holder is the subject of
every credential that names its subject by a DID, and every credential inside verifies on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from microcred.i18n import N_
from microcred.vc import fastcanon
from microcred.vc.errors import ProofError, VcError
from microcred.vc.loader import VC_V2, DocumentLoader, default_loader
from microcred.vc.message import Message
from microcred.vc.multikey import KeyPair
from microcred.vc.policy import Policy
from microcred.vc.proofs import EDDSA_RDFC_2022, Canonicalize, create_proof
from microcred.vc.report import Outcome, Verdict, VerificationReport, worst
from microcred.vc.verify import _check_context, _Memo, _parse, _verify_one, verify

AUTHENTICATION = "authentication"


@dataclass(slots=True)
class PresentationReport:
    presentation: VerificationReport = field(default_factory=VerificationReport)
    credentials: list[VerificationReport] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.presentation.verified and all(c.verified for c in self.credentials)

    @property
    def verdict(self) -> Verdict:
        """The most serious of the presentation's own verdict and its credentials'."""
        return worst([self.presentation.verdict, *(c.verdict for c in self.credentials)])

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "verdict": self.verdict.value,
            "presentation": self.presentation.to_json(),
            "credentials": [c.to_json() for c in self.credentials],
        }


def sign_presentation(
    credentials: list[dict[str, Any]],
    key: KeyPair,
    *,
    challenge: str,
    domain: str | None,
    created: datetime,
    holder: str | None = None,
    loader: DocumentLoader | None = None,
    canonicalize: Canonicalize = fastcanon.DEFAULT,
) -> dict[str, Any]:
    holder = holder or key.public.did_key
    presentation: dict[str, Any] = {
        "@context": [VC_V2],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": credentials,
    }
    method = key.public.did_key_method_id if holder == key.public.did_key else f"{holder}#key-1"
    presentation["proof"] = create_proof(
        presentation,
        key,
        method,
        suite=EDDSA_RDFC_2022,
        created=created,
        loader=loader or default_loader(),
        purpose=AUTHENTICATION,
        challenge=challenge,
        domain=domain,
        canonicalize=canonicalize,
    )
    return presentation


def verify_presentation(
    document: bytes | str | Mapping[str, Any],
    policy: Policy,
    *,
    challenge: str | None = None,
    domain: str | None = None,
    require_proof: bool = True,
) -> PresentationReport:
    """Never raises on bad input; ``challenge``/``domain`` are what this verifier asked for."""
    result = PresentationReport()
    report = result.presentation
    try:
        _verify_presentation(document, policy, challenge, domain, require_proof, result)
    except Exception:  # noqa: BLE001 - the contract: never raise on bad input
        report.add(
            "internal",
            Outcome.FAILED,
            "internal.error",
            Message(N_("verification stopped unexpectedly")),
        )
    return result


def _verify_presentation(
    source: bytes | str | Mapping[str, Any],
    policy: Policy,
    challenge: str | None,
    domain: str | None,
    require_proof: bool,
    result: PresentationReport,
) -> None:
    report = result.presentation
    canonicalize = _Memo(policy.canonicalize, None)  # a presentation is made once: not kept
    parsed = _parse(source, policy, report, canonicalize)
    if parsed is None:
        return
    presentation, unsecured = parsed
    report.credential = presentation
    if not _check_context(presentation, unsecured, policy.loader, canonicalize, report):
        return
    types = presentation.get("type")
    type_list = types if isinstance(types, list) else [types]
    if "VerifiablePresentation" not in type_list:
        report.add(
            "presentation",
            Outcome.FAILED,
            "presentation.type_missing",
            Message(N_("type must include VerifiablePresentation")),
        )
        return
    credentials = presentation.get("verifiableCredential") or []
    credentials = credentials if isinstance(credentials, list) else [credentials]
    report.add(
        "presentation",
        Outcome.PASSED,
        "presentation.ok",
        Message(N_("a presentation of %(num)d credential(s)"), num=len(credentials)),
    )
    signer = _check_proof(
        presentation, unsecured, policy, canonicalize, challenge, domain, require_proof, report
    )
    holder = presentation.get("holder")
    holder_id = holder.get("id") if isinstance(holder, Mapping) else holder
    _check_holder(
        credentials,
        holder_id if isinstance(holder_id, str) else signer,
        report,
        proven=signer is not None,
    )
    for credential in credentials:
        if (
            isinstance(credential, Mapping)
            and credential.get("type") == "EnvelopedVerifiableCredential"
        ):
            sub = VerificationReport()
            sub.add(
                "parse",
                Outcome.FAILED,
                "credential.enveloped_unsupported",
                Message(N_("enveloped (JWT) credentials are not supported")),
            )
            result.credentials.append(sub)
        else:
            result.credentials.append(verify(credential, policy))


def _check_proof(
    presentation: Mapping[str, Any],
    unsecured: Mapping[str, Any],
    policy: Policy,
    canonicalize: _Memo,
    challenge: str | None,
    domain: str | None,
    require_proof: bool,
    report: VerificationReport,
) -> str | None:
    """Check the presentation's proofs; the signer's DID when they hold."""
    proof_list = presentation.get("proof")
    proof_list = (
        proof_list if isinstance(proof_list, list) else ([proof_list] if proof_list else [])
    )
    if not proof_list:
        if require_proof or challenge:
            report.add(
                "proof",
                Outcome.FAILED,
                "proof.missing",
                Message(N_("the presentation is not signed")),
            )
        else:
            report.add(
                "proof", Outcome.SKIPPED, "proof.none", Message(N_("an unsigned presentation"))
            )
        return None
    signer = None
    try:
        for proof in proof_list:
            if not isinstance(proof, Mapping):
                raise ProofError(Message(N_("proof must be an object")), "proof.malformed")
            if challenge is not None and proof.get("challenge") != challenge:
                raise VcError(
                    Message(N_("the proof is not for this verifier's challenge")),
                    "proof.challenge_mismatch",
                )
            if domain is not None and proof.get("domain") != domain:
                raise VcError(
                    Message(N_("the proof is not for this verifier's domain")),
                    "proof.domain_mismatch",
                )
            method = _verify_one(unsecured, proof, policy, canonicalize, AUTHENTICATION)
            holder = presentation.get("holder")
            holder_id = holder.get("id") if isinstance(holder, Mapping) else holder
            if holder_id is not None and method.get("controller") != holder_id:
                raise VcError(
                    Message(
                        N_(
                            "the presentation names holder %(holder)s but a key of "
                            "%(controller)s signed it"
                        ),
                        holder=str(holder_id),
                        controller=str(method.get("controller")),
                    ),
                    "proof.holder_mismatch",
                )
            if not method["_assertion"]:
                raise VcError(
                    Message(N_("the key is not listed for authentication")),
                    "proof.method_not_authorized",
                )
            controller = method.get("controller")
            signer = controller if isinstance(controller, str) else signer
    except VcError as exc:
        report.add("proof", Outcome.FAILED, exc.code, exc.message)
        return None
    report.add(
        "proof",
        Outcome.PASSED,
        "proof.ok",
        Message(N_("signed by the holder for this challenge")),
    )
    return signer


def subject_dids(credential: Any) -> list[str]:
    """The DIDs a credential names as its subjects (``credentialSubject.id``)."""
    if not isinstance(credential, Mapping):
        return []
    subjects = credential.get("credentialSubject")
    subjects = subjects if isinstance(subjects, list) else [subjects]
    return [
        s["id"].split("#", 1)[0]
        for s in subjects
        if isinstance(s, Mapping) and isinstance(s.get("id"), str) and s["id"].startswith("did:")
    ]


def _check_holder(
    credentials: list[Any], holder: str | None, report: VerificationReport, *, proven: bool
) -> None:
    """Holder binding: a credential that names its subject by DID is presented by that subject,
    proven by the presentation's signature. Credentials naming their subject otherwise (a hashed
    email, say) are not bound here."""
    named = [(c, dids) for c in credentials if (dids := subject_dids(c))]
    if not named:
        return
    if not proven or holder is None:
        report.add(
            "holder",
            Outcome.WARNING,
            "presentation.holder_unproven",
            Message(
                N_(
                    "the presentation is not signed, so nothing shows that whoever presents "
                    "these credentials is their subject"
                )
            ),
        )
        return
    holder = holder.split("#", 1)[0]
    for credential, dids in named:
        if holder not in dids:
            report.add(
                "holder",
                Outcome.FAILED,
                "presentation.holder_not_subject",
                Message(
                    N_(
                        "credential %(credential)s is about %(subject)s, not the presentation's "
                        "holder %(holder)s"
                    ),
                    credential=(
                        str(credential["id"]) if "id" in credential else Message(N_("(no id)"))
                    ),
                    subject=dids[0],
                    holder=holder,
                ),
            )
            return
    report.add(
        "holder",
        Outcome.PASSED,
        "presentation.holder_is_subject",
        Message(N_("the holder is the subject of every credential that names one")),
    )
