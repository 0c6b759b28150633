"""Frozen, offline JSON-LD document loader.

Contexts are vendored in ``microcred/vc/contexts`` with an ``index.json`` mapping each URL to its
file and SHA-256. Each file's hash is checked when it is first loaded, so a tampered copy is
refused. An unknown URL is an error, never a fetch: JSON-LD processing here does no network I/O.

pyld keeps a process-wide cache of resolved contexts keyed by URL only; to keep loaders isolated
(a test loader with extra contexts must not leak into the product's), each loader owns its cache
and hands pyld its own ``ContextResolver``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from c14n.Canonicalize import canonicalize  # pyld's own dependency
from cachetools import LRUCache  # pyld's own dependency
from frozendict import frozendict  # pyld's own dependency
from pyld import jsonld
from pyld.context_resolver import ContextResolver
from pyld.jsonld import JsonLdError
from pyld.resolved_context import ResolvedContext

from microcred.i18n import N_
from microcred.vc.errors import ContextError
from microcred.vc.message import Message

CONTEXT_PACKAGE = "microcred.vc.contexts"

VC_V1 = "https://www.w3.org/2018/credentials/v1"
VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0_303 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
ED25519_2020_V1 = "https://w3id.org/security/suites/ed25519-2020/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"


def _read_vendored(file_name: str) -> bytes:
    return resources.files(CONTEXT_PACKAGE).joinpath(file_name).read_bytes()


class DocumentLoader:
    """A callable pyld document loader over a fixed set of documents.

    ``documents`` maps URL -> parsed JSON. Use :func:`default_loader` for the vendored set and
    :meth:`with_documents` to add documents (for example test-only contexts) in a new loader.
    """

    def __init__(self, documents: Mapping[str, Any]) -> None:
        self._documents = dict(documents)
        self._cache: LRUCache[Any, Any] = LRUCache(maxsize=256)
        # the objects inside these documents, by id: pyld keys an embedded (type-scoped)
        # context by its JCS form, which is slow to compute; ours never change, so once is enough
        self._static: dict[int, str | None] = {}
        stack: list[Any] = list(self._documents.values())
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                self._static[id(item)] = None
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        document = self._documents.get(url)
        if document is None:
            raise JsonLdError(
                f"Context {url!r} is not one microcred knows; contexts are never fetched.",
                "jsonld.LoadDocumentError",
                {"url": url, "microcred_code": "context.unknown"},
                code="loading remote context failed",
            )
        return {"contextUrl": None, "documentUrl": url, "document": document}

    def owns(self, value: Any) -> bool:
        """Whether ``value`` is one of the objects inside this loader's documents (which never
        change and live as long as the loader)."""
        return id(value) in self._static

    def knows(self, url: str) -> bool:
        return url in self._documents

    @property
    def urls(self) -> frozenset[str]:
        return frozenset(self._documents)

    def get(self, url: str) -> Any:
        """The parsed document for ``url``; :class:`ContextError` when unknown."""
        if url not in self._documents:
            raise ContextError(
                Message(N_("unknown context URL %(url)s"), url=repr(url)), "context.unknown"
            )

        return self._documents[url]

    def context_resolver(self) -> ContextResolver:
        """A pyld context resolver bound to this loader and its own cache."""
        return _Resolver(self._cache, self)

    def context_key(self, context: Mapping[str, Any]) -> str:
        """pyld's cache key of an embedded context (its JCS form), kept for our own contexts."""
        if id(context) in self._static:
            key = self._static[id(context)]
            if key is None:
                key = canonicalize(dict(context)).decode("utf-8")
                self._static[id(context)] = key
            return key
        return str(canonicalize(dict(context)).decode("utf-8"))

    def with_documents(self, extra: Mapping[str, Any]) -> DocumentLoader:
        merged = dict(self._documents)
        merged.update(extra)
        return DocumentLoader(merged)


class _Resolver(ContextResolver):  # type: ignore[misc]
    """pyld's resolver, with the embedded contexts of the loader's documents keyed once.
    ``resolve`` is pyld 3's own, but for where the key comes from."""

    def __init__(self, shared_cache: Any, loader: DocumentLoader) -> None:
        super().__init__(shared_cache, loader)
        self._loader = loader

    def resolve(self, active_ctx: Any, context: Any, base: Any, cycles: Any = None) -> Any:
        if cycles is None:
            cycles = set()
        if isinstance(context, dict | frozendict) and "@context" in context:
            context = context["@context"]
        if not isinstance(context, list):
            context = [context]
        all_resolved: list[Any] = []
        for ctx in context:
            if isinstance(ctx, str):
                resolved = self._get(ctx)
                if not resolved:
                    resolved = self._resolve_remote_context(active_ctx, ctx, base, cycles)
                if isinstance(resolved, list):
                    all_resolved.extend(resolved)
                else:
                    all_resolved.append(resolved)
            elif ctx is None or ctx is False:
                all_resolved.append(ResolvedContext(False))
            elif not isinstance(ctx, dict | frozendict):
                raise jsonld.JsonLdError(
                    "Invalid JSON-LD syntax; @context must be an object.",
                    "jsonld.SyntaxError",
                    {"context": ctx},
                    code="invalid local context",
                )
            else:
                key = self._loader.context_key(ctx)
                resolved = self._get(key)
                if not resolved:
                    resolved = ResolvedContext(ctx)
                    self._cache_resolved_context(key, resolved, "static")
                all_resolved.append(resolved)
        return all_resolved


def load_vendored_documents(index_name: str = "index.json") -> dict[str, Any]:
    """Read every vendored context of an index, checking its SHA-256 against it."""
    index = json.loads(_read_vendored(index_name))
    documents: dict[str, Any] = {}
    for url, entry in index.items():
        raw = _read_vendored(entry["file"])
        digest = hashlib.sha256(raw).hexdigest()
        if digest != entry["sha256"]:
            raise ContextError(
                f"vendored context {entry['file']} for {url} has SHA-256 {digest}, "
                f"expected {entry['sha256']}: the file was altered",
                "context.tampered",
            )
        documents[url] = json.loads(raw)
    return documents


_DEFAULT: DocumentLoader | None = None


def default_loader() -> DocumentLoader:
    """The product's loader: vendored contexts only (hash-checked once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = DocumentLoader(load_vendored_documents())
    return _DEFAULT


_CONFORMANCE: DocumentLoader | None = None


def conformance_loader() -> DocumentLoader:
    """The product's contexts plus the W3C examples context (``conformance.json``), which the
    W3C VC test suites put in the credentials they send. Off unless an operator enables it
    (``MICROCRED_CONFORMANCE_CONTEXTS``): its vocabulary defines any term, for examples only."""
    global _CONFORMANCE
    if _CONFORMANCE is None:
        _CONFORMANCE = default_loader().with_documents(load_vendored_documents("conformance.json"))
    return _CONFORMANCE


EDC_AP = "http://data.europa.eu/snb/model/context/edc-ap"
_ELM: DocumentLoader | None = None


def elm_loader() -> DocumentLoader:
    """The product's contexts plus the European Digital Credentials application-profile context
    (``elm.json``; EUPL 1.2, see NOTICE), for ELM 3 documents (``domain.europass``). Kept apart
    from the default loader: credentials verified here never name it."""
    global _ELM
    if _ELM is None:
        _ELM = default_loader().with_documents(load_vendored_documents("elm.json"))
    return _ELM
