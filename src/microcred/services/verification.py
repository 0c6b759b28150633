"""Verification for everyone: any file (JSON, baked PNG or SVG, PDF certificate), from any issuer,
with trust. Formats microcred does not verify (VC-JWT, SD-JWT, COSE) are named, not guessed at.

Results are kept and answered to every reader (services/verdicts.py): what this module writes into
a report is a :class:`~microcred.vc.message.Message`, English in the report and its JSON, and
shown in the reader's language on pages (``Step.text``). Never ``_()`` here."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from microcred import metrics
from microcred.db.aio import AsyncReader
from microcred.domain.award import read_eu_elements
from microcred.domain.catalog import MANDATORY_ELEMENTS
from microcred.i18n import N_
from microcred.services import fetched, usage, verdicts
from microcred.services.app import App
from microcred.services.fetched import SharedFetcher
from microcred.services.trust import RegistryTrust, StaticRegistry
from microcred.services.verdicts import Reads
from microcred.vc import baking, pdf, schema
from microcred.vc.errors import DocumentError
from microcred.vc.fetch import SafeFetcher, WebResolver
from microcred.vc.jsonsafe import parse_json
from microcred.vc.loader import default_loader
from microcred.vc.message import Message
from microcred.vc.policy import Policy, system_clock
from microcred.vc.report import Outcome, VerificationReport
from microcred.vc.status_list import BitstringStatusChecker
from microcred.vc.verify import verify

FORMATS = {b"\x89P": "png", b"<": "svg", pdf.PDF_SIGNATURE: "pdf"}
# a compact JWS (three segments) or JWE (five), its header starting with '{"'
_JWT = re.compile(rb"eyJ[\w-]*\.[\w-]+\.[\w-]*(\.[\w-]*\.[\w-]*)?", re.ASCII)
# formats recognised but not verified: (code, what the file is)
UNSUPPORTED = {
    "vc_jwt": ("format.vc_jwt_unsupported", N_("a JWT (VC-JWT): VC-JWT is not supported")),
    "sd_jwt": ("format.sd_jwt_unsupported", N_("an SD-JWT (SD-JWT VC): SD-JWT is not supported")),
    "cose": (
        "format.cose_unsupported",
        N_("a CBOR/COSE-secured credential (COSE_Sign1 or CWT): CBOR/COSE is not supported"),
    ),
}
_MEDIA_TYPES = {
    "application/vc+jwt": "vc_jwt",
    "application/jwt": "vc_jwt",
    "application/vc-ld+jwt": "vc_jwt",
    "application/vc+sd-jwt": "sd_jwt",
    "application/dc+sd-jwt": "sd_jwt",
    "application/vc+cose": "cose",
    "application/vc-ld+cose": "cose",
    "application/vp+jwt": "vc_jwt",
    "application/vp+sd-jwt": "sd_jwt",
    "application/vp+cose": "cose",
}
_OTHER_FILES = {
    b"GIF8": N_("a GIF image"),
    b"\xff\xd8\xff": N_("a JPEG image"),
    b"PK\x03\x04": N_("a ZIP archive"),
    b"\x1f\x8b": N_("a gzip file"),
}


def sniff(data: bytes) -> str:
    """The format of a file: png, svg, pdf, json, one of :data:`UNSUPPORTED`, or unknown."""
    stripped = data.removeprefix(b"\xef\xbb\xbf").strip()  # a UTF-8 byte order mark, then space
    for prefix, name in FORMATS.items():
        if stripped.startswith(prefix):
            return name
    if stripped.startswith(b'"'):  # a JSON string holding a token
        stripped = stripped.strip(b'"')
    if stripped.startswith(b"data:"):  # an enveloped credential's data: URL
        media = stripped[5:].split(b",", 1)[0].split(b";", 1)[0].decode("ascii", "replace")
        return _MEDIA_TYPES.get(media.lower(), "unknown")
    if _JWT.fullmatch(stripped):
        return "vc_jwt"
    if b"~" in stripped and _JWT.fullmatch(stripped.split(b"~", 1)[0]):
        return "sd_jwt"
    if _is_cose(data):
        return "cose"
    if stripped[:1] in (b"{", b"["):
        return "json"
    return "unknown"


def _is_cose(data: bytes) -> bool:
    """CBOR tags 18 (COSE_Sign1), 61 (CWT), 98 (COSE_Sign), or an untagged COSE_Sign1 (an array
    of four starting with the protected header's byte string)."""
    head = data[:2]
    if head[:1] == b"\xd2" or head in (b"\xd8\x3d", b"\xd8\x62"):
        return True
    return len(head) == 2 and head[0] == 0x84 and 0x40 <= head[1] <= 0x5F


def read_file(data: bytes) -> tuple[str, str]:
    """The credential (or presentation) text in a file, and the file's format;
    :class:`DocumentError` when there is none or the format is not supported."""
    source_format = sniff(data)
    if source_format in UNSUPPORTED:
        code, what = UNSUPPORTED[source_format]
        raise DocumentError(Message(N_("this file is %(what)s"), what=Message(what)), code)
    if source_format == "pdf":
        return pdf.extract_pdf(data.lstrip()), source_format
    if source_format == "unknown":
        kind = next((w for magic, w in _OTHER_FILES.items() if data.startswith(magic)), None)
        raise DocumentError(
            Message(
                N_(
                    "this file is %(kind)s: not JSON, a baked PNG or SVG badge, or a PDF with a "
                    "credential attached"
                ),
                kind=Message(kind),
            )
            if kind
            else Message(
                N_("not JSON, a baked PNG or SVG badge, or a PDF with a credential attached")
            ),
            "bake.unknown_format",
        )
    return baking.extract(data), source_format


def enveloped_problem(document: str | bytes | Mapping[str, Any]) -> DocumentError | None:
    """An ``EnvelopedVerifiableCredential`` (VC 2.0 section 4.13.1) names the format it wraps."""
    if isinstance(document, str | bytes):
        text = document if isinstance(document, str) else document.decode("utf-8", "replace")
        if "EnvelopedVerifiableCredential" not in text:
            return None
        try:
            document = parse_json(document)
        except DocumentError:
            return None
    if not isinstance(document, Mapping):
        return None
    types = document.get("type")
    if "EnvelopedVerifiableCredential" not in (types if isinstance(types, list) else [types]):
        return None
    inner = sniff(str(document.get("id", "")).encode("utf-8", "replace"))
    if inner in UNSUPPORTED:
        code, what = UNSUPPORTED[inner]
        return DocumentError(
            Message(N_("an enveloped credential: %(what)s"), what=Message(what)), code
        )
    return DocumentError(
        Message(N_("an enveloped credential whose format is not supported")),
        "credential.enveloped_unsupported",
    )


@dataclass(slots=True)
class VerifyResult:
    report: VerificationReport
    source_format: str = "json"
    elements: dict[str, str] = field(default_factory=dict)

    @property
    def credential(self) -> dict[str, Any] | None:
        return self.report.credential

    @property
    def trust(self) -> dict[str, Any]:
        step = self.report.step("trust")
        return dict(step.details) if step else {}

    def to_json(self) -> dict[str, Any]:
        data = self.report.to_json()
        data["format"] = self.source_format
        data["eu_elements"] = self.elements
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], credential: Mapping[str, Any]) -> VerifyResult:
        """A result as :meth:`to_json` wrote it, for the document it was about."""
        report = VerificationReport.from_json(data, dict(credential))
        return cls(report, str(data.get("format", "json")), dict(data.get("eu_elements", {})))


def policy_for(
    fetcher: SafeFetcher,
    app: App | None,
    registries: Iterable[StaticRegistry],
    clock: Callable[[], datetime] = system_clock,
    reads: Reads | None = None,
) -> Policy:
    """The verifier's policy; ``clock`` holds for the status lists' own validity too."""
    base = Policy(
        loader=app.loader if app is not None else default_loader(),
        resolver=WebResolver(fetcher),
        memo=app.memo if app is not None else None,
        clock=clock,
    )
    return replace(
        base,
        status_checker=BitstringStatusChecker(fetcher, base),
        trust_checker=RegistryTrust(app, registries, reads),
    )


def failed(exc: DocumentError, source_format: str = "json") -> VerifyResult:
    """A result whose file could not be read: one failed ``parse`` step."""
    report = VerificationReport()
    report.add("parse", Outcome.FAILED, exc.code, exc.message)
    return VerifyResult(report, source_format)


def verify_bytes(data: bytes, policy: Policy) -> VerifyResult:
    """Verify a JSON credential, a baked badge image or a PDF certificate; never raises on bad
    input."""
    try:
        text, source_format = read_file(data)
    except DocumentError as exc:
        return failed(exc, sniff(data))
    return verify_document(text, policy, source_format)


def verify_document(
    document: str | bytes | Mapping[str, Any], policy: Policy, source_format: str = "json"
) -> VerifyResult:
    result = _verify_document(document, policy, source_format)
    metrics.CREDENTIALS_VERIFIED.labels(str(result.report.verdict)).inc()
    return result


def _verify_document(
    document: str | bytes | Mapping[str, Any], policy: Policy, source_format: str
) -> VerifyResult:
    problem = enveloped_problem(document)
    if problem is not None:
        return failed(problem, source_format)
    report = verify(document, policy)
    result = VerifyResult(report, source_format)
    credential = report.credential
    context = report.step("context")
    if credential is None or context is None or context.outcome is not Outcome.PASSED:
        return result
    _eu_step(credential, result)
    return result


def _eu_step(credential: Mapping[str, Any], result: VerifyResult) -> None:
    report = result.report
    if schema.schema_for(credential) != schema.ACHIEVEMENT_CREDENTIAL:
        report.add(
            "eu_elements",
            Outcome.SKIPPED,
            "eu.not_applicable",
            Message(N_("not an Open Badges achievement credential")),
        )
        return
    elements = read_eu_elements(credential)
    result.elements = elements
    proof = report.step("proof")
    if proof is None or proof.outcome is not Outcome.PASSED:
        report.add(
            "eu_elements",
            Outcome.NOT_CHECKED,
            "eu_elements.not_checked",
            Message(
                N_(
                    "not checked: the signature does not verify, so what the file states is not "
                    "the issuer's"
                )
            ),
        )
        return
    missing = [label for key, label in MANDATORY_ELEMENTS.items() if key not in elements]
    if missing:
        report.add(
            "eu_elements",
            Outcome.WARNING,
            "eu.incomplete",
            Message(
                N_(
                    "%(stated)s of %(total)s EU micro-credential elements stated; missing: "
                    "%(missing)s"
                ),
                stated=len(MANDATORY_ELEMENTS) - len(missing),
                total=len(MANDATORY_ELEMENTS),
                missing=_listed(missing),
            ),
            missing=missing,
        )
    else:
        report.add(
            "eu_elements",
            Outcome.PASSED,
            "eu.complete",
            Message(N_("all eleven EU micro-credential elements are stated")),
        )


def _listed(labels: list[str]) -> Message:
    """Labels (marked with ``N_``) as one message, each translated, separated by commas: the
    glue template is no sentence, so it is made here, never extracted (it stays itself)."""
    glue = ", ".join(f"%(l{i})s" for i in range(len(labels)))
    return Message(glue, **{f"l{i}": Message(label) for i, label in enumerate(labels)})


def load_configured_registries(app: App) -> None:
    """Read the external registries named in the settings (files, or URLs via the fetcher)."""
    from microcred.services.trust import load_registry

    app.registries = [load_registry(source, app.fetcher) for source in app.settings.registries]


def platform_policy(app: App, reads: Reads | None = None) -> Policy:
    """The public verifier's policy: did:web and status lists through the safe fetcher (the
    platform's own documents read directly, other hosts' shared between processes), its own
    registry plus the configured external ones. ``reads`` collects what the verification read
    that can change (for keeping its result, ADR 0022)."""
    return policy_for(SelfFetcher(app, reads), app, app.registries, app.now, reads)


def verify_bytes_for_platform(app: App, data: bytes) -> VerifyResult:
    """:func:`verify_bytes` with the platform's policy and its kept results."""
    try:
        text, source_format = read_file(data)
    except DocumentError as exc:
        return failed(exc, sniff(data))
    return verify_for_platform(app, text, source_format)


def verify_stored(app: App, texts: list[str]) -> list[VerifyResult]:
    """Verify documents the platform stored after reading them (a wallet's items): the kept
    results in one batch, the others verified now (and kept)."""
    documents: list[Any] = []
    for text in texts:
        try:
            documents.append(json.loads(text))
        except ValueError:
            documents.append(None)
    keys = [verdicts.key(app, d, "json") if isinstance(d, Mapping) else "" for d in documents]
    kept = verdicts.lookup_many(app, [k for k in keys if k])
    results = []
    for text, document, result_key in zip(texts, documents, keys, strict=True):
        verdict, kept_text = kept.get(result_key, ("", None))
        if kept_text is not None:
            metrics.CREDENTIALS_VERIFIED.labels(verdict).inc()
            results.append(VerifyResult.from_json(json.loads(kept_text), document))
        else:
            results.append(verify_for_platform(app, text))
    return results


def verdicts_of(app: App, texts: list[str], digests: list[str | None]) -> list[str]:
    """Each stored document's verdict now (a wallet's counts): read from the kept results by
    digest without parsing anything; a document without one is verified now (and kept)."""
    keys = [verdicts.key_of(app, d, "json") if d else "" for d in digests]
    kept = verdicts.lookup_many(app, [k for k in keys if k], whole=False)
    found: list[str] = []
    for text, result_key in zip(texts, keys, strict=True):
        verdict = kept[result_key][0] if result_key in kept else None
        found.append(verdict or verify_for_platform(app, text).report.verdict.value)
    return found


# Request bodies this process has read: the SHA-256 of the bytes -> the digest of the credential
# they hold. A pure function of the bytes (parsing and unwrapping), remembered so that a body sent
# again is answered from its kept result without parsing it again; bounded, emptied when full.
_BODY_DIGESTS: dict[bytes, str] = {}
_BODY_DIGESTS_MAX = 50_000


def kept_answer(app: App, document: Mapping[str, Any], body: bytes | None = None) -> str | None:
    """The kept result for ``document`` as JSON text, as :meth:`VerifyResult.to_json` wrote it,
    while nothing it read has changed; None: verify it (:func:`verify_for_platform`).
    ``body``: the request body ``document`` was read from (always the same document for the same
    bytes), for :func:`kept_answer_for_body`."""
    content = verdicts.digest(document)
    usage.remember_content(app, content, document)  # ours or not: for the counts
    if body is not None:
        if len(_BODY_DIGESTS) >= _BODY_DIGESTS_MAX:
            _BODY_DIGESTS.clear()
        _BODY_DIGESTS[hashlib.sha256(body).digest()] = content
    return _kept_text(app, content)


def kept_answer_for_body(app: App, body: bytes) -> str | None:
    """:func:`kept_answer` for a request body this process has read before (and passed to it),
    without parsing it; None when it has not or nothing is kept."""
    content = _BODY_DIGESTS.get(hashlib.sha256(body).digest())
    return None if content is None else _kept_text(app, content)


async def kept_answer_for_body_on_loop(app: App, reader: AsyncReader, body: bytes) -> str | None:
    """:func:`kept_answer_for_body` read on the event loop (PostgreSQL, ``db/aio.py``)."""
    content = _BODY_DIGESTS.get(hashlib.sha256(body).digest())
    if content is None:
        return None
    result_key = verdicts.key_of(app, content, "json")
    kept = await verdicts.lookup_one_async(app, reader, result_key)
    if kept is None:
        return None
    metrics.CREDENTIALS_VERIFIED.labels(kept[0]).inc()
    if kept[0] != "invalid":  # authentic: it counts for its provider
        usage.note_content(app, content)
    return kept[1]


def _kept_text(app: App, content: str) -> str | None:
    result_key = verdicts.key_of(app, content, "json")
    kept = verdicts.lookup_many(app, [result_key]).get(result_key)
    if kept is None:
        return None
    metrics.CREDENTIALS_VERIFIED.labels(kept[0]).inc()
    if kept[0] != "invalid":  # authentic: it counts for its provider
        usage.note_content(app, content)
    return kept[1]


def verify_for_platform(
    app: App, document: str | bytes | Mapping[str, Any], source_format: str = "json"
) -> VerifyResult:
    """The platform verifier's answer: the kept result while nothing it read has changed, else a
    fresh verification (then kept). See ``services/verdicts.py``."""
    if not isinstance(document, Mapping):
        try:
            document = parse_json(document)
        except DocumentError as exc:
            return failed(exc, source_format)
        if not isinstance(document, Mapping):
            return verify_document(document, platform_policy(app), source_format)
    result_key = verdicts.key(app, document, source_format)
    kept = verdicts.lookup(app, result_key)
    if kept is not None:
        metrics.CREDENTIALS_VERIFIED.labels(str(kept.get("verdict"))).inc()
        return VerifyResult.from_json(kept, document)
    reads = verdicts.Reads()
    policy = platform_policy(app, reads)
    result = verify_document(document, policy, source_format)
    fetched.keep(app, reads)
    if result.report.credential is not None:
        verdicts.store(app, result_key, result.to_json(), document, reads, policy.clock_skew)
    return result


class SelfFetcher(SafeFetcher):
    """The platform's own documents (did.json, status lists, credential files) read straight from
    the database; everything else through the safe fetcher. The platform then never calls itself
    over HTTP to verify what it issued (no loop through a busy or single-worker server)."""

    _PATHS = (
        (re.compile(r"^/providers/([a-z0-9-]+)/did\.json$"), "did"),
        (re.compile(r"^/providers/([a-z0-9-]+)/status/(\d+)/(revocation|suspension)$"), "status"),
        (re.compile(r"^/credentials/([0-9a-f-]{36})\.json$"), "credential"),
    )

    def __init__(self, app: App, reads: Reads | None = None) -> None:
        inner = app.fetcher
        super().__init__(
            inner.allow_http_hosts,
            timeout=inner.timeout,
            max_bytes=inner.max_bytes,
            max_redirects=inner.max_redirects,
            ttl=0,
        )
        self._app = app
        self._reads = reads or Reads()
        self._inner = SharedFetcher(app, inner, self._reads)
        parts = urlsplit(app.settings.base_url)
        self._origins = {f"{parts.scheme}://{parts.netloc}", f"https://{parts.netloc}"}
        self._read: dict[str, bytes] = {}

    def fetch(self, url: str) -> bytes:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc.lower()}" in self._origins:
            if not parts.query:
                for pattern, kind in self._PATHS:
                    match = pattern.match(parts.path)
                    if match:
                        return self._local(kind, match.groups(), url)
            # any other page of the platform's (its own /verify above all): never over HTTP,
            # or one request could make the platform call itself again and again
            from microcred.vc.fetch import FetchError

            raise FetchError(
                Message(
                    N_("%(url)s is a page of this platform, not a document it publishes"), url=url
                ),
                "fetch.self",
            )
        return self._inner.fetch(url)

    def _local(self, kind: str, groups: tuple[str | Any, ...], url: str) -> bytes:
        # one policy serves one request or page: read each document once within it
        if url not in self._read:
            self._read[url] = self._read_local(kind, groups, url)
        return self._read[url]

    def _read_local(self, kind: str, groups: tuple[str | Any, ...], url: str) -> bytes:
        from microcred.vc.fetch import FetchError

        try:
            return self._read_row(kind, groups, url)
        except FetchError:
            self._reads.unsure = True  # not there now; it may be later: nothing is kept
            raise

    def _read_row(self, kind: str, groups: tuple[str | Any, ...], url: str) -> bytes:
        from microcred.db.session import transaction
        from microcred.db.tables import Credential
        from microcred.domain.errors import DomainError
        from microcred.services import keys, status
        from microcred.services.providers import get_provider
        from microcred.vc.fetch import FetchError

        try:
            with transaction(self._app.sessions, readonly=True) as session:
                if kind == "credential":
                    found = session.get(Credential, groups[0])
                    if found is None or not found.document:
                        raise FetchError(
                            Message(N_("%(url)s answered HTTP %(status)s"), url=url, status=404),
                            "fetch.status",
                        )
                    return found.document.encode("utf-8")
                provider = get_provider(session, str(groups[0]))
                self._reads.provider(provider)  # before its documents: see services/verdicts
                if kind == "did":
                    return json.dumps(keys.did_document(self._app, session, provider)).encode()
                return status.published_list(
                    self._app, session, provider, int(groups[1]), str(groups[2])
                ).encode()
        except DomainError as exc:
            raise FetchError(
                Message(
                    N_("%(url)s answered HTTP %(status)s (%(reason)s)"),
                    url=url,
                    status=404,
                    reason=exc.message,  # in the request's language: never kept (unsure)
                ),
                "fetch.status",
            ) from exc
