"""The RDF dataset of a document straight from its JSON, for a shape seen for the first time
(ADR 0026).

pyld expands a document (a new JSON tree), builds a node map from it (another), and converts that
to RDF. For the JSON-LD that credentials use, this module walks the document once and writes the
triples as it goes. It follows pyld's expansion algorithm step by step (scoped contexts, their
reverting, the type-scoped contexts), using pyld's own processed contexts, IRI expansion and
literal conversion, so the terms come out the same. The triples are written as N-Quads terms at
once. Blank nodes are labelled by their first-degree hashes (``rdfc._label``, RDFC-1.0's first
step), and those they cannot tell apart by pyld's full RDFC-1.0 implementation.

Anything outside that subset raises :class:`Unsupported`, and the caller uses the full pipeline.
This covers keywords other than ``@context``, ``@id`` and ``@type`` in a node, value objects,
containers other than ``@set``, ``@list`` and ``@graph``, ``@nest``, reverse properties,
languages and directions, and nested arrays. It also covers what the strict checks refuse: an
undefined term, a relative IRI, and an ``@base`` or nested null context (``canon``). The full
pipeline then says what is wrong. Differential tests hold the N-Quads equal to the full pipeline's
on the corpus, on random credentials and on records (``tests/unit/test_direct.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from pyld.jsonld import (
    RDF_FIRST,
    RDF_LANGSTRING,
    RDF_NIL,
    RDF_REST,
    RDF_TYPE,
    XSD_DOUBLE,
    XSD_STRING,
    JsonLdError,
    _is_absolute_iri,
)

from microcred.vc import canon, rdfc
from microcred.vc.errors import ContextError
from microcred.vc.ldprocessor import Processor
from microcred.vc.loader import DocumentLoader

_OPTIONS_RDF = {"produceGeneralizedRdf": False, "processingMode": "json-ld-1.1"}
_TYPE = f"<{RDF_TYPE}>"
_FIRST = f"<{RDF_FIRST}>"
_REST = f"<{RDF_REST}>"
_NIL = f"<{RDF_NIL}>"
_Term = str | int  # an N-Quads term, or a blank node's number
_Quad = tuple[_Term, _Term, _Term, _Term]  # the graph: "" (the default) or a blank node
_CONTAINERS = frozenset({"@set", "@list", "@graph"})
# Processed contexts never change once made (pyld's and ``ldprocessor``'s caches rely on it), so
# what is derived from them is kept by their ``_uuid``: IRIs, term facts, contexts applied.
_IRIS: dict[tuple[str, str, bool], str | None] = {}  # (context id, value, vocab) → IRI
_TERMS: dict[tuple[str, str], tuple[Any, ...]] = {}  # (context id, term) → facts
_APPLIED: dict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = {}  # → (local context, result)
_RESOURCES: dict[str, str] = {}  # an absolute IRI → its N-Quads term
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 65536


def _keep(cache: dict[Any, Any], key: Any, value: Any) -> None:
    with _CACHE_LOCK:
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key] = value


class Unsupported(Exception):  # noqa: N818 - a signal, not an error: the full pipeline follows
    """The document uses JSON-LD outside this module's subset."""


def nquads(document: Mapping[str, Any], loader: DocumentLoader) -> str:
    """RDFC-1.0 canonical N-Quads of ``document``, as :func:`canon.rdfc` gives them; raises
    :class:`Unsupported` when the document needs the full pipeline."""
    walk = _walk(document, loader)
    lines = rdfc.labelled_lines(list(walk.quads), walk.blank_nodes)
    if lines is None:  # nodes first-degree hashes cannot tell apart: the whole of RDFC-1.0
        return canon.canonize_dataset(walk.dataset())
    return "".join(sorted(set(lines)))


def _walk(document: Mapping[str, Any], loader: DocumentLoader) -> _Walk:
    """The document walked: its quads (N-Quads terms; blank nodes as numbers)."""
    contexts = document.get("@context")
    if contexts is None or "@graph" in document:
        raise Unsupported("no @context, or a top-level @graph")
    _check_local(contexts, nested=False)
    context_list = contexts if isinstance(contexts, list) else [contexts]
    options = {
        "documentLoader": loader,
        "contextResolver": loader.context_resolver(),
        "base": None,
        "processingMode": "json-ld-1.1",
    }
    walk = _Walk(options)
    try:
        active = _top_context(walk, loader, context_list)
        body = {k: v for k, v in document.items() if k != "@context"}
        walk.node(active, None, body, "")
    except (JsonLdError, RecursionError) as exc:
        raise Unsupported(str(exc)) from exc
    return walk


_TOPS: dict[tuple[Any, ...], tuple[DocumentLoader, dict[str, Any]]] = {}


def _top_context(walk: _Walk, loader: DocumentLoader, contexts: list[Any]) -> dict[str, Any]:
    """The document's contexts after the strict checks' sentinel ``@vocab`` (as
    ``canon.expand_strict``); kept per loader when they are all URLs."""
    key = (id(loader), *contexts) if all(isinstance(c, str) for c in contexts) else None
    found = _TOPS.get(key) if key is not None else None
    if found is not None and found[0] is loader:
        return found[1]
    initial = walk.processor._get_initial_context(walk.options)
    active: dict[str, Any] = walk.processor._process_context(
        initial, [{"@vocab": canon.UNDEFINED_VOCAB}, *contexts], walk.options
    )
    if key is not None:
        _keep(_TOPS, key, (loader, active))
    return active


def _check_local(context: Any, *, nested: bool) -> None:
    """What the strict checks (``canon.check_context``) and pyld refuse in a context: a context
    that only wraps another (pyld's keyword redefinition)."""
    try:
        canon.check_context(context, top=not nested)
    except ContextError as exc:
        raise Unsupported(exc.message) from exc
    listed = context if isinstance(context, list) else [context]
    if any(isinstance(c, dict) and set(c) == {"@context"} for c in listed):
        raise Unsupported("a context redefining @context")


class _Walk:
    def __init__(self, options: dict[str, Any]) -> None:
        self.processor = Processor()
        self.options = options
        self.blank_nodes = 0
        self.labels: dict[str, int] = {}  # the document's blank node ids → ours
        self.quads: dict[_Quad, None] = {}  # in order; the node map keeps each value once
        self.literals: dict[str, dict[str, Any]] = {}  # N-Quads literal → pyld's form of it

    def blank(self) -> int:
        self.blank_nodes += 1
        return self.blank_nodes - 1

    # -- terms ---------------------------------------------------------------------------

    def iri(self, ctx: dict[str, Any], value: str, *, vocab: bool) -> str | None:
        key = ctx.get("_uuid")
        if key is None:
            return self._expand(ctx, value, vocab)  # type: ignore[no-any-return]
        cache_key = (key, value, vocab)
        found = _IRIS.get(cache_key, _IRIS)
        if found is _IRIS:
            found = self._expand(ctx, value, vocab)
            _keep(_IRIS, cache_key, found)
        return found  # type: ignore[return-value]

    def apply(
        self,
        ctx: dict[str, Any],
        local: Any,
        *,
        override_protected: bool = False,
        propagate: bool = True,
    ) -> dict[str, Any]:
        """pyld's ``_process_context`` for a scoped context, kept per (context, local context,
        flags) when the local context is a URL or one of the loader's own objects (which never
        change and live as long as the loader); a document's own are processed each time."""
        loader = self.options["documentLoader"]
        kept = isinstance(local, str) or loader.owns(local)
        key = (ctx.get("_uuid"), id(local), override_protected, propagate)
        if kept and key[0] is not None:
            found = _APPLIED.get(key)
            if found is not None and found[0] is local:
                return found[1]
        result: dict[str, Any] = self.processor._process_context(
            ctx, local, self.options, override_protected=override_protected, propagate=propagate
        )
        if kept and key[0] is not None:
            _keep(_APPLIED, key, (local, result))
        return result

    def term(self, ctx: dict[str, Any], key: str) -> tuple[Any, ...]:
        """What the expansion reads of a term: (scoped context, container, type, language or
        direction set, reverse), kept per context."""
        uuid = ctx.get("_uuid")
        found = _TERMS.get((uuid, key)) if uuid is not None else None
        if found is None:
            get = self.processor.get_context_value
            mapping = ctx["mappings"].get(key)
            container = get(ctx, key, "@container") or []
            found = (
                get(ctx, key, "@context"),
                frozenset(container if isinstance(container, list) else [container]),
                get(ctx, key, "@type"),
                get(ctx, key, "@language") is not None or get(ctx, key, "@direction") is not None,
                bool(mapping and mapping.get("reverse")),
            )
            if uuid is not None:
                _keep(_TERMS, (uuid, key), found)
        return found

    def _expand(self, ctx: dict[str, Any], value: str, vocab: bool) -> Any:
        if vocab:
            return self.processor._expand_iri(ctx, value, vocab=True, base=None)
        return self.processor._expand_iri(ctx, value, base=None)

    def resource(self, value: Any, what: str) -> _Term:
        """An expanded @id or @type as an RDF term; a relative or undefined one is refused."""
        if not isinstance(value, str):
            raise Unsupported(f"{what} is not a string")
        if value.startswith("_:"):
            label = self.labels.get(value)
            if label is None:
                label = self.labels[value] = self.blank()
            return label
        found = _RESOURCES.get(value)
        if found is None:
            if (
                value.startswith(canon.UNDEFINED_VOCAB)
                or not canon._ABSOLUTE_IRI.match(value)
                or not _is_absolute_iri(value)  # pyld drops triples with other IRIs
            ):
                raise Unsupported(f"{what} {value!r} is undefined, relative or not one IRI")
            found = f"<{value}>"
            _keep(_RESOURCES, value, found)
        return found

    def emit(self, graph: _Term, subject: _Term, predicate: _Term, obj: _Term) -> None:
        self.quads[(subject, predicate, obj, graph)] = None

    def literal(self, expanded: dict[str, Any]) -> str:
        """A value object as an N-Quads literal: pyld's conversion, then its writing."""
        value, datatype = expanded["@value"], expanded.get("@type")
        if type(value) is str and datatype not in (XSD_DOUBLE, "@json"):
            # what pyld's _object_to_rdf does with a string (numbers and JSON: pyld's own)
            datatype = datatype or XSD_STRING
            term = {"type": "literal", "value": value, "datatype": datatype}
        else:
            term = self.processor._object_to_rdf(expanded, None, [], _OPTIONS_RDF)
            datatype = term.get("datatype")
        if datatype == RDF_LANGSTRING:
            raise Unsupported("a language")
        if datatype != XSD_STRING:
            self.resource(datatype, "a datatype")  # undefined or relative: declined
        text = f'"{rdfc.escape(term["value"])}"{rdfc._literal_suffix(term)}'
        self.literals[text] = term
        return text

    def dataset(self) -> dict[str, list[dict[str, Any]]]:
        """The quads in pyld's dataset form (for pyld's RDFC-1.0)."""

        def term(part: _Term) -> dict[str, Any]:
            if type(part) is int:
                return {"type": "blank node", "value": f"_:b{part}"}
            if part.startswith("<"):  # type: ignore[union-attr]
                return {"type": "IRI", "value": part[1:-1]}  # type: ignore[index]
            return self.literals[part]  # type: ignore[index]

        out: dict[str, list[dict[str, Any]]] = {"@default": []}
        for s, p, o, g in self.quads:
            graph = "@default" if g == "" else f"_:b{g}"
            out.setdefault(graph, []).append(
                {"subject": term(s), "predicate": term(p), "object": term(o)}
            )
        return out

    # -- the expansion algorithm, node by node -------------------------------------------

    def node(
        self,
        ctx: dict[str, Any],
        active_property: str | None,
        element: Mapping[str, Any],
        graph: _Term,
    ) -> _Term:
        """Write a node object's triples into ``graph``; return its subject term. ``ctx`` is
        the context of the property holding it (pyld's ``_expand`` on a map)."""
        property_scoped = self.term(ctx, active_property)[0] if active_property else None
        type_scoped = ctx if ctx.get("previousContext") else None
        revert = True
        if type_scoped and len(element) <= 2 and "@context" not in element:
            for key in sorted(element):
                expanded = self.iri(type_scoped, key, vocab=True)
                if expanded == "@value":
                    raise Unsupported("a value object")
                if expanded == "@id" and len(element) == 1:
                    revert = False
                    break
        if revert:
            ctx = ctx.get("previousContext", ctx)
        if property_scoped is not None:
            ctx = self.apply(ctx, property_scoped, override_protected=True)
        if "@context" in element:
            local = element["@context"]
            _check_local(local, nested=True)
            ctx = self.processor._process_context(ctx, local, self.options)  # the document's own
        type_ctx = ctx
        types: list[str] = []
        type_keys: set[str] = set()
        for key in sorted(element):
            if self.iri(ctx, key, vocab=True) != "@type":
                continue
            type_keys.add(key)
            value = element[key]
            listed = value if isinstance(value, list) else [value]
            if not all(isinstance(t, str) for t in listed):
                raise Unsupported("a @type that is not a string")
            types += listed
            for type_ in sorted(listed):
                scoped = self.term(type_ctx, type_)[0]
                if scoped is not None and scoped is not False:
                    ctx = self.apply(ctx, scoped, propagate=False)
        subject: _Term | None = None
        properties: list[tuple[str, str, Any]] = []
        for key, value in element.items():
            if key == "@context":
                continue
            expanded = self.iri(ctx, key, vocab=True)
            if (expanded == "@type") != (key in type_keys):
                raise Unsupported(f"{key!r} changes meaning under a type-scoped context")
            if expanded == "@type":
                continue
            if expanded == "@id":
                if not isinstance(value, str) or subject is not None:
                    raise Unsupported("an @id that is not one string")
                subject = self.resource(self.iri(ctx, value, vocab=False), "@id")
                continue
            if not isinstance(expanded, str) or expanded.startswith("@"):
                raise Unsupported(f"{key!r} is a keyword or is dropped")
            properties.append((key, expanded, value))
        if subject is None:
            subject = self.blank()
        for type_ in types:
            term = self.resource(self.iri(type_ctx, type_, vocab=True), "@type")
            self.emit(graph, subject, _TYPE, term)
        for key, expanded, value in properties:
            predicate = self.resource(expanded, "property")
            if type(predicate) is int:
                raise Unsupported("a blank node as a property")
            for obj in self.values(ctx, key, value, graph):
                self.emit(graph, subject, predicate, obj)
        return subject

    def values(self, ctx: dict[str, Any], key: str, value: Any, graph: _Term) -> list[_Term]:
        """The RDF terms of one property's value(s) (pyld's ``_expand_object`` on one key)."""
        scoped, container, kind, _tagged, reverse = self.term(ctx, key)
        term_ctx = ctx
        if scoped is not None:
            term_ctx = self.apply(ctx, scoped, override_protected=True)
        if reverse or self.term(term_ctx, key)[4]:
            raise Unsupported("a reverse property")
        if not container <= _CONTAINERS or ("@list" in container and len(container) > 1):
            raise Unsupported(f"container {sorted(container)}")
        if kind == "@json":  # the strict checks refuse JSON literals (canon.check_expanded)
            raise Unsupported("a JSON literal")
        items = value if isinstance(value, list) else [value]
        if "@list" in container:
            terms = [
                t for t in (self.item(term_ctx, key, v, graph) for v in items) if t is not None
            ]
            return [self.rdf_list(terms, graph)]
        out: list[_Term] = []
        for item in items:
            if "@graph" in container:
                if type(item) is not dict and not isinstance(item, Mapping):
                    raise Unsupported("a @graph container holding no node")
                name = self.blank()
                self.node(term_ctx, key, item, name)
                out.append(name)
                continue
            term = self.item(term_ctx, key, item, graph)
            if term is not None:
                out.append(term)
        return out

    def rdf_list(self, terms: list[_Term], graph: _Term) -> _Term:
        """An RDF collection of ``terms`` (as pyld's ``_list_to_rdf`` writes it)."""
        if not terms:  # rdf:nil, which pyld's node map may hold twice
            raise Unsupported("an empty list")
        head: _Term = self.blank()
        subject = head
        for n, term in enumerate(terms):
            self.emit(graph, subject, _FIRST, term)
            rest: _Term = _NIL if n == len(terms) - 1 else self.blank()
            self.emit(graph, subject, _REST, rest)
            subject = rest
        return head

    def item(self, ctx: dict[str, Any], key: str, item: Any, graph: _Term) -> _Term | None:
        """One value as an RDF term (pyld's ``_expand`` on it, then ``_object_to_rdf``)."""
        if item is None:
            return None
        if isinstance(item, list):
            raise Unsupported("a nested array")
        if type(item) is dict or isinstance(item, Mapping):
            return self.node(ctx, key, item, graph)
        _scoped, _container, kind, tagged, _reverse = self.term(ctx, key)
        if isinstance(item, str) and kind in ("@id", "@vocab"):
            return self.resource(self.iri(ctx, item, vocab=kind == "@vocab"), "an IRI value")
        if not isinstance(item, (str, bool, int, float)):
            raise Unsupported("a value that is not JSON")
        expanded: dict[str, Any] = {}
        if kind is not None and kind not in ("@id", "@vocab", "@none"):
            expanded["@type"] = kind
        elif isinstance(item, str) and tagged:
            raise Unsupported("a language or direction")
        expanded["@value"] = item
        return self.literal(expanded)
