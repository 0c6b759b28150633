"""Verify any Verifiable Credential: ours or anyone's, VC 2.0 or VC 1.1.

``verify(document, policy)`` never raises on bad input: every problem becomes a failed step with a
stable code (see ``docs/verification-codes.md``). Steps, in order:

``parse``     the input is a JSON object within the size and depth limits
``context``   VC context first, every context known, no ``@base``, every term defined
``credential`` the VC data model shape: types, issuer, subject
``schema``    the 1EdTech JSON Schema, for Open Badges 3.0 credentials on VC 2.0
``proof``     each proof: suite allowed, purpose, key resolvable, signature
``issuer``    the signing key is the issuer's and listed for assertion
``trust``     (with a trust checker) the issuer is a recognised, quality-assured provider
``validity``  validFrom / validUntil (VC 1.1: issuanceDate / expirationDate) with clock skew
``status``    credentialStatus, through the policy's status checker: fails when the status cannot
              be established; ``unchecked`` only when the caller chose ``skip_status`` (ADR 0015)
``endorsements`` each embedded EndorsementCredential verified on its own (a warning if one fails)
``components`` (a CLR 2.0 ``ClrCredential`` only) the record's shape, and each credential it holds
              verified on its own with the same policy

When the signature fails, the steps after it are ``not_checked``. ``report.verdict`` names the
outcome (verified, revoked, status_unchecked...).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar, cast

from microcred.vc import canon, clr, proofs, schema
from microcred.vc.dates import parse_datetime
from microcred.vc.did import find_method, is_authorized
from microcred.vc.errors import ContextError, DocumentError, VcError
from microcred.vc.fastcanon import FastCanonicalizer, Survey
from microcred.vc.jsonsafe import check_depth, parse_json
from microcred.vc.loader import VC_V1, VC_V2, DocumentLoader
from microcred.vc.memo import VerifyMemo, content_key
from microcred.vc.multikey import PublicKey
from microcred.vc.policy import CredentialStatus, Policy
from microcred.vc.report import Outcome, VerificationReport

ASSERTION_METHOD = "assertionMethod"
_KEY_TYPES = ("Multikey", "Ed25519VerificationKey2020")
_MAX_ENDORSEMENT_DEPTH = 2
# Contexts that only come with proof suites microcred does not verify: name the suite.
_UNSUPPORTED_SUITE_CONTEXTS = {
    "https://w3id.org/security/suites/jws-2020/v1": "JsonWebSignature2020",
    "https://w3id.org/security/suites/secp256k1-2019/v1": "EcdsaSecp256k1Signature2019",
    "https://w3id.org/security/suites/secp256k1recovery-2020/v2": (
        "EcdsaSecp256k1RecoverySignature2020"
    ),
    "https://w3id.org/security/bbs/v1": "BbsBlsSignature2020",
    "https://w3id.org/security/suites/ed25519-2018/v1": "Ed25519Signature2018",
    "https://w3id.org/security/v1": "a Linked Data Signatures 2018 suite",
    "https://w3id.org/security/v2": "a Linked Data Signatures 2018 suite",
}

T = TypeVar("T")
log = logging.getLogger(__name__)


def verify(
    document: bytes | str | Mapping[str, Any], policy: Policy, *, _depth: int = 0
) -> VerificationReport:
    """Verify a credential given as JSON text or bytes, or as a parsed object."""
    report = VerificationReport()
    try:
        _verify(document, policy, report, _depth)
    except Exception as exc:  # the contract: never raise on bad input
        # a bug, not bad input: the report names the type, the log keeps the traceback
        log.exception("verification stopped on an unexpected %s", type(exc).__name__)
        report.add(
            "internal",
            Outcome.FAILED,
            "internal.error",
            f"verification stopped on an unexpected problem ({type(exc).__name__})",
        )
    return report


def _verify(
    source: bytes | str | Mapping[str, Any],
    policy: Policy,
    report: VerificationReport,
    depth: int = 0,
) -> None:
    memo = policy.memo if policy.memo is not None and policy.memo.loader is policy.loader else None
    canonicalize = _Memo(policy.canonicalize, memo)
    parsed = _parse(source, policy, report, canonicalize)
    if parsed is None:
        return
    credential, unsecured = parsed
    report.credential = credential
    if not _check_context(credential, unsecured, policy.loader, canonicalize, report):
        return
    _check_shape(credential, report)
    _check_schema(credential, unsecured, policy, canonicalize, report)
    methods = _check_proofs(credential, unsecured, policy, canonicalize, report)
    if not methods:
        _not_checked(credential, policy, report)
        return
    _check_issuer(credential, methods, report)
    _check_trust(credential, policy, report)
    _check_validity(credential, policy, report)
    _check_status(credential, policy, report)
    _check_endorsements(credential, policy, report, depth)
    if clr.is_clr(credential):
        _check_components(credential, policy, report)


def _not_checked(credential: Mapping[str, Any], policy: Policy, report: VerificationReport) -> None:
    """After a failed signature nothing the document says can be relied on: the later steps are
    reported as not checked (grey), never as passed."""
    names = ["issuer"]
    if policy.trust_checker is not None:
        names.append("trust")
    names += ["validity", "status"]
    if _endorsements(credential):
        names.append("endorsements")
    if clr.is_clr(credential):
        names.append("components")
    for name in names:
        report.add(
            name,
            Outcome.NOT_CHECKED,
            f"{name}.not_checked",
            "not checked: the signature does not verify, so nothing the credential says can be "
            "relied on",
        )


def _parse(
    source: bytes | str | Mapping[str, Any],
    policy: Policy,
    report: VerificationReport,
    canonicalize: _Memo,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The credential and its unsecured form (the same object every later step reads). A
    parsed document's nesting and numbers are checked by shape when the canonicaliser walks it
    (its walk stops at a bounded depth); otherwise, and for the proofs, on the spot."""
    try:
        if isinstance(source, bytes | str):
            value = parse_json(source, max_bytes=policy.max_bytes, max_depth=policy.max_depth)
            checked = True
        else:
            value, checked = source, False
    except DocumentError as exc:
        report.add("parse", Outcome.FAILED, exc.code, exc.message)
        return None
    if not isinstance(value, Mapping):
        report.add("parse", Outcome.FAILED, "json.not_object", "a credential must be a JSON object")
        return None
    credential = dict(value)
    unsecured = {k: v for k, v in credential.items() if k != "proof"}
    if not checked:
        problem = canonicalize.fact(
            unsecured,
            f"depth:{policy.max_depth}",
            lambda: _depth_problem(unsecured, policy.max_depth),
        )
        if problem is None and "proof" in credential:
            problem = _depth_problem({"proof": credential["proof"]}, policy.max_depth)
        if problem is not None:
            report.add("parse", Outcome.FAILED, problem[0], problem[1])
            return None
    report.add("parse", Outcome.PASSED, "parse.ok", "the document is well-formed JSON")
    return credential, unsecured


def _depth_problem(document: Any, max_depth: int) -> tuple[str, str] | None:
    """(code, message) when ``document`` is nested too deeply or holds a number out of range."""
    try:
        check_depth(document, max_depth)
    except DocumentError as exc:
        return exc.code, exc.message
    return None


class _Memo:
    """Canonicalise each document once per verification (the steps pass the same objects, so
    they are recognised by identity, without serialising them), and once across verifications
    when the policy carries a memo (canonical forms depend on the content and loader only).

    With microcred's canonicaliser, each document is also walked once (its shape) for all the
    steps, and what its shape alone decides is kept per shape: the predicates the strict checks
    count (for JCS), the properties read by name, whether ``json.dumps`` writes it as JCS."""

    def __init__(self, canonicalize: proofs.Canonicalize, shared: VerifyMemo | None) -> None:
        self.inner = canonicalize  # the canonicaliser itself (its shape facts serve JCS)
        self._shared = shared
        self._kind = "canon:" + getattr(canonicalize, "__qualname__", repr(canonicalize))
        self._surveys = isinstance(canonicalize, FastCanonicalizer)
        # id -> (the document, held so that its id stays its own; the loader; the N-Quads)
        self._seen: dict[int, tuple[Mapping[str, Any], DocumentLoader, str]] = {}
        self._walked: dict[int, tuple[Mapping[str, Any], Survey | None]] = {}

    def survey(self, document: Mapping[str, Any]) -> Survey | None:
        """The canonicaliser's walk of ``document`` (None without one, or for a document
        templates do not handle)."""
        if not self._surveys:
            return None
        walked = self._walked.get(id(document))
        if walked is not None and walked[0] is document:
            return walked[1]
        survey = cast(FastCanonicalizer, self.inner).survey(document)
        self._walked[id(document)] = (document, survey)
        return survey

    def fact(self, document: Mapping[str, Any], name: str, compute: Callable[[], T]) -> T:
        """``compute()``, kept per shape (see :meth:`Survey.once`) when there is a survey."""
        survey = self.survey(document)
        return compute() if survey is None else cast(T, survey.once(name, compute))

    def __call__(self, document: Mapping[str, Any], loader: DocumentLoader) -> str:
        seen = self._seen.get(id(document))
        if seen is not None and seen[0] is document and seen[1] is loader:
            return seen[2]
        if self._shared is not None and loader is self._shared.loader:
            nquads = self._shared.get(
                self._kind, content_key(document), lambda: self._inner(document, loader)
            )
        else:
            nquads = self._inner(document, loader)
        self._seen[id(document)] = (document, loader, nquads)
        return nquads

    def _inner(self, document: Mapping[str, Any], loader: DocumentLoader) -> str:
        if self._surveys:
            canonicalizer = cast(FastCanonicalizer, self.inner)
            return canonicalizer(document, loader, self.survey(document))
        return self.inner(document, loader)

    def predicates(self, document: Mapping[str, Any], loader: DocumentLoader) -> dict[str, int]:
        """Statements per predicate from the shape's template, without canonicalising."""
        canonicalizer = cast(FastCanonicalizer, self.inner)
        return canonicalizer.predicates(document, loader, self.survey(document))

    def jcs(self, document: Mapping[str, Any]) -> bytes:
        """RFC 8785 bytes; ``json.dumps`` straight away for a shape that writes the same."""
        plan = self.fact(document, "jcs.plan", lambda: canon.jcs_plan(document))
        if plan is not None:
            written = canon.planned_jcs(document, plan)
            if written is not None:
                return written
        return canon.jcs(document)


def _check_context(
    credential: Mapping[str, Any],
    unsecured: Mapping[str, Any],
    loader: DocumentLoader,
    canonicalize: _Memo,
    report: VerificationReport,
) -> bool:
    contexts = credential.get("@context")
    problem = _context_list_problem(contexts, loader)
    if problem is None:
        try:
            named = canonicalize.fact(unsecured, "named", lambda: _count_named(unsecured))
            _check_hidden_terms(
                named, _predicate_counter(credential, unsecured, loader, canonicalize)
            )
            if any(not isinstance(p, Mapping) for p in _as_list(credential.get("proof"))):
                raise ContextError(
                    "proof must be an object or a list of objects", "proof.malformed"
                )
        except VcError as exc:
            problem = (exc.code, exc.message)
    if problem is not None:
        report.add("context", Outcome.FAILED, problem[0], problem[1])
        return False
    version = "2.0" if _as_list(contexts)[0] == VC_V2 else "1.1"
    report.add(
        "context",
        Outcome.PASSED,
        "context.ok",
        f"Verifiable Credentials {version} document; every context is known and every term defined",
        vc_version=version,
    )
    return True


# What verification reads from the JSON by name, and the IRIs those names expand to.
_VC = "https://www.w3.org/2018/credentials#"
_READ_BY_NAME = {
    name: f"<{_VC}{name}>"
    for name in (
        "credentialStatus",
        "validFrom",
        "validUntil",
        "issuanceDate",
        "expirationDate",
        "issuer",
        "credentialSubject",
    )
}


def _predicate_counter(
    credential: Mapping[str, Any],
    unsecured: Mapping[str, Any],
    loader: DocumentLoader,
    canonicalize: _Memo,
) -> Callable[[str], int]:
    """How many statements of the signed graph use a predicate. eddsa-jcs-2022 signs the JSON,
    so a credential whose every proof is JCS is checked from its shape's template, without RDF
    canonicalisation (ADR 0021); the strict checks are the same."""
    proof_list = _as_list(credential.get("proof"))
    jcs_only = bool(proof_list) and all(
        isinstance(p, Mapping) and p.get("cryptosuite") == proofs.EDDSA_JCS_2022 for p in proof_list
    )
    if jcs_only and isinstance(canonicalize.inner, FastCanonicalizer):
        counts = canonicalize.predicates(unsecured, loader)
        return lambda predicate: counts.get(predicate, 0)
    nquads = canonicalize(unsecured, loader)
    return lambda predicate: nquads.count(f" {predicate} ")


def _check_hidden_terms(named: Mapping[str, int], count: Callable[[str], int]) -> None:
    """Refuse a document that states what verification reads by name in another way: under a
    full IRI, a compact IRI or an alias from an inline context. JSON-LD signatures sign the
    meaning, so ``"https://www.w3.org/2018/credentials#credentialStatus"`` signs the same as
    ``"credentialStatus"``; a verifier reading the JSON by name would not see it (a revoked or
    expired credential would pass). Each such statement in the signed graph must be matched by
    as many values under its plain name (``named``: :func:`_count_named` of the document)."""
    for name, predicate in _READ_BY_NAME.items():
        in_graph = count(predicate)
        if in_graph > named.get(name, 0):
            raise ContextError(
                f"the document states {name} in a form this verifier does not read by name "
                "(a full or compact IRI, or an alias); write it as the plain term",
                "context.hidden_term",
            )


def _count_named(document: Mapping[str, Any]) -> dict[str, int]:
    """How many values each read-by-name property has, anywhere outside ``@context``."""
    counts: dict[str, int] = {}
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            continue
        if kind is list or (kind is not dict and isinstance(item, list)):
            stack.extend(item)
        elif kind is dict or isinstance(item, Mapping):
            for key, value in item.items():
                if key == "@context":
                    continue
                if key in _READ_BY_NAME:
                    counts[key] = counts.get(key, 0) + len(_as_list(value))
                if type(value) is not str:
                    stack.append(value)
    return counts


def _context_list_problem(contexts: Any, loader: DocumentLoader) -> tuple[str, str] | None:
    if contexts is None:
        return "context.missing", "the document has no @context"
    entries = _as_list(contexts)
    if not entries or entries[0] not in (VC_V2, VC_V1):
        return (
            "context.vc_not_first",
            f"the first @context must be {VC_V2} (or {VC_V1} for VC 1.1 credentials)",
        )
    for position, entry in enumerate(entries):
        if isinstance(entry, str):
            if entry in _UNSUPPORTED_SUITE_CONTEXTS:
                return (
                    "proof.suite_unsupported",
                    f"the credential is secured with {_UNSUPPORTED_SUITE_CONTEXTS[entry]}, "
                    "which microcred does not support (it verifies eddsa-rdfc-2022, "
                    "eddsa-jcs-2022 and Ed25519Signature2020)",
                )
            if not loader.knows(entry):
                return (
                    "context.unknown",
                    f"@context[{position}] {entry!r} is not a context microcred knows; "
                    "contexts are never fetched",
                )
        elif not isinstance(entry, Mapping):
            return "context.invalid", f"@context[{position}] must be a URL or an object"
    return None


def _check_shape(credential: Mapping[str, Any], report: VerificationReport) -> None:
    types = _as_list(credential.get("type"))
    problems = []
    if "VerifiableCredential" not in types:
        problems.append(("credential.type_missing", "type must include VerifiableCredential"))
    if _issuer_id(credential) is None:
        problems.append(
            ("credential.issuer_missing", "the issuer (a URL or an object with an id) is missing")
        )
    if not credential.get("credentialSubject"):
        problems.append(("credential.subject_missing", "credentialSubject is missing"))
    if problems:
        code = problems[0][0]
        report.add("credential", Outcome.FAILED, code, "; ".join(m for _, m in problems))
        return
    report.add(
        "credential",
        Outcome.PASSED,
        "credential.ok",
        "the credential has a type, an issuer and a subject",
    )


def _check_schema(
    credential: Mapping[str, Any],
    unsecured: Mapping[str, Any],
    policy: Policy,
    canonicalize: _Memo,
    report: VerificationReport,
) -> None:
    name = schema.schema_for(credential)
    if not policy.check_schema or name is None:
        report.add("schema", Outcome.SKIPPED, "schema.not_applicable", "no 1EdTech schema applies")
        return
    if _as_list(credential.get("@context"))[0] != VC_V2:
        report.add(
            "schema",
            Outcome.SKIPPED,
            "schema.not_applicable",
            "the published 1EdTech schema describes VC 2.0 credentials; this is VC 1.1",
        )
        return
    if policy.memo is not None:
        problems = policy.memo.get(
            "schema:" + name, content_key(credential), lambda: schema.validate(credential, name)
        )
    else:
        inner = canonicalize.fact(unsecured, "schema.proofs", lambda: schema.proof_paths(unsecured))
        paths = None
        if inner is not None:  # the paths of the credential: the document's, and its own proof
            paths = [*inner, ("proof",)] if type(credential.get("proof")) is dict else inner
        problems = schema.validate(credential, name, proofs=paths)
    if problems:
        report.add(
            "schema",
            Outcome.FAILED,
            "schema.invalid",
            f"does not match the 1EdTech schema {name}: " + "; ".join(map(str, problems[:3])),
            problems=[str(p) for p in problems],
        )
        return
    report.add("schema", Outcome.PASSED, "schema.ok", f"matches the 1EdTech schema {name}")


def _check_proofs(
    credential: Mapping[str, Any],
    unsecured: Mapping[str, Any],
    policy: Policy,
    canonicalize: _Memo,
    report: VerificationReport,
) -> list[dict[str, Any]]:
    """Verify every proof; return the verification methods that signed."""
    proof_list = _as_list(credential.get("proof"))
    if not proof_list:
        report.add("proof", Outcome.FAILED, "proof.missing", "the credential is not signed")
        return []
    methods: list[dict[str, Any]] = []
    for index, proof in enumerate(proof_list):
        try:
            signed_over = _with_previous_proofs(unsecured, proof, proof_list)
            methods.append(_verify_one(signed_over, proof, policy, canonicalize))
        except VcError as exc:
            where = f"proof {index + 1} of {len(proof_list)}: " if len(proof_list) > 1 else ""
            report.add("proof", Outcome.FAILED, exc.code, where + exc.message)
            return []
    suites = sorted({proofs.suite_of(p) for p in proof_list})
    report.add(
        "proof",
        Outcome.PASSED,
        "proof.ok",
        f"the signature is valid ({', '.join(suites)}): the content is exactly what was signed",
        suites=suites,
        verification_methods=[m["id"] for m in methods],
    )
    return methods


def _with_previous_proofs(
    unsecured: Mapping[str, Any], proof: Mapping[str, Any], proof_list: list[Any]
) -> Mapping[str, Any]:
    """A proof set's proofs each sign the document alone; a proof in a chain (``previousProof``)
    signed the document with the proofs it names (VC Data Integrity, verify proof sets and
    chains): each named proof must be present."""
    previous = proof.get("previousProof")
    if previous is None:
        return unsecured
    wanted = _as_list(previous)
    if not wanted or not all(isinstance(w, str) for w in wanted):
        raise VcError("previousProof must be a proof id or a list of them", "proof.malformed")
    matching = [p for p in proof_list if isinstance(p, Mapping) and p.get("id") in wanted]
    found = {p.get("id") for p in matching}
    missing = [w for w in wanted if w not in found]
    if missing:
        raise VcError(
            f"the proof chain names {missing[0]} as a previous proof, which is not present",
            "proof.previous_missing",
        )
    return {**unsecured, "proof": matching}


def _verify_one(
    unsecured: Mapping[str, Any],
    proof: Mapping[str, Any],
    policy: Policy,
    canonicalize: _Memo,
    purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    suite = proofs.suite_of(proof)
    if suite not in policy.suites:
        raise VcError(
            f"suite {suite} is not allowed by this verifier's policy", "proof.suite_not_allowed"
        )
    if proof.get("proofPurpose") != purpose:
        what = "a credential" if purpose == ASSERTION_METHOD else "a presentation"
        raise VcError(
            f"proofPurpose is {proof.get('proofPurpose')!r}; {what} must be signed for {purpose}",
            "proof.purpose_mismatch",
        )
    if "expires" in proof:
        expires = parse_datetime(proof["expires"], "proof.expires")
        if expires < policy.clock() - policy.clock_skew:
            raise VcError(f"the proof expired on {proof['expires']}", "proof.expired")
    method = _resolve_method(proof.get("verificationMethod"), policy, purpose)
    public_key = PublicKey.from_multibase(method["publicKeyMultibase"])
    proofs.verify_proof(unsecured, proof, public_key, policy.loader, canonicalize)
    return method


def _resolve_method(
    method_id: Any, policy: Policy, purpose: str = ASSERTION_METHOD
) -> dict[str, Any]:
    """The key a proof names: a DID URL (did:key, did:web), or an https URL in the style of the
    OB 3.0 implementation guide: ``https://issuer.example/profile#key`` (the controller document
    lists the key) or ``https://issuer.example/keys/1`` (a key document whose controller lists
    it). Controller documents come through the policy's resolver (the safe fetcher)."""
    if isinstance(method_id, Mapping):
        method_id = method_id.get("id")
    is_url = isinstance(method_id, str) and method_id.startswith(("https://", "http://"))
    if not isinstance(method_id, str) or not (is_url or "#" in method_id):
        raise VcError(
            "verificationMethod must be a DID URL with a fragment, or an https URL",
            "proof.method_malformed",
        )
    key_document: dict[str, Any] | None = None
    controller = method_id.partition("#")[0]
    if is_url and "#" not in method_id:
        key_document = _resolve(method_id, method_id, policy)
        controller = key_document.get("controller")  # type: ignore[assignment]
        if not isinstance(controller, str) or not controller:
            raise VcError(
                f"the key document {method_id} names no controller", "proof.method_malformed"
            )
    document = _resolve(controller, method_id, policy)
    method = find_method(document, method_id)
    if method is None and key_document is not None and is_authorized(document, method_id, purpose):
        method = key_document
    if method is None:
        raise VcError(f"{controller} does not list the key {method_id}", "proof.method_not_found")
    if method.get("type") not in _KEY_TYPES or not isinstance(
        method.get("publicKeyMultibase"), str
    ):
        raise VcError(
            f"key {method_id} is of type {method.get('type')!r}; expected an Ed25519 Multikey",
            "proof.method_unsupported",
        )
    method = dict(method)
    method.setdefault("controller", document.get("id"))
    if method.get("controller") != document.get("id"):
        raise VcError(
            f"key {method_id} names the controller {method.get('controller')!r}, "
            f"not {document.get('id')!r}",
            "proof.method_not_found",
        )
    method["_assertion"] = is_authorized(document, method_id, purpose)
    return method


def _resolve(identifier: str, method_id: str, policy: Policy) -> dict[str, Any]:
    try:
        return policy.resolver.resolve(identifier)
    except VcError as exc:
        code = exc.code if exc.code.startswith("did.") else "did.unresolvable"
        raise VcError(f"cannot resolve the signing key {method_id}: {exc.message}", code) from exc


def _check_issuer(
    credential: Mapping[str, Any], methods: list[dict[str, Any]], report: VerificationReport
) -> None:
    if not methods:
        report.add("issuer", Outcome.SKIPPED, "issuer.unchecked", "no valid signature to bind")
        return
    issuer = _issuer_id(credential)
    for method in methods:
        if method.get("controller") != issuer:
            report.add(
                "issuer",
                Outcome.FAILED,
                "issuer.key_not_controlled",
                f"the credential names {issuer} as issuer but was signed by a key of "
                f"{method.get('controller')}",
            )
            return
        if not method["_assertion"]:
            report.add(
                "issuer",
                Outcome.FAILED,
                "issuer.key_not_authorized",
                f"{issuer} does not list key {method['id']} for issuing (assertionMethod)",
            )
            return
    report.add(
        "issuer",
        Outcome.PASSED,
        "issuer.ok",
        f"signed by a key of the issuer {issuer}",
        issuer=issuer,
    )


def _check_trust(credential: Mapping[str, Any], policy: Policy, report: VerificationReport) -> None:
    if policy.trust_checker is None:
        return
    issuer = _issuer_id(credential)
    if issuer is None:
        return
    if clr.is_clr(credential):
        report.add(
            "trust",
            Outcome.SKIPPED,
            "trust.record",
            "a record's issuer attests what the learner holds; the trust in each credential's "
            "issuer is checked with that credential (below)",
        )
        return
    finding = policy.trust_checker.check(issuer, policy.clock())
    report.add("trust", Outcome(finding.outcome), finding.code, finding.message, **finding.details)


def _check_validity(
    credential: Mapping[str, Any], policy: Policy, report: VerificationReport
) -> None:
    v1 = _as_list(credential.get("@context"))[0] == VC_V1
    start_field, end_field = (
        ("issuanceDate", "expirationDate") if v1 else ("validFrom", "validUntil")
    )
    try:
        start = _optional_date(credential, start_field)
        end = _optional_date(credential, end_field)
    except VcError as exc:
        report.add("validity", Outcome.FAILED, exc.code, exc.message)
        return
    now = policy.clock()
    skew = policy.clock_skew
    if start is not None and end is not None and end < start:
        report.add(
            "validity",
            Outcome.FAILED,
            "validity.range_invalid",
            f"{end_field} is before {start_field}",
        )
    elif end is not None and end < now - skew:
        report.add("validity", Outcome.FAILED, "validity.expired", f"expired on {_day(end)}")
    elif start is not None and start > now + skew:
        report.add(
            "validity", Outcome.FAILED, "validity.not_yet_valid", f"not valid before {_day(start)}"
        )
    else:
        span = f"valid from {_day(start)}" if start else "no start date"
        span += f" until {_day(end)}" if end else ", no end date"
        report.add("validity", Outcome.PASSED, "validity.ok", span)


def _check_status(
    credential: Mapping[str, Any], policy: Policy, report: VerificationReport
) -> None:
    """Fail closed (ADR 0015): a status that cannot be established fails the step, unless the
    caller explicitly chose offline use (``skip_status``), which leaves it unchecked."""
    entries = _as_list(credential.get("credentialStatus"))
    if not entries:
        report.add(
            "status", Outcome.SKIPPED, "status.none", "the issuer publishes no revocation status"
        )
        return
    if policy.skip_status:
        report.add(
            "status",
            Outcome.UNCHECKED,
            "status.skipped",
            "revocation status was not checked (offline verification was chosen)",
        )
        return
    if policy.status_checker is None:
        report.add(
            "status",
            Outcome.FAILED,
            "status.unchecked",
            "revocation status could not be checked: no status service is available here",
        )
        return
    results = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            report.add(
                "status", Outcome.FAILED, "status.malformed", "a credentialStatus is not an object"
            )
            return
        results.append(policy.status_checker.check(credential, entry))
    # a revocation or suspension outranks a list that could not be read
    order = (CredentialStatus.REVOKED, CredentialStatus.SUSPENDED, CredentialStatus.UNKNOWN)
    for wanted in order:
        for result in results:
            if result.status is wanted:
                code = result.code or f"status.{result.status.value}"
                if code == "status.unknown":
                    code = "status.verification_error"
                report.add("status", Outcome.FAILED, code, result.message)
                return
    report.add("status", Outcome.PASSED, "status.ok", "neither revoked nor suspended")


def _endorsements(credential: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Embedded EndorsementCredentials: on the credential, its issuer, its achievement."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    holders: list[tuple[str, Any]] = [
        ("credential", credential),
        ("issuer", credential.get("issuer")),
    ]
    for subject in _as_list(credential.get("credentialSubject")):
        if isinstance(subject, Mapping):
            holders.append(("achievement", subject.get("achievement")))
    for where, holder in holders:
        if isinstance(holder, Mapping):
            for item in _as_list(holder.get("endorsement")):
                if isinstance(item, Mapping):
                    found.append((where, item))
    return found


def _check_endorsements(
    credential: Mapping[str, Any], policy: Policy, report: VerificationReport, depth: int = 0
) -> None:
    """Each embedded endorsement is verified on its own with the same policy. One that does not
    verify does not invalidate the credential (its issuer signed over it as it is), but it is
    named in a warning and must not be shown as an endorsement."""
    found = _endorsements(credential)
    if not found:
        return
    if depth >= _MAX_ENDORSEMENT_DEPTH:
        report.add(
            "endorsements",
            Outcome.WARNING,
            "endorsement.too_deep",
            "endorsements nested this deep are not verified",
        )
        return
    results = []
    for where, item in found:
        inner = verify(item, policy, _depth=depth + 1)
        failure = next(iter(inner.failures), None)
        results.append(
            {
                "on": where,
                "id": item.get("id"),
                "issuer": _issuer_id(item),
                "verdict": inner.verdict.value,
                "message": failure.message if failure else inner.headline(),
            }
        )
    bad = [r for r in results if r["verdict"] not in ("verified", "verified_with_warnings")]
    if bad:
        report.add(
            "endorsements",
            Outcome.WARNING,
            "endorsement.not_verified",
            f"{len(bad)} of {len(results)} endorsements do not verify; the first, by "
            f"{bad[0]['issuer']}: {bad[0]['message']}",
            endorsements=results,
        )
        return
    report.add(
        "endorsements",
        Outcome.PASSED,
        "endorsement.ok",
        f"{len(results)} endorsement(s) verify on their own",
        endorsements=results,
    )


def _check_components(
    credential: Mapping[str, Any], policy: Policy, report: VerificationReport
) -> None:
    embedded, problems = clr.check_record(credential)
    if problems:
        report.add(
            "components",
            Outcome.FAILED,
            "clr.malformed",
            "the record is malformed: " + "; ".join(problems[:3]),
            problems=problems,
        )
        return
    results = []
    for position, item in enumerate(embedded):
        inner = verify(item, policy)
        failure = next(iter(inner.failures), None)
        trust = inner.step("trust")
        achievement = clr.achievement_of(item) or {}
        results.append(
            {
                "position": position,
                "id": item.get("id"),
                "name": achievement.get("name") or item.get("name"),
                "issuer": _issuer_id(item),
                "verified": inner.verified,
                "trust": trust.code if trust else None,
                "trust_message": trust.message if trust else None,
                "code": failure.code if failure else "verified",
                "message": failure.message if failure else "verified",
            }
        )
    failed = [r for r in results if not r["verified"]]
    if failed:
        first = failed[0]
        report.add(
            "components",
            Outcome.FAILED,
            "clr.component_failed",
            f"{len(failed)} of {len(results)} credentials in the record do not verify; "
            f"credential {first['position'] + 1} ({first['name']}): {first['message']}",
            credentials=results,
        )
        return
    report.add(
        "components",
        Outcome.PASSED,
        "clr.ok",
        f"all {len(results)} credentials in the record verify on their own",
        credentials=results,
    )


def _optional_date(credential: Mapping[str, Any], field: str) -> datetime | None:
    value = credential.get(field)
    return None if value is None else parse_datetime(value, field)


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) and issuer else None


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
