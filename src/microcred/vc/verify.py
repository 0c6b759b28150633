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

from microcred.i18n import N_
from microcred.vc import canon, clr, proofs, schema
from microcred.vc.dates import parse_datetime
from microcred.vc.did import find_method, is_authorized
from microcred.vc.errors import ContextError, DocumentError, VcError
from microcred.vc.fastcanon import FastCanonicalizer, Survey
from microcred.vc.jsonsafe import check_depth, parse_json
from microcred.vc.loader import VC_V1, VC_V2, DocumentLoader
from microcred.vc.memo import VerifyMemo, content_key
from microcred.vc.message import Message, plain
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
    "https://w3id.org/security/v1": Message(N_("a Linked Data Signatures 2018 suite")),
    "https://w3id.org/security/v2": Message(N_("a Linked Data Signatures 2018 suite")),
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
            Message(
                N_("verification stopped on an unexpected problem (%(error)s)"),
                error=type(exc).__name__,
            ),
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
            Message(
                N_(
                    "not checked: the signature does not verify, so nothing the credential says "
                    "can be relied on"
                )
            ),
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
        report.add(
            "parse",
            Outcome.FAILED,
            "json.not_object",
            Message(N_("a credential must be a JSON object")),
        )
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
    report.add("parse", Outcome.PASSED, "parse.ok", Message(N_("the document is well-formed JSON")))
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
                    Message(N_("proof must be an object or a list of objects")), "proof.malformed"
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
        Message(
            N_(
                "Verifiable Credentials %(version)s document; every context is known and every "
                "term defined"
            ),
            version=version,
        ),
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
                Message(
                    N_(
                        "the document states %(term)s in a form this verifier does not read by "
                        "name (a full or compact IRI, or an alias); write it as the plain term"
                    ),
                    term=name,
                ),
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
        return "context.missing", Message(N_("the document has no @context"))
    entries = _as_list(contexts)
    if not entries or entries[0] not in (VC_V2, VC_V1):
        return (
            "context.vc_not_first",
            Message(
                N_("the first @context must be %(v2)s (or %(v1)s for VC 1.1 credentials)"),
                v2=VC_V2,
                v1=VC_V1,
            ),
        )
    for position, entry in enumerate(entries):
        if isinstance(entry, str):
            if entry in _UNSUPPORTED_SUITE_CONTEXTS:
                return (
                    "proof.suite_unsupported",
                    Message(
                        N_(
                            "the credential is secured with %(suite)s, which microcred does not "
                            "support (it verifies eddsa-rdfc-2022, eddsa-jcs-2022 and "
                            "Ed25519Signature2020)"
                        ),
                        suite=_UNSUPPORTED_SUITE_CONTEXTS[entry],
                    ),
                )
            if not loader.knows(entry):
                return (
                    "context.unknown",
                    Message(
                        N_(
                            "@context[%(position)d] %(context)s is not a context microcred "
                            "knows; contexts are never fetched"
                        ),
                        position=position,
                        context=repr(entry),
                    ),
                )
        elif not isinstance(entry, Mapping):
            return "context.invalid", Message(
                N_("@context[%(position)d] must be a URL or an object"), position=position
            )
    return None


def _check_shape(credential: Mapping[str, Any], report: VerificationReport) -> None:
    types = _as_list(credential.get("type"))
    problems: list[tuple[str, Message]] = []
    if "VerifiableCredential" not in types:
        problems.append(
            ("credential.type_missing", Message(N_("type must include VerifiableCredential")))
        )
    if _issuer_id(credential) is None:
        problems.append(
            (
                "credential.issuer_missing",
                Message(N_("the issuer (a URL or an object with an id) is missing")),
            )
        )
    if not credential.get("credentialSubject"):
        problems.append(("credential.subject_missing", Message(N_("credentialSubject is missing"))))
    if problems:
        code = problems[0][0]
        messages = [m for _code, m in problems]
        message = messages[0] if len(messages) == 1 else Message.joined(messages)
        report.add("credential", Outcome.FAILED, code, message)
        return
    report.add(
        "credential",
        Outcome.PASSED,
        "credential.ok",
        Message(N_("the credential has a type, an issuer and a subject")),
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
        report.add(
            "schema",
            Outcome.SKIPPED,
            "schema.not_applicable",
            Message(N_("no 1EdTech schema applies")),
        )
        return
    if _as_list(credential.get("@context"))[0] != VC_V2:
        report.add(
            "schema",
            Outcome.SKIPPED,
            "schema.not_applicable",
            Message(
                N_("the published 1EdTech schema describes VC 2.0 credentials; this is VC 1.1")
            ),
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
            Message(
                N_("does not match the 1EdTech schema %(schema)s: %(problems)s"),
                schema=name,
                problems=[str(p) for p in problems[:3]],
            ),
            problems=[str(p) for p in problems],
        )
        return
    report.add(
        "schema",
        Outcome.PASSED,
        "schema.ok",
        Message(N_("matches the 1EdTech schema %(schema)s"), schema=name),
    )


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
        report.add(
            "proof", Outcome.FAILED, "proof.missing", Message(N_("the credential is not signed"))
        )
        return []
    methods: list[dict[str, Any]] = []
    for index, proof in enumerate(proof_list):
        try:
            signed_over = _with_previous_proofs(unsecured, proof, proof_list)
            methods.append(_verify_one(signed_over, proof, policy, canonicalize))
        except VcError as exc:
            message = exc.message
            if len(proof_list) > 1:
                message = Message(
                    N_("proof %(index)d of %(count)d: %(reason)s"),
                    index=index + 1,
                    count=len(proof_list),
                    reason=exc.message,
                )
            report.add("proof", Outcome.FAILED, exc.code, message)
            return []
    suites = sorted({proofs.suite_of(p) for p in proof_list})
    report.add(
        "proof",
        Outcome.PASSED,
        "proof.ok",
        Message(
            N_("the signature is valid (%(suites)s): the content is exactly what was signed"),
            suites=", ".join(suites),
        ),
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
        raise VcError(
            Message(N_("previousProof must be a proof id or a list of them")), "proof.malformed"
        )
    matching = [p for p in proof_list if isinstance(p, Mapping) and p.get("id") in wanted]
    found = {p.get("id") for p in matching}
    missing = [w for w in wanted if w not in found]
    if missing:
        raise VcError(
            Message(
                N_("the proof chain names %(proof)s as a previous proof, which is not present"),
                proof=missing[0],
            ),
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
            Message(N_("suite %(suite)s is not allowed by this verifier's policy"), suite=suite),
            "proof.suite_not_allowed",
        )
    if proof.get("proofPurpose") != purpose:
        template = (
            N_("proofPurpose is %(found)s; a credential must be signed for %(purpose)s")
            if purpose == ASSERTION_METHOD
            else N_("proofPurpose is %(found)s; a presentation must be signed for %(purpose)s")
        )
        raise VcError(
            Message(template, found=repr(proof.get("proofPurpose")), purpose=purpose),
            "proof.purpose_mismatch",
        )
    if "expires" in proof:
        expires = parse_datetime(proof["expires"], "proof.expires")
        if expires < policy.clock() - policy.clock_skew:
            raise VcError(
                Message(N_("the proof expired on %(date)s"), date=proof["expires"]),
                "proof.expired",
            )
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
            Message(N_("verificationMethod must be a DID URL with a fragment, or an https URL")),
            "proof.method_malformed",
        )
    key_document: dict[str, Any] | None = None
    controller = method_id.partition("#")[0]
    if is_url and "#" not in method_id:
        key_document = _resolve(method_id, method_id, policy)
        controller = key_document.get("controller")  # type: ignore[assignment]
        if not isinstance(controller, str) or not controller:
            raise VcError(
                Message(N_("the key document %(key)s names no controller"), key=method_id),
                "proof.method_malformed",
            )
    document = _resolve(controller, method_id, policy)
    method = find_method(document, method_id)
    if method is None and key_document is not None and is_authorized(document, method_id, purpose):
        method = key_document
    if method is None:
        raise VcError(
            Message(
                N_("%(controller)s does not list the key %(key)s"),
                controller=controller,
                key=method_id,
            ),
            "proof.method_not_found",
        )
    if method.get("type") not in _KEY_TYPES or not isinstance(
        method.get("publicKeyMultibase"), str
    ):
        raise VcError(
            Message(
                N_("key %(key)s is of type %(type)s; expected an Ed25519 Multikey"),
                key=method_id,
                type=repr(method.get("type")),
            ),
            "proof.method_unsupported",
        )
    method = dict(method)
    method.setdefault("controller", document.get("id"))
    if method.get("controller") != document.get("id"):
        raise VcError(
            Message(
                N_("key %(key)s names the controller %(named)s, not %(controller)s"),
                key=method_id,
                named=repr(method.get("controller")),
                controller=repr(document.get("id")),
            ),
            "proof.method_not_found",
        )
    method["_assertion"] = is_authorized(document, method_id, purpose)
    return method


def _resolve(identifier: str, method_id: str, policy: Policy) -> dict[str, Any]:
    try:
        return policy.resolver.resolve(identifier)
    except VcError as exc:
        code = exc.code if exc.code.startswith("did.") else "did.unresolvable"
        raise VcError(
            Message(
                N_("cannot resolve the signing key %(key)s: %(reason)s"),
                key=method_id,
                reason=exc.message,
            ),
            code,
        ) from exc


def _check_issuer(
    credential: Mapping[str, Any], methods: list[dict[str, Any]], report: VerificationReport
) -> None:
    if not methods:
        report.add(
            "issuer",
            Outcome.SKIPPED,
            "issuer.unchecked",
            Message(N_("no valid signature to bind")),
        )
        return
    issuer = _issuer_id(credential)
    for method in methods:
        if method.get("controller") != issuer:
            report.add(
                "issuer",
                Outcome.FAILED,
                "issuer.key_not_controlled",
                Message(
                    N_(
                        "the credential names %(issuer)s as issuer but was signed by a key of "
                        "%(controller)s"
                    ),
                    issuer=str(issuer),
                    controller=str(method.get("controller")),
                ),
            )
            return
        if not method["_assertion"]:
            report.add(
                "issuer",
                Outcome.FAILED,
                "issuer.key_not_authorized",
                Message(
                    N_("%(issuer)s does not list key %(key)s for issuing (assertionMethod)"),
                    issuer=str(issuer),
                    key=str(method["id"]),
                ),
            )
            return
    report.add(
        "issuer",
        Outcome.PASSED,
        "issuer.ok",
        Message(N_("signed by a key of the issuer %(issuer)s"), issuer=str(issuer)),
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
            Message(
                N_(
                    "a record's issuer attests what the learner holds; the trust in each "
                    "credential's issuer is checked with that credential (below)"
                )
            ),
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
            Message(N_("%(end)s is before %(start)s"), end=end_field, start=start_field),
        )
    elif end is not None and end < now - skew:
        report.add(
            "validity",
            Outcome.FAILED,
            "validity.expired",
            Message(N_("expired on %(date)s"), date=_day(end)),
        )
    elif start is not None and start > now + skew:
        report.add(
            "validity",
            Outcome.FAILED,
            "validity.not_yet_valid",
            Message(N_("not valid before %(date)s"), date=_day(start)),
        )
    else:
        report.add("validity", Outcome.PASSED, "validity.ok", _span(start, end))


def _span(start: datetime | None, end: datetime | None) -> Message:
    if start and end:
        return Message(N_("valid from %(start)s until %(end)s"), start=_day(start), end=_day(end))
    if start:
        return Message(N_("valid from %(start)s, no end date"), start=_day(start))
    if end:
        return Message(N_("no start date until %(end)s"), end=_day(end))
    return Message(N_("no start date, no end date"))


def _check_status(
    credential: Mapping[str, Any], policy: Policy, report: VerificationReport
) -> None:
    """Fail closed (ADR 0015): a status that cannot be established fails the step, unless the
    caller explicitly chose offline use (``skip_status``), which leaves it unchecked."""
    entries = _as_list(credential.get("credentialStatus"))
    if not entries:
        report.add(
            "status",
            Outcome.SKIPPED,
            "status.none",
            Message(N_("the issuer publishes no revocation status")),
        )
        return
    if policy.skip_status:
        report.add(
            "status",
            Outcome.UNCHECKED,
            "status.skipped",
            Message(N_("revocation status was not checked (offline verification was chosen)")),
        )
        return
    if policy.status_checker is None:
        report.add(
            "status",
            Outcome.FAILED,
            "status.unchecked",
            Message(
                N_("revocation status could not be checked: no status service is available here")
            ),
        )
        return
    results = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            report.add(
                "status",
                Outcome.FAILED,
                "status.malformed",
                Message(N_("a credentialStatus is not an object")),
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
    report.add("status", Outcome.PASSED, "status.ok", Message(N_("neither revoked nor suspended")))


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
            Message(N_("endorsements nested this deep are not verified")),
        )
        return
    results = []
    reasons: list[str] = []  # each result's message, as a Message where it has a template
    for where, item in found:
        inner = verify(item, policy, _depth=depth + 1)
        failure = next(iter(inner.failures), None)
        reason = failure.as_message() if failure else inner.headline()
        reasons.append(reason)
        results.append(
            {
                "on": where,
                "id": item.get("id"),
                "issuer": _issuer_id(item),
                "verdict": inner.verdict.value,
                "message": plain(reason),
                **_translatable(reason),
            }
        )
    bad = [
        (r, reason)
        for r, reason in zip(results, reasons, strict=True)
        if r["verdict"] not in ("verified", "verified_with_warnings")
    ]
    if bad:
        first, reason = bad[0]
        report.add(
            "endorsements",
            Outcome.WARNING,
            "endorsement.not_verified",
            Message(
                N_(
                    "%(bad)d of %(total)d endorsements do not verify; the first, by %(issuer)s: "
                    "%(reason)s"
                ),
                bad=len(bad),
                total=len(results),
                issuer=str(first["issuer"]),
                reason=reason,
            ),
            endorsements=results,
        )
        return
    report.add(
        "endorsements",
        Outcome.PASSED,
        "endorsement.ok",
        Message(N_("%(num)d endorsement(s) verify on their own"), num=len(results)),
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
            Message(N_("the record is malformed: %(problems)s"), problems=problems[:3]),
            problems=[plain(p) for p in problems],
        )
        return
    results = []
    reasons: list[str] = []  # each result's message, as a Message where it has a template
    for position, item in enumerate(embedded):
        inner = verify(item, policy)
        failure = next(iter(inner.failures), None)
        trust = inner.step("trust")
        achievement = clr.achievement_of(item) or {}
        reason = failure.as_message() if failure else Message(N_("verified"))
        reasons.append(reason)
        result = {
            "position": position,
            "id": item.get("id"),
            "name": achievement.get("name") or item.get("name"),
            "issuer": _issuer_id(item),
            "verified": inner.verified,
            "trust": trust.code if trust else None,
            "trust_message": trust.message if trust else None,
            "code": failure.code if failure else "verified",
            "message": plain(reason),
        }
        if trust is not None:
            result |= _translatable(trust.as_message(), "trust_")
        results.append(result | _translatable(reason))
    failed = [(r, reason) for r, reason in zip(results, reasons, strict=True) if not r["verified"]]
    if failed:
        first, reason = failed[0]
        report.add(
            "components",
            Outcome.FAILED,
            "clr.component_failed",
            Message(
                N_(
                    "%(failed)d of %(total)d credentials in the record do not verify; "
                    "credential %(position)d (%(name)s): %(reason)s"
                ),
                failed=len(failed),
                total=len(results),
                position=first["position"] + 1,
                name=str(first["name"]),
                reason=reason,
            ),
            credentials=results,
        )
        return
    report.add(
        "components",
        Outcome.PASSED,
        "clr.ok",
        Message(N_("all %(num)d credentials in the record verify on their own"), num=len(results)),
        credentials=results,
    )


def _translatable(message: str, prefix: str = "") -> dict[str, Any]:
    """``template`` and ``params`` beside a message kept in a step's details (read back by
    :meth:`Step.detail_text`); nothing for plain English text."""
    if not isinstance(message, Message):
        return {}
    data = message.to_json()
    found = {prefix + "template": data["template"]}
    if "params" in data:
        found[prefix + "params"] = data["params"]
    return found


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
