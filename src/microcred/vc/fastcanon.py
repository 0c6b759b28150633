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

import json
import re
import secrets
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from microcred.vc import canon
from microcred.vc.loader import DocumentLoader

_IRI = re.compile(r"^(did|urn|https?):(//)?[^\s<>\"{}|\\^`]+$", re.ASCII)
_STRUCTURAL_KEYS = frozenset({"@context", "type", "@type"})
_MAX_DEPTH = 48


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


class FastCanonicalizer:
    """Callable ``(document, loader) -> N-Quads`` with a per-loader template cache."""

    def __init__(self, max_shapes: int = 512) -> None:
        self._max_shapes = max_shapes
        self._caches: weakref.WeakKeyDictionary[DocumentLoader, LRUCache[Any, Any]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self._nonce = secrets.token_hex(6)
        self.stats = {"template": 0, "built": 0, "fallback": 0}

    def __call__(self, document: Mapping[str, Any], loader: DocumentLoader) -> str:
        try:
            shape, values, slots = _describe(document)
        except _UnsupportedError:
            return self._fallback(document, loader)
        cache = self._cache_for(loader)
        with self._lock:
            structural = cache.get(("structural", shape))
        if structural is None:
            structural = self._find_structural(document, slots, values, loader)
            with self._lock:
                cache[("structural", shape)] = structural
        key = (shape, tuple(values[i] for i in sorted(structural)))
        with self._lock:
            template = cache.get(key)
        if template is None:
            template = self._build(document, slots, values, structural, loader)
            with self._lock:
                cache[key] = template
            self.stats["built"] += 1
        if not isinstance(template, _Template):  # False: this shape always falls back
            return self._fallback(document, loader)
        dataset = _fill(template, values)
        self.stats["template"] += 1
        return canon.canonize_dataset(dataset)

    def _fallback(self, document: Mapping[str, Any], loader: DocumentLoader) -> str:
        self.stats["fallback"] += 1
        return canon.rdfc(document, loader)

    def _cache_for(self, loader: DocumentLoader) -> LRUCache[Any, Any]:
        with self._lock:
            cache = self._caches.get(loader)
            if cache is None:
                cache = LRUCache(maxsize=self._max_shapes)
                self._caches[loader] = cache
            return cache

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
    ) -> frozenset[int]:
        """Slots whose placeholder does not come out whole; their values join the shape."""
        placeholders = {self._placeholder(s): s for s in slots}
        probe = _substitute(document, slots, values, placeholders, structural=frozenset())
        try:
            dataset = canon.to_dataset(canon.expand_strict(probe, loader, checked=False), loader)
        except Exception:  # noqa: BLE001 - any failure: treat every slot as structural
            return frozenset(s.index for s in slots)
        clean, dirty = _locate(dataset, placeholders, self._nonce)
        return frozenset(s.index for s in slots if s.index in dirty or s.index not in clean)

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
            dataset = canon.to_dataset(canon.expand_strict(probe, loader), loader)
        except Exception:  # noqa: BLE001 - the reference path reports the real error
            return False
        clean, dirty = _locate(dataset, placeholders, self._nonce)
        wanted = {s.index for s in placeholders.values()}
        if dirty or clean.keys() != wanted:
            return False
        holes = [hole for holes in clean.values() for hole in holes]
        return _Template(dataset, holes)


def _describe(document: Mapping[str, Any]) -> tuple[str, list[str], list[_Slot]]:
    """The shape key, the string values in slot order, and the slots."""
    values: list[str] = []
    slots: list[_Slot] = []

    def walk(value: Any, depth: int, structural: bool) -> Any:
        if depth > _MAX_DEPTH:
            raise _UnsupportedError
        if isinstance(value, dict):
            return {
                k: walk(v, depth + 1, structural or k in _STRUCTURAL_KEYS or _is_keyword(k))
                for k, v in sorted(value.items())
            }
        if isinstance(value, list):
            return [walk(v, depth + 1, structural) for v in value]
        if _is_slot(value, structural):
            match = _IRI.match(value)
            scheme = (match.group(1) + (match.group(2) or "")) if match else None
            slot = _Slot(len(slots), scheme)
            slots.append(slot)
            values.append(value)
            return {"\u0000slot": scheme or ""}
        return value

    skeleton = walk(document, 0, False)
    return json.dumps(skeleton, sort_keys=True, ensure_ascii=False), values, slots


def _is_slot(value: Any, structural: bool) -> bool:
    """A string value that may vary between credentials of one shape (same rule everywhere)."""
    return isinstance(value, str) and not structural and bool(value) and value[0] != "@"


def _is_keyword(key: str) -> bool:
    return key.startswith("@") and key not in ("@id", "@value")


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
                for k, v in sorted(value.items())
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
