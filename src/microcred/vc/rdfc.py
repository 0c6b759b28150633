"""RDFC-1.0 for a compiled quad template: canonical N-Quads without building an RDF dataset.

Spec: RDF Dataset Canonicalization, https://www.w3.org/TR/rdf-canon/ (sections 4.4 and 4.6).

Why (ADR 0021): in a credential of a known shape only the strings change. Its quads are compiled
once into text with holes; each credential fills the holes, removes duplicate quads, labels its
blank nodes and sorts. Labelling follows the spec's first pass (4.4.3 step 5): each blank node's
first-degree hash (4.6) is the SHA-256 of its quads, serialised with ``_:a`` for itself and
``_:z`` for any other, sorted and joined, and nodes with a unique hash are labelled ``c14n0``,
``c14n1``... in hash order. When two blank nodes share a hash (the N-degree step would be
needed), or one quad names a blank node twice, :func:`serialize` returns None and the caller runs
pyld's full algorithm. Serialisation and escaping are pyld's, so both paths agree byte for byte;
``tests/unit/test_rdfc.py`` and the fast-canonicalisation tests hold them equal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from operator import itemgetter
from typing import Any

from microcred.vc.native import speedups

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

# A compiled component: ``str`` (fixed text), ``int`` n >= 0 (blank node n) or a hole:
# ``(slot, prefix, suffix, literal)``, whose text is prefix + value (escaped if literal) + suffix.
Hole = tuple[int, str, str, bool]
Component = str | int | Hole


# One line as ``text % pick(args)``: args are the slot texts, then the blank nodes' labels; the
# flag says whether ``pick`` (an itemgetter) returns a tuple (two or more arguments).
_Format = tuple[str, Callable[[list[str]], Any], bool]
# The same line for ``_speedups.render``: fixed text at even positions, argument indexes at odd
_Spec = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Compiled:
    # quads as (subject, predicate, object, graph); the graph is "" for the default graph
    quads: tuple[tuple[Component, Component, Component, Component], ...]
    blank_nodes: int
    # quads that hold no hole and no blank node: their lines never change
    fixed_lines: tuple[str, ...]
    slot_count: int
    literal_slots: tuple[int, ...]
    # each quad's canonical line, with its blank nodes' labels as arguments: first the quads that
    # name a blank node, then the others
    lines: tuple[_Format, ...]
    with_blank_nodes: int
    # per blank node, its quads' lines for the first-degree hash (_:a itself, _:z any other):
    # those without a hole, and those with
    first_degree: tuple[tuple[tuple[str, ...], tuple[_Format, ...]], ...]
    # the same two as specs for the C extension's render (fixed text and argument indexes)
    line_specs: tuple[_Spec, ...]
    node_specs: tuple[tuple[tuple[str, ...], tuple[_Spec, ...]], ...]
    # the C serialiser's last texts and first-degree hash of each blank node
    digests: dict[int, tuple[tuple[str, ...], str]] = field(default_factory=dict, compare=False)


def escape(value: str) -> str:
    """N-Quads string escaping exactly as pyld writes it (``pyld.nquads.escape``)."""
    return (
        value.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace('"', '\\"')
    )


def compile_dataset(
    dataset: dict[str, list[dict[str, Any]]],
    holes: list[tuple[str, int, str, int]],
    slot_count: int,
) -> Compiled | None:
    """Compile pyld's dataset form with slot holes; None if it holds something unexpected."""
    where = {(graph, position, component): slot for graph, position, component, slot in holes}
    labels: dict[str, int] = {}

    def blank(label: str) -> int:
        return labels.setdefault(label, len(labels))

    quads: list[tuple[Component, Component, Component, Component]] = []
    fixed: list[str] = []
    for graph, triples in dataset.items():
        if graph == "@default":
            graph_part: Component = ""
        elif graph.startswith("_:"):
            graph_part = blank(graph)
        else:
            graph_part = f" <{graph}>"
        for position, triple in enumerate(triples):
            parts: list[Component] = []
            for component in ("subject", "predicate", "object"):
                term = triple[component]
                slot = where.get((graph, position, component))
                kind = term.get("type")
                if kind == "blank node":
                    if slot is not None or component == "predicate":
                        return None
                    parts.append(blank(term["value"]))
                elif kind == "IRI":
                    parts.append(
                        (slot, "<", ">", False) if slot is not None else f"<{term['value']}>"
                    )
                elif kind == "literal":
                    suffix = _literal_suffix(term)
                    if slot is not None:
                        parts.append((slot, '"', '"' + suffix, True))
                    else:
                        parts.append('"' + escape(term["value"]) + '"' + suffix)
                else:
                    return None
            quad = (parts[0], parts[1], parts[2], graph_part)
            if all(type(p) is str for p in quad):
                fixed.append(_line(quad))  # type: ignore[arg-type]
            else:
                quads.append(quad)
    literal = {p[0] for q in quads for p in q if type(p) is tuple and p[3]}
    iri = {p[0] for q in quads for p in q if type(p) is tuple and not p[3]}
    if literal & iri:
        return None  # one text both ways: the generic path handles it
    # per blank node: its lines without a hole, and those with (as specs and as %-formats)
    fixed_of: list[list[str]] = [[] for _ in labels]
    specs_of: list[list[_Spec]] = [[] for _ in labels]
    for quad in quads:
        nodes = {p for p in quad if type(p) is int}
        if len(nodes) != sum(type(p) is int for p in quad):
            return None  # a blank node twice in one quad
        for node in nodes:
            spec = _spec_of(quad, slot_count, lambda n, node=node: "_:a" if n == node else "_:z")
            if len(spec) > 1:
                specs_of[node].append(spec)
            else:
                fixed_of[node].append(str(spec[0]))
    quads.sort(key=lambda q: not any(type(p) is int for p in q))
    line_specs = tuple(_spec_of(q, slot_count, None) for q in quads)
    return Compiled(
        tuple(quads),
        len(labels),
        tuple(fixed),
        slot_count,
        tuple(sorted(literal)),
        tuple(_format_of(spec) for spec in line_specs),
        sum(any(type(p) is int for p in q) for q in quads),
        tuple(
            (tuple(fixed_of[node]), tuple(_format_of(spec) for spec in specs))
            for node, specs in enumerate(specs_of)
        ),
        line_specs,
        tuple((tuple(fixed_of[node]), tuple(specs)) for node, specs in enumerate(specs_of)),
    )


def _spec_of(quad: tuple[Component, ...], slot_count: int, label: Any) -> _Spec:
    """The quad's line as a spec: fixed text, then argument index and text in turn; blank nodes
    are arguments (``label`` None), or fixed as ``label(n)``."""
    spec: list[str | int] = []
    text: list[str] = []
    for position, part in enumerate(quad):
        if 0 < position < 3:
            text.append(" ")
        if isinstance(part, str):
            text.append(part)
        elif isinstance(part, int):
            if position == 3:
                text.append(" ")
            if label is None:
                spec += ["".join(text), slot_count + part]
                text = []
            else:
                text.append(label(part))
        else:
            slot, prefix, suffix, _literal = part
            text.append(prefix)
            spec += ["".join(text), slot]
            text = [suffix]
    text.append(" .\n")
    spec.append("".join(text))
    return tuple(spec)


def _format_of(spec: _Spec) -> _Format:
    """A spec as a %-format line (its texts joined by ``%s``), for the Python serialiser.

    A line without arguments comes back as ``(text, None, False)`` with its text final."""
    if len(spec) == 1:
        return (str(spec[0]), None, False)  # type: ignore[return-value]
    text = "%s".join(str(part).replace("%", "%%") for part in spec[::2])
    indices = [int(index) for index in spec[1::2]]
    return (text, itemgetter(*indices), len(indices) > 1)


def _literal_suffix(term: dict[str, Any]) -> str:
    datatype = term.get("datatype")
    if datatype == _RDF_LANGSTRING:
        language = term.get("language")
        return "@" + language if language else ""
    if datatype != _XSD_STRING:
        return f"^^<{datatype}>"
    return ""


def _line(quad: tuple[str, str, str, str]) -> str:
    graph = quad[3]
    if graph[:1] == "_":  # a blank node naming the graph
        graph = " " + graph
    return f"{quad[0]} {quad[1]} {quad[2]}{graph} .\n"


_NEEDS_ESCAPE = re.compile(r'[\\\t\n\r"]')


def serialize(compiled: Compiled, values: list[str]) -> str | None:
    """Canonical N-Quads of the template filled with ``values``; None: use the full algorithm."""
    if speedups is None:
        return _serialize_py(compiled, values)
    nquads: str | None = speedups.serialize(
        compiled.node_specs,
        compiled.line_specs,
        compiled.fixed_lines,
        compiled.with_blank_nodes,
        compiled.literal_slots,
        values,
        compiled.digests,
    )
    return nquads if nquads is not None else _generic(compiled, values)


def _serialize_py(compiled: Compiled, values: list[str]) -> str | None:
    """:func:`serialize` in Python (the twin of ``_speedups.serialize``)."""
    texts = values
    if _NEEDS_ESCAPE.search("\x00".join(values)):
        texts = list(values)
        for slot in compiled.literal_slots:  # IRIs are written as they are, as pyld does
            texts[slot] = escape(texts[slot])
    labels: list[str] = []
    if compiled.blank_nodes:
        digests = _first_degree_py(compiled, texts)
        hashes = {digest: node for node, digest in enumerate(digests)}
        if len(hashes) != len(digests):
            return _generic(compiled, values)
        labels = [""] * compiled.blank_nodes
        for issued, digest in enumerate(sorted(hashes)):
            labels[hashes[digest]] = f"_:c14n{issued}"
    args = texts + labels if labels else texts
    out = [
        text % pick(args) if many else text % (pick(args),) for text, pick, many in compiled.lines
    ]
    named = compiled.with_blank_nodes
    if named and len(set(out[:named])) != named:
        # quads naming a blank node filled in equal: merge them before hashing (labels are
        # one-to-one, so equal lines here mean equal quads)
        return _generic(compiled, values)
    out.extend(compiled.fixed_lines)
    return "".join(sorted(set(out)))  # other equal quads simply merge: the dataset is a set


def _first_degree_py(compiled: Compiled, texts: list[str]) -> list[str]:
    """Each blank node's first-degree hash (hex), as ``_speedups.serialize`` computes it."""
    digests = []
    for fixed, formats in compiled.first_degree:
        lines = [
            text % pick(texts) if many else text % (pick(texts),) for text, pick, many in formats
        ]
        lines.extend(fixed)
        lines.sort()
        digests.append(sha256("".join(lines).encode("utf-8")).hexdigest())
    return digests


def _generic(compiled: Compiled, values: list[str]) -> str | None:
    """The same, with duplicate quads merged before blank nodes are hashed."""
    filled: dict[tuple[str | int, ...], None] = {}
    for quad in compiled.quads:
        row: list[str | int] = []
        for part in quad:
            if isinstance(part, tuple):
                slot, prefix, suffix, literal = part
                value = values[slot]
                row.append(prefix + (escape(value) if literal else value) + suffix)
            else:
                row.append(part)
        filled[tuple(row)] = None  # a set in insertion order: duplicate quads merge, as in RDF
    lines = labelled_lines(list(filled), compiled.blank_nodes)
    if lines is None:
        return None
    lines.extend(compiled.fixed_lines)
    # a filled quad may equal a fixed one (holes holding the same text): the dataset is a set
    return "".join(sorted(set(lines)))


def labelled_lines(quads: Sequence[tuple[str | int, ...]], count: int) -> list[str] | None:
    """The N-Quads lines of ``quads`` (terms as text, ``count`` blank nodes as numbers) with
    their canonical labels; None when first-degree hashes cannot tell the nodes apart."""
    labels = _label(quads, count) if count else []
    if labels is None:
        return None
    return [
        _line(tuple(labels[x] if type(x) is int else x for x in quad))  # type: ignore[arg-type]
        for quad in quads
    ]


def _first_degree(quad: tuple[str | int, ...], node: int) -> tuple[str, str, str, str]:
    s, p, o, g = (x if isinstance(x, str) else ("_:a" if x == node else "_:z") for x in quad)
    return (s, p, o, g)


def _label(quads: Sequence[tuple[str | int, ...]], count: int) -> list[str] | None:
    """Canonical labels (``_:c14nN``) by first-degree hash, or None when hashes collide."""
    mentions: list[list[tuple[str | int, ...]]] = [[] for _ in range(count)]
    for quad in quads:
        nodes = [p for p in quad if type(p) is int]
        if not nodes:
            continue
        if len(nodes) != len(set(nodes)):
            return None  # a blank node twice in one quad: leave it to the full algorithm
        for node in nodes:
            mentions[node].append(quad)
    hashes: dict[str, int] = {}
    for node, quads_of in enumerate(mentions):
        if not quads_of:
            continue  # merged away with a duplicate quad
        lines = sorted(_line(_first_degree(quad, node)) for quad in quads_of)
        digest = sha256("".join(lines).encode("utf-8")).hexdigest()
        if digest in hashes:
            return None
        hashes[digest] = node
    labels = [""] * count
    for issued, digest in enumerate(sorted(hashes)):
        labels[hashes[digest]] = f"_:c14n{issued}"
    return labels
