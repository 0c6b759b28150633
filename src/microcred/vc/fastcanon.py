"""Fast RDFC-1.0 canonicalisation for credentials of a shape already seen.

Why (ADR 0003): full pyld spends most of its time expanding the type-scoped Open Badges contexts,
again for every credential, although an issuer signs thousands of credentials of one shape.

How: a document's *shape* is everything but its plain string values: keys, ``@context``, types,
numbers, booleans, and for each string whether it is text or an absolute IRI (and its scheme).
For a new shape, pyld runs once on a copy whose strings are unique placeholders; each placeholder
must come out whole, as one literal's value or one IRI, or its slot is made part of the shape.
The resulting RDF dataset is kept as a template. A later credential of the same shape fills its
strings into a copy of the template, drops duplicate triples (as pyld's node merging does) and
runs only the RDFC-1.0 step. The template is built with the strict checks of ``canon`` (no
undefined terms, no relative IRIs); slot values cannot change what those checks see, because a
slot is, by construction, only ever a literal value or an absolute IRI of the same scheme.

Anything outside these guards (deep nesting, a slot that does not come out whole, duplicate
quads...) falls back to the reference path, ``canon.rdfc``, which property tests hold byte for byte
equal to this one.
"""

from __future__ import annotations

import re
import secrets
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from microcred.vc import canon, direct, rdfc
from microcred.vc.errors import ContextError
from microcred.vc.loader import DocumentLoader
from microcred.vc.native import speedups

_IRI = re.compile(r"^(did|urn|https?):(//)?[^\s<>\"{}|\\^`]+$", re.ASCII)
_STRUCTURAL_KEYS = frozenset({"@context", "type", "@type"})
_MAX_DEPTH = 48
_SMALL = 12  # documents with at most this many strings have their canonical form kept
# A document with more strings than this (a record holding hundreds of credentials) is its own
# shape: a template would cost a second pass and never be used again. One pass, no template.
_LARGE = 2000


class _UnsupportedError(Exception):
    """The document is outside what templates handle: use the reference path."""


@dataclass(frozen=True, slots=True)
class _Slot:
    index: int
    iri_scheme: str | None  # "did", "urn", "https//"...: None for text


@dataclass(slots=True)
class _Template:
    # graph name -> triples (pyld dataset form) with placeholder values
    dataset: dict[str, list[dict[str, Any]]]
    # (graph, triple index, component, slot index)
    holes: list[tuple[str, int, str, int]]
    # the same quads compiled for ``rdfc.serialize`` (None: a shape only pyld canonicalises)
    compiled: rdfc.Compiled | None
    # "<predicate IRI>" -> statements using it
    predicates: dict[str, int]


class _ShapeKey:
    """One object per shape, found once per document: the caches are keyed by it, so a document
    hashes and compares its shape (hundreds of tokens) once, not at every lookup."""

    __slots__ = ("facts", "seen")

    def __init__(self) -> None:
        self.facts: dict[str, Any] = {}
        self.seen = False  # a document of this shape was canonicalised before


@dataclass(slots=True)
class Survey:
    """One walk of a document: its shape, its string values and their IRI schemes, and the key
    of its shape whose facts every document of that shape shares."""

    shape: tuple[Any, ...]
    values: list[str]
    schemes: list[str | None]
    key: _ShapeKey

    @property
    def facts(self) -> dict[str, Any]:
        return self.key.facts

    def has_control_characters(self) -> bool:
        """Whether any key or string holds a character :func:`canon.refuse_control_characters`
        refuses: keys and fixed strings are in the shape (checked once per shape), the other
        strings are the values (one search over them all)."""
        fixed = self.once(
            "control.shape",
            lambda: bool(
                canon.BAD_CONTROL.search(" ".join(t for t in self.shape if type(t) is str))
            ),
        )
        if fixed:
            return True
        if speedups is not None:
            return bool(speedups.has_control(self.values))
        return bool(canon.BAD_CONTROL.search("".join(self.values)))

    def once(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` on the first document of this shape, the kept answer after: only for
        what the shape alone decides (keys, nesting, list lengths, numbers; never strings)."""
        try:
            return self.facts[name]
        except KeyError:
            value = self.facts[name] = compute()  # two threads may both compute: equal answers
            return value


class FastCanonicalizer:
    """Callable ``(document, loader) -> N-Quads`` with a per-loader template cache."""

    def __init__(self, max_shapes: int = 512, *, direct_first: bool = True) -> None:
        """``direct_first``: a shape's first document goes straight to RDF (``vc.direct``), the
        template is built for its second; False builds it for the first (tests of templates)."""
        self._max_shapes = max_shapes
        self._direct_first = direct_first
        self._caches: weakref.WeakKeyDictionary[
            DocumentLoader, tuple[LRUCache[Any, Any], LRUCache[Any, Any]]
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        # shape -> its key; when full, the oldest shape is dropped (its templates age out of the
        # loaders' LRU caches)
        self._shapes: dict[tuple[Any, ...], _ShapeKey] = {}
        self._nonce = secrets.token_hex(6)
        # template: filled from a template (tied: blank nodes only pyld's full step tells apart);
        # built: templates made; fallback: documents canonicalised by pyld from the start;
        # large: documents too large to template, canonicalised in one pass
        self.stats = {
            "template": 0,
            "tied": 0,
            "built": 0,
            "fallback": 0,
            "large": 0,
            "direct": 0,
        }

    def survey(self, document: Mapping[str, Any]) -> Survey | None:
        """The document's walk (None: a document templates do not handle); pass it to the
        other methods to walk a document once for all of them."""
        try:
            shape, values, schemes = _describe(document)
        except _UnsupportedError:
            return None
        key = self._shapes.get(shape)
        if key is None:
            with self._lock:
                key = self._shapes.get(shape)
                if key is None:
                    if len(self._shapes) >= self._max_shapes:
                        del self._shapes[next(iter(self._shapes))]
                    key = self._shapes[shape] = _ShapeKey()
        return Survey(shape, values, schemes, key)

    def __call__(
        self,
        document: Mapping[str, Any],
        loader: DocumentLoader,
        survey: Survey | None = None,
    ) -> str:
        survey = survey or self.survey(document)
        if survey is None:
            return self._fallback(document, loader)
        key, values, schemes = survey.key, survey.values, survey.schemes
        if _spaced_iri(values, schemes):
            return self._fallback(document, loader)  # the strict checks refuse it
        if len(values) > _LARGE:
            self.stats["large"] += 1
            try:
                return direct.nquads(document, loader)
            except direct.Unsupported:
                return canon.canonize_dataset(
                    canon.dataset_of_expanded(canon.expand_strict(document, loader))
                )
        cache, small = self._cache_for(loader)
        whole = None
        if len(values) <= _SMALL:  # proof configurations: few values, repeated across documents
            whole = (key, tuple(values))
            with self._lock:
                known = small.get(whole)
            if known is not None:
                return known  # type: ignore[no-any-return]
        nquads = None
        if not key.seen and self._direct_first:  # first sight: to RDF at once (ADR 0026)
            key.seen = True
            try:
                nquads = direct.nquads(document, loader)
                self.stats["direct"] += 1
            except direct.Unsupported:
                nquads = None
        if nquads is None:
            template = self._template(document, key, values, schemes, cache, loader)
            if template is None:
                return self._fallback(document, loader)
            self.stats["template"] += 1
            nquads = rdfc.serialize(template.compiled, values) if template.compiled else None
            if nquads is None:
                # blank nodes that first-degree hashes cannot tell apart: pyld's RDFC-1.0 step
                self.stats["tied"] += 1
                nquads = canon.canonize_dataset(_fill(template, values))
        if whole is not None:
            with self._lock:
                small[whole] = nquads
        return nquads

    def predicates(
        self,
        document: Mapping[str, Any],
        loader: DocumentLoader,
        survey: Survey | None = None,
    ) -> dict[str, int]:
        """How many statements use each predicate in ``document``'s RDF, read from its shape's
        template: the strict JSON-LD checks without canonicalising (for eddsa-jcs-2022, whose
        signature is over the JSON). A shape without a template gets the full pipeline, which
        raises the error that the strict checks find."""
        survey = survey or self.survey(document)
        template = None
        if survey is not None and not _spaced_iri(survey.values, survey.schemes):
            template = self._template(
                document,
                survey.key,
                survey.values,
                survey.schemes,
                self._cache_for(loader)[0],
                loader,
            )
        if template is None:
            counts: dict[str, int] = {}
            for line in self._fallback(document, loader).splitlines():
                predicate = line.split(" ", 2)[1] if line.count(" ") >= 2 else ""
                counts[predicate] = counts.get(predicate, 0) + 1
            return counts
        return template.predicates

    def _template(
        self,
        document: Mapping[str, Any],
        shape_key: _ShapeKey,
        values: list[str],
        schemes: list[str | None],
        cache: LRUCache[Any, Any],
        loader: DocumentLoader,
    ) -> _Template | None:
        """The compiled template of ``document``'s shape, built on first sight; None when the
        shape is one only the reference path handles."""
        with self._lock:
            structural = cache.get(("structural", shape_key))
        slots: list[_Slot] = []  # made only when a new shape is compiled
        if structural is None:
            slots = [_Slot(i, scheme) for i, scheme in enumerate(schemes)]
            structural, ready = self._find_structural(document, slots, values, loader)
            with self._lock:
                cache[("structural", shape_key)] = structural
                if ready is not None:
                    cache[(shape_key, ())] = ready
                    self.stats["built"] += 1
        key = (shape_key, tuple(values[i] for i in sorted(structural)))
        with self._lock:
            template = cache.get(key)
        if template is None:
            slots = slots or [_Slot(i, scheme) for i, scheme in enumerate(schemes)]
            template = self._build(document, slots, values, structural, loader)
            with self._lock:
                cache[key] = template
            self.stats["built"] += 1
        return template if isinstance(template, _Template) else None  # False: never templated

    def _fallback(self, document: Mapping[str, Any], loader: DocumentLoader) -> str:
        self.stats["fallback"] += 1
        return canon.rdfc(document, loader)

    def _cache_for(self, loader: DocumentLoader) -> tuple[LRUCache[Any, Any], LRUCache[Any, Any]]:
        """The loader's templates, and its canonical forms of small documents."""
        with self._lock:
            caches = self._caches.get(loader)
            if caches is None:
                caches = (LRUCache(maxsize=self._max_shapes), LRUCache(maxsize=4096))
                self._caches[loader] = caches
            return caches

    def _placeholder(self, slot: _Slot) -> str:
        token = f"mcslot{self._nonce}n{slot.index}"
        if slot.iri_scheme is None:
            return token
        scheme, slashes = slot.iri_scheme.rstrip("/"), slot.iri_scheme.endswith("//")
        return f"{scheme}://{token}.invalid" if slashes else f"{scheme}:{token}"

    def _find_structural(
        self,
        document: Mapping[str, Any],
        slots: list[_Slot],
        values: list[str],
        loader: DocumentLoader,
    ) -> tuple[frozenset[int], _Template | None]:
        """Slots whose placeholder does not come out whole; their values join the shape.

        When every slot comes out whole and the strict checks pass, this pass's dataset is the
        template already (a second pass would substitute the same placeholders)."""
        placeholders = {self._placeholder(s): s for s in slots}
        probe = _substitute(document, slots, values, placeholders, structural=frozenset())
        try:
            expanded = canon.expand_strict(probe, loader, checked=False)
            try:
                canon.check_expanded(expanded)
                strict = True
            except ContextError:
                strict = False  # _build reports it, on the document's own values
            dataset = canon.dataset_of_expanded(expanded)
        except Exception:  # noqa: BLE001 - any failure: treat every slot as structural
            return frozenset(s.index for s in slots), None
        clean, dirty = _locate(dataset, placeholders, self._nonce)
        structural = frozenset(s.index for s in slots if s.index in dirty or s.index not in clean)
        if structural or not strict:
            return structural, None
        holes = [hole for holes in clean.values() for hole in holes]
        return structural, _new_template(dataset, holes, len(values))

    def _build(
        self,
        document: Mapping[str, Any],
        slots: list[_Slot],
        values: list[str],
        structural: frozenset[int],
        loader: DocumentLoader,
    ) -> _Template | bool:
        placeholders = {self._placeholder(s): s for s in slots if s.index not in structural}
        probe = _substitute(document, slots, values, placeholders, structural)
        try:
            dataset = canon.dataset_of_expanded(canon.expand_strict(probe, loader))
        except Exception:  # noqa: BLE001 - the reference path reports the real error
            return False
        clean, dirty = _locate(dataset, placeholders, self._nonce)
        wanted = {s.index for s in placeholders.values()}
        if dirty or clean.keys() != wanted:
            return False
        holes = [hole for holes in clean.values() for hole in holes]
        return _new_template(dataset, holes, len(values))


def _new_template(
    dataset: dict[str, list[dict[str, Any]]], holes: list[tuple[str, int, str, int]], slots: int
) -> _Template:
    predicates: dict[str, int] = {}
    for triples in dataset.values():
        for triple in triples:
            name = f"<{triple['predicate']['value']}>"
            predicates[name] = predicates.get(name, 0) + 1
    return _Template(dataset, holes, rdfc.compile_dataset(dataset, holes, slots), predicates)


_SPACE = re.compile(r"\s")


def _spaced_iri(values: list[str], schemes: list[str | None]) -> bool:
    """Whether a value that a template would write as an IRI holds white space (but for one
    final line break, which pyld's IRI rule lets through): RDF drops such IRIs, so the strict
    checks refuse them (``canon._check_iri``); a template would keep them."""
    iris = (v[:-1] if v[-1:] == "\n" else v for v, s in zip(values, schemes, strict=True) if s)
    return bool(_SPACE.search("\x00".join(iris)))


# Token tags: sentinels that no key or value can equal, so a shape key is unambiguous.
_DICT, _LIST, _END, _STR, _SLOT, _INT, _FLOAT, _BOOL, _NULL = (object() for _ in range(9))


def _describe(
    document: Mapping[str, Any],
) -> tuple[tuple[Any, ...], list[str], list[str | None]]:
    """The shape key, the string values in slot order, and each slot's IRI scheme (or None): in C
    when the extension is built (``_speedups.describe``), else :func:`_describe_py`."""
    if speedups is None:
        return _describe_py(document)
    return speedups.describe(document if type(document) is dict else dict(document))  # type: ignore[no-any-return]


def _describe_py(
    document: Mapping[str, Any],
) -> tuple[tuple[Any, ...], list[str], list[str | None]]:
    """The shape key, the string values in slot order, and each slot's IRI scheme (or None).

    The key is a flat tuple of tags, keys and structural values; slots appear in it with their
    class, their text goes to ``values``. Every value is tagged with its JSON type (``1``,
    ``1.0`` and ``true`` are different shapes), so equal keys mean equal shapes.
    """
    tokens: list[Any] = []
    values: list[str] = []
    schemes: list[str | None] = []
    emit = tokens.append
    keep = values.append
    classify = _IRI.match
    structural_keys = _STRUCTURAL_KEYS
    value_keys = _VALUE_KEYS

    def text(value: str) -> None:
        match = classify(value)
        scheme = (match.group(1) + (match.group(2) or "")) if match else None
        schemes.append(scheme)
        keep(value)
        emit(_SLOT)
        emit(scheme)

    def walk(value: Any, depth: int, structural: bool) -> None:
        # strings are handled in place (most values are strings): one call per container
        kind = type(value)
        if kind is dict:
            if depth >= _MAX_DEPTH:
                raise _UnsupportedError
            emit(_DICT)
            for key, child in value.items():  # in the document's order: part of the shape
                if type(key) is not str:
                    raise _UnsupportedError
                emit(key)
                fixed = (
                    structural
                    or key in structural_keys
                    or (key[:1] == "@" and key not in value_keys)  # _is_keyword, inlined
                )
                if type(child) is str:
                    if fixed or not child or child[0] == "@":
                        emit(_STR)
                        emit(child)
                    else:  # text(child), inlined: most values take this branch
                        match = classify(child)
                        scheme = (match.group(1) + (match.group(2) or "")) if match else None
                        schemes.append(scheme)
                        keep(child)
                        emit(_SLOT)
                        emit(scheme)
                else:
                    walk(child, depth + 1, fixed)
            emit(_END)
        elif kind is list:
            if depth >= _MAX_DEPTH:
                raise _UnsupportedError
            emit(_LIST)
            for item in value:
                if type(item) is str:
                    if structural or not item or item[0] == "@":
                        emit(_STR)
                        emit(item)
                    else:
                        text(item)
                else:
                    walk(item, depth + 1, structural)
            emit(_END)
        elif kind is str:
            if structural or not value or value[0] == "@":
                emit(_STR)
                emit(value)
            else:
                text(value)
        elif kind is bool:
            emit(_BOOL)
            emit(value)
        elif kind is int:
            emit(_INT)
            emit(value)
        elif kind is float:
            emit(_FLOAT)
            emit(repr(value))  # -0.0 and 0.0 are equal floats but different literals
        elif value is None:
            emit(_NULL)
        else:
            raise _UnsupportedError

    if type(document) is not dict:
        document = dict(document)
    try:
        walk(document, 0, False)
    except TypeError as exc:  # a value Python cannot compare or hash
        raise _UnsupportedError from exc
    return tuple(tokens), values, schemes


if speedups is not None:
    speedups.configure(
        (_DICT, _LIST, _END, _STR, _SLOT, _INT, _FLOAT, _BOOL, _NULL),
        _UnsupportedError,
        _STRUCTURAL_KEYS,
        _MAX_DEPTH,
    )


def _is_slot(value: Any, structural: bool) -> bool:
    """A string value that may vary between credentials of one shape (same rule everywhere)."""
    return isinstance(value, str) and not structural and bool(value) and value[0] != "@"


_VALUE_KEYS = frozenset({"@id", "@value"})


def _is_keyword(key: str) -> bool:
    return key.startswith("@") and key not in _VALUE_KEYS


def _substitute(
    document: Mapping[str, Any],
    slots: list[_Slot],
    values: list[str],
    placeholders: Mapping[str, _Slot],
    structural: frozenset[int],
) -> dict[str, Any]:
    by_index = {slot.index: text for text, slot in placeholders.items()}
    counter = iter(range(len(slots)))

    def walk(value: Any, is_structural: bool) -> Any:
        if isinstance(value, dict):
            return {
                k: walk(v, is_structural or k in _STRUCTURAL_KEYS or _is_keyword(k))
                for k, v in value.items()  # the order _describe numbers the slots in
            }
        if isinstance(value, list):
            return [walk(v, is_structural) for v in value]
        if _is_slot(value, is_structural):
            index = next(counter)
            return values[index] if index in structural else by_index.get(index, values[index])
        return value

    result: dict[str, Any] = walk(document, False)
    return result


def _locate(
    dataset: dict[str, list[dict[str, Any]]], placeholders: Mapping[str, _Slot], nonce: str
) -> tuple[dict[int, list[tuple[str, int, str, int]]], set[int]]:
    """Where each placeholder came out whole (``clean``), and slots seen any other way."""
    clean: dict[int, list[tuple[str, int, str, int]]] = {}
    dirty: set[int] = set()
    marker = re.compile(rf"mcslot{nonce}n(\d+)")
    for graph, triples in dataset.items():
        if nonce in graph:
            dirty.update(int(m) for m in marker.findall(graph))
        for position, triple in enumerate(triples):
            for component in ("subject", "predicate", "object"):
                term = triple[component]
                texts = [t for t in term.values() if isinstance(t, str) and nonce in t]
                if not texts:
                    continue
                slot = placeholders.get(term["value"])
                whole = slot is not None and texts == [term["value"]] and component != "predicate"
                kind_ok = slot is not None and (
                    term["type"] == "literal"
                    or (term["type"] == "IRI" and slot.iri_scheme is not None)
                )
                if whole and kind_ok and slot is not None:
                    clean.setdefault(slot.index, []).append(
                        (graph, position, component, slot.index)
                    )
                else:
                    for text in texts:
                        dirty.update(int(m) for m in marker.findall(text))
    return clean, dirty


def _fill(template: _Template, values: list[str]) -> dict[str, list[dict[str, Any]]]:
    dataset = {
        graph: [{c: dict(term) for c, term in triple.items()} for triple in triples]
        for graph, triples in template.dataset.items()
    }
    for graph, position, component, index in template.holes:
        dataset[graph][position][component]["value"] = values[index]
    for graph, triples in dataset.items():
        seen: set[tuple[Any, ...]] = set()
        unique = []
        for triple in triples:
            key = tuple((c, tuple(sorted(term.items()))) for c, term in sorted(triple.items()))
            if key not in seen:
                seen.add(key)
                unique.append(triple)
        dataset[graph] = unique
    return dataset


DEFAULT = FastCanonicalizer()
"""The canonicaliser microcred signs and verifies with (templates per loader, LRU of shapes)."""
