"""Canonical forms for Data Integrity proofs.

Specs:
- RDF Dataset Canonicalization (RDFC-1.0), https://www.w3.org/TR/rdf-canon/ (pyld's URDNA2015,
  which RDFC-1.0 standardised without change in output)
- JSON Canonicalization Scheme (JCS), RFC 8785, https://www.rfc-editor.org/rfc/rfc8785

JSON-LD is processed *strictly*, as the Digital Bazaar stack does with ``safe: true``: a term or
type that no context defines, or a relative IRI, is an error rather than being silently dropped
(a dropped term would be unsigned data riding along with a valid signature). pyld has no safe
mode, so expansion runs with a sentinel ``@vocab`` placed *before* the document's contexts: a
context that defines its own ``@vocab`` still wins, and anything that would otherwise be dropped
expands under the sentinel, where it is found and reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import rfc8785
from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.identifier_issuer import IdentifierIssuer
from pyld.jsonld import JsonLdError, _is_absolute_iri

from microcred.i18n import N_
from microcred.vc.errors import ContextError, DocumentError, SigningError
from microcred.vc.jsonsafe import changed_at
from microcred.vc.ldprocessor import Processor
from microcred.vc.loader import DocumentLoader
from microcred.vc.message import Message

UNDEFINED_VOCAB = "urn:microcred:undefined-term:"
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Control characters that pyld writes unescaped into N-Quads (RDFC-1.0 wants \b, \f or \uXXXX),
# so its canonical form would differ from jsonld.js's: tab, LF and CR are escaped correctly.
BAD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def find_control_characters(document: Any, path: str = "$") -> str | None:
    """The JSON path of the first string (key or value) holding an unsafe control character."""
    texts: list[str] = []
    _texts(document, texts)
    if not BAD_CONTROL.search(" ".join(texts)):
        return None  # the common case, in one pass: the paths are only worked out for a find
    for where, text in _strings(document, path):
        match = BAD_CONTROL.search(text)
        if match:
            return f"{where} (character U+{ord(match.group()):04X} at offset {match.start()})"
    return None


def refuse_control_characters(document: Any) -> None:
    where = find_control_characters(document)
    if where is not None:
        raise SigningError(
            f"text holds a control character at {where}; remove it before signing "
            "(canonical forms differ between implementations for such characters)",
            "text.control_character",
        )


def _texts(value: Any, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(value)
    elif kind is dict:
        for key, child in value.items():
            out.append(key)
            _texts(child, out)
    elif kind is list:
        for child in value:
            _texts(child, out)
    elif isinstance(value, str):
        out.append(str(value))
    elif isinstance(value, Mapping):
        for key, child in value.items():
            out.append(str(key))
            _texts(child, out)
    elif isinstance(value, list):
        for child in value:
            _texts(child, out)


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, child in item.items():
                yield f"{where}.{key}", key
                stack.append((child, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))


_SAFE_INTEGER = 2**53


def jcs(document: Any) -> bytes:
    """RFC 8785 canonical JSON bytes.

    For JSON with ASCII keys, safe integers and plain fractions (every credential microcred
    issues; an integral float is written as an integer), RFC 8785 is exactly ``json.dumps`` with
    sorted keys and no spaces: strings are escaped the same way, numbers written the same way,
    and ASCII keys sort the same by code point as by UTF-16 unit. That is several times faster
    than ``rfc8785`` (in Python); anything else goes to ``rfc8785``.
    ``tests/unit/test_jcs_without_rdf.py`` holds the two equal."""
    try:
        return json.dumps(
            _plain(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
    except (_NotPlainError, UnicodeEncodeError, RecursionError):
        pass  # rfc8785 writes it, or names the problem (a lone surrogate, say)
    try:
        return bytes(rfc8785.dumps(document))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise DocumentError(
            Message(N_("cannot canonicalise as JCS: %(reason)s"), reason=str(exc)),
            "json.not_canonicalisable",
        ) from exc


class _NotPlainError(Exception):
    pass


def _plain(value: Any) -> Any:
    """``value`` with integral floats as integers (``2.0`` is written ``2`` by both), or
    :class:`_NotPlainError` when ``json.dumps`` would not write it as RFC 8785 does."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str or not k.isascii():
                raise _NotPlainError
            out[k] = v if type(v) is str else _plain(v)
        return out
    if kind is list:
        return [v if type(v) is str else _plain(v) for v in value]
    if kind is int:
        if not -_SAFE_INTEGER < value < _SAFE_INTEGER:
            raise _NotPlainError
        return value
    if kind is float:
        # both write the shortest digits that round-trip; Python's repr and ECMAScript's number
        # form agree on fractions between 1e-4 and 1e16, and on integers written as such
        if value.is_integer():  # -0.0 too: ECMAScript writes it "0"
            if abs(value) < _SAFE_INTEGER:  # beyond, ECMAScript's digits may differ from int's
                return int(value)
        elif 1e-4 <= abs(value) < 1e16:
            return value
    raise _NotPlainError


def jcs_plan(document: Any) -> list[tuple[Any, ...]] | None:
    """How ``json.dumps`` (sorted keys, no spaces) comes to write ``document`` exactly as RFC
    8785 does: the paths of the integral floats to write as integers (``2.0`` is ``2`` in JCS),
    or None when it cannot (a key beyond ASCII, an unsafe integer, a float the two write
    differently). Decided by keys and numbers alone, so by a document's shape."""
    paths: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(document, ())]
    while stack:
        item, path = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str or not key.isascii():
                    return None
                if type(child) is not str:
                    stack.append((child, (*path, key)))
        elif kind is list:
            stack.extend((c, (*path, i)) for i, c in enumerate(item) if type(c) is not str)
        elif kind is int:
            if not -_SAFE_INTEGER < item < _SAFE_INTEGER:
                return None
        elif kind is float:
            try:
                written = _plain(item)
            except _NotPlainError:
                return None
            if type(written) is int:
                paths.append(path)
        else:
            return None
    return paths


def planned_jcs(document: Any, plan: list[tuple[Any, ...]]) -> bytes | None:
    """RFC 8785 bytes of ``document`` by its :func:`jcs_plan` (None: a string ``json.dumps``
    cannot write as UTF-8, a lone surrogate; :func:`jcs` names the problem)."""
    for path in plan:  # integral floats as integers, copying only the containers on the way
        document = changed_at(document, path, int)
    try:
        return json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
    except UnicodeEncodeError:
        return None


def expand_strict(
    document: Mapping[str, Any], loader: DocumentLoader, *, checked: bool = True
) -> list[Any]:
    """JSON-LD expansion that refuses undefined terms and types and relative IRIs.

    ``checked=False`` expands the same way without refusing (for probing a shape).
    """
    contexts = document.get("@context")
    if contexts is None:
        raise ContextError(Message(N_("the document has no @context")), "context.missing")
    context_list = contexts if isinstance(contexts, list) else [contexts]
    _check_inline_contexts(document)
    guarded = dict(document)
    guarded["@context"] = [{"@vocab": UNDEFINED_VOCAB}, *context_list]
    try:
        expanded = Processor().expand(
            guarded,
            {
                "documentLoader": loader,
                "contextResolver": loader.context_resolver(),
                "base": None,
            },
        )
    except JsonLdError as exc:
        raise _context_error(exc) from exc
    except RecursionError as exc:
        raise DocumentError(
            Message(N_("the document is nested too deeply")), "json.too_deep"
        ) from exc
    if checked:
        check_expanded(expanded)
    return list(expanded)


def _check_inline_contexts(document: Mapping[str, Any]) -> None:
    """Refuse ``@base`` in any inline context and ``"@context": null`` below the top.

    ``@base`` would change how the credential's identifiers resolve; a null context would drop
    every term below it, sentinel included, so undefined terms there could go unseen (ADR 0002).
    """
    stack: list[tuple[Any, bool]] = [(document, True)]
    while stack:
        node, top = stack.pop()
        if isinstance(node, list):
            stack.extend((item, False) for item in node)
            continue
        if not isinstance(node, Mapping):
            continue
        for key, value in node.items():
            if key == "@context":
                check_context(value, top=top)
            else:
                stack.append((value, False))


def check_context(value: Any, *, top: bool) -> None:
    """One ``@context`` value of :func:`_check_inline_contexts` (``top``: the document's own)."""
    listed = value if isinstance(value, list) else [value]
    if not top and any(item is None for item in listed):
        raise ContextError(
            Message(N_('a nested "@context": null would switch off every context below it')),
            "context.reset_forbidden",
        )
    if _mentions(value, "@base"):
        raise ContextError(
            Message(
                N_(
                    "an inline context sets @base; a credential may not change how its "
                    "identifiers resolve"
                )
            ),
            "context.base_forbidden",
        )


def _mentions(value: Any, keyword: str) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if keyword in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def to_dataset(expanded: list[Any], loader: DocumentLoader) -> dict[str, Any]:
    """The RDF dataset of an already expanded (and checked) document."""
    try:
        dataset: dict[str, Any] = jsonld.to_rdf(
            expanded,
            {"documentLoader": loader, "contextResolver": loader.context_resolver(), "base": None},
        )
    except JsonLdError as exc:
        raise _context_error(exc) from exc
    return dataset


def dataset_of_expanded(expanded: list[Any]) -> dict[str, Any]:
    """The RDF dataset of an expanded document, without pyld's ``to_rdf`` expanding it again
    (about a third of its time). The steps are pyld 3's own ``to_rdf`` after expansion; the
    reference path, :func:`rdfc`, keeps the public API, and the fast path's differential tests
    compare the two."""
    processor = Processor()
    options = {"produceGeneralizedRdf": False, "processingMode": "json-ld-1.1"}
    issuer = IdentifierIssuer("_:b")
    node_map: dict[str, Any] = {"@default": {}}
    try:
        processor._create_node_map(expanded, node_map, "@default", issuer)
        dataset: dict[str, Any] = {}
        for graph_name, graph in sorted(node_map.items()):
            if graph_name == "@default" or _is_absolute_iri(graph_name):
                dataset[graph_name] = processor._graph_to_rdf(graph, issuer, options)
    except JsonLdError as exc:
        raise _context_error(exc) from exc
    return dataset


def canonize_dataset(dataset: dict[str, Any]) -> str:
    """RDFC-1.0 canonical N-Quads of an RDF dataset (pyld's dict form)."""
    result: str = URDNA2015().main(
        dataset, {"algorithm": "URDNA2015", "format": "application/n-quads"}
    )
    return result


def rdfc(document: Mapping[str, Any], loader: DocumentLoader) -> str:
    """Reference path: strict expansion, RDF, RDFC-1.0 canonical N-Quads (full pyld)."""
    return canonize_dataset(to_dataset(expand_strict(document, loader), loader))


def check_expanded(expanded: Any) -> None:
    stack: list[Any] = [expanded]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key.startswith(UNDEFINED_VOCAB):
                raise ContextError(
                    Message(
                        N_("property %(property)s is not defined by any context"),
                        property=repr(key[len(UNDEFINED_VOCAB) :]),
                    ),
                    "context.undefined_term",
                )
            if not key.startswith("@") and (key.startswith("_:") or not _is_absolute_iri(key)):
                # RDF would drop its statements, unsigned: refused, not signed over
                raise ContextError(
                    Message(
                        N_("property %(property)s is not an IRI RDF keeps"), property=repr(key)
                    ),
                    "context.relative_iri",
                )
            if key == "@type":
                for type_ in value if isinstance(value, list) else [value]:
                    _check_iri(type_, "type")
            elif key == "@id":
                _check_iri(value, "id")
            elif key == "@value":
                continue
            else:
                stack.append(value)


def _check_iri(value: Any, what: str) -> None:
    if not isinstance(value, str):
        return
    if value.startswith(UNDEFINED_VOCAB):
        template = (
            N_("type %(value)s is not defined by any context")
            if what == "type"
            else N_("id %(value)s is not defined by any context")
        )
        raise ContextError(
            Message(template, value=repr(value[len(UNDEFINED_VOCAB) :])), "context.undefined_term"
        )
    if not value.startswith("_:") and not (_ABSOLUTE_IRI.match(value) and _is_absolute_iri(value)):
        template = (
            N_(
                "type %(value)s is a relative IRI or holds white space; only absolute IRIs can "
                "be signed"
            )
            if what == "type"
            else N_(
                "id %(value)s is a relative IRI or holds white space; only absolute IRIs can "
                "be signed"
            )
        )
        raise ContextError(Message(template, value=repr(value)), "context.relative_iri")


def _context_error(exc: JsonLdError) -> ContextError:
    """Map a pyld error (and its causes) to a stable code and a readable message."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 16:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for err in chain:
        details = getattr(err, "details", None)
        if isinstance(details, dict) and details.get("microcred_code"):
            url = details.get("url")
            return ContextError(
                Message(
                    N_("context %(url)s is not one microcred knows (contexts are never fetched)"),
                    url=repr(url),
                ),
                str(details["microcred_code"]),
            )
    codes = [getattr(err, "code", None) for err in chain]
    messages = [err.args[0] for err in chain if isinstance(err, JsonLdError) and err.args]
    detail = messages[-1] if messages else str(exc)
    if "protected term redefinition" in codes:
        return ContextError(
            Message(N_("the document redefines a protected term: %(detail)s"), detail=str(detail)),
            "context.protected_redefinition",
        )
    if "invalid base IRI" in codes or "invalid base direction" in codes:
        return ContextError(
            Message(N_("invalid @base: %(detail)s"), detail=str(detail)), "context.base_forbidden"
        )
    code = next((c for c in codes if isinstance(c, str)), "invalid JSON-LD")
    return ContextError(
        Message(N_("invalid JSON-LD (%(code)s): %(detail)s"), code=code, detail=str(detail)),
        "context.invalid",
    )
