"""pyld's JSON-LD processor (pinned, 3.3), with two of its costs removed (ADR 0023).

- **Type-scoped contexts, processed once per active context.** A type-scoped context does not
  propagate: pyld clones the active context to remember the one to return to, and the clone
  gets a new id, so the processed-context cache (keyed by that id) never hits and every typed
  node processes its contexts again (a record of 250 credentials made 150,000 term
  definitions; its expansion took 1.2 s, now 0.43 s). Here the clone is made once per active
  context (kept by its id: processed contexts are frozen), so equal input gives an equal clone
  id and the cache hits. The clone is the one pyld makes.
- **The node map without quadratic duplicate checks.** pyld adds each value to a node after
  comparing it with every value the node already has. Nodes shared by many embedded
  credentials (an achievement and its alignments, the issuer's address, the record's subject)
  gather hundreds of values: a million comparisons for one record. Here each (node, property)
  keeps an index of what it holds, by the same equality (``compare_values``).

The output is pyld's own: ``tests/unit/test_canon_expand.py`` and the fast-canonicalisation
tests compare with plain pyld, the interop tests with jsonld.js.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from cachetools import LRUCache  # pyld's own dependency
from pyld import jsonld
from pyld.jsonld import (
    JsonLdError,
    JsonLdProcessor,
    _is_bnode,
    _is_keyword,
    _is_list,
    _is_object,
    _is_string,
    _is_value,
)

# active context id -> its clone for type-scoped contexts
_RETURN_CLONES: LRUCache[str, Any] = LRUCache(maxsize=4096)
_RETURN_CLONES_LOCK = threading.Lock()
_UNHASHABLE = object()


def _fingerprint(value: Any) -> Any:
    """A key equal for values ``compare_values`` holds equal (a bool never equals a number);
    ``_UNHASHABLE`` for one only a comparison can tell (a JSON literal's object value)."""
    key: tuple[Any, ...]
    if type(value) is dict:
        if "@value" in value:
            literal = value["@value"]
            key = (
                "v",
                value.get("@type"),
                value.get("@language"),
                value.get("@index"),
                type(literal) is bool,
                literal,
            )
        elif value.get("@id") is not None:
            key = ("id", value["@id"])
        else:
            return _UNHASHABLE  # equal to nothing but itself
    elif isinstance(value, dict | list):
        return _UNHASHABLE
    else:
        key = ("p", type(value) is bool, value)
    try:
        hash(key)
    except TypeError:
        return _UNHASHABLE
    return key


class Processor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """A ``JsonLdProcessor`` (one per expansion or dataset) with the two changes above."""

    def __init__(self) -> None:
        super().__init__()
        # id(node) -> property -> fingerprints held (the nodes live in the node map meanwhile)
        self._held: dict[int, dict[str, set[Any]]] = {}

    def _process_context(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        key = active_ctx.get("_uuid")
        if not propagate and key is not None and not active_ctx.get("previousContext"):
            with _RETURN_CLONES_LOCK:
                clone = _RETURN_CLONES.get(key)
            if clone is None:
                clone = self._clone_active_context(active_ctx)
                clone["previousContext"] = active_ctx
                clone["_uuid"] = str(uuid.uuid4())
                with _RETURN_CLONES_LOCK:
                    _RETURN_CLONES[key] = clone
            active_ctx = clone
        return super()._process_context(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
        )

    def _add_unique(self, node: dict[str, Any], prop: str, value: Any) -> None:
        """``add_value(node, prop, value, propertyIsArray, allowDuplicate=False)``, indexed."""
        values = node.get(prop)
        if values is not None and not isinstance(values, list):
            JsonLdProcessor.add_value(
                node, prop, value, {"propertyIsArray": True, "allowDuplicate": False}
            )
            return
        held = self._held.setdefault(id(node), {})
        seen = held.get(prop)
        if seen is None or len(seen) != len(values or ()):  # first use, or written elsewhere
            seen = held[prop] = set()
            for existing in values or ():
                seen.add(_fingerprint(existing))
        fingerprint = _fingerprint(value)
        if fingerprint is _UNHASHABLE:  # only pyld's comparisons can tell: its own way
            JsonLdProcessor.add_value(
                node, prop, value, {"propertyIsArray": True, "allowDuplicate": False}
            )
            held.pop(prop, None)  # rebuilt on next use
            return
        if fingerprint in seen:
            return
        seen.add(fingerprint)
        node.setdefault(prop, []).append(value)

    def _create_node_map(  # pyld 3.3's own, with _add_unique for add_value without duplicates
        self,
        input_: Any,
        graph_map: dict[str, Any],
        active_graph: str,
        issuer: Any,
        active_subject: Any = None,
        active_property: Any = None,
        list_: Any = None,
    ) -> None:
        if isinstance(input_, list):
            for e in input_:
                self._create_node_map(
                    e, graph_map, active_graph, issuer, active_subject, active_property, list_
                )
            return

        subject_node = (
            graph_map.setdefault(active_graph, {}).get(active_subject)
            if _is_string(active_subject)
            else None
        )

        if "@type" in input_:
            for type_ in input_["@type"]:
                if type_.startswith("_:"):
                    issuer.get_id(type_)

        if _is_value(input_):
            if "@type" in input_:
                type_ = input_["@type"]
                if type_.startswith("_:"):
                    type_ = input_["@type"] = issuer.get_id(type_)
            if list_:
                list_["@list"].append(input_)
            elif subject_node:
                self._add_unique(subject_node, active_property, input_)
            return

        if _is_list(input_):
            listed: dict[str, Any] = {"@list": []}
            self._create_node_map(
                input_["@list"],
                graph_map,
                active_graph,
                issuer,
                active_subject,
                active_property,
                listed,
            )
            if list_:
                list_["@list"].append(listed)
            elif subject_node:
                JsonLdProcessor.add_value(
                    subject_node,
                    active_property,
                    listed,
                    {"propertyIsArray": True, "allowDuplicate": True},
                )
                self._held.get(id(subject_node), {}).pop(active_property, None)
            return

        id_ = input_.get("@id")
        if _is_bnode(input_):
            id_ = issuer.get_id(id_)

        node = graph_map.setdefault(active_graph, {}).setdefault(id_, {"@id": id_})

        if _is_object(active_subject):
            self._add_unique(node, active_property, active_subject)
        elif active_property:
            reference = {"@id": id_}
            if list_:
                list_["@list"].append(reference)
            elif subject_node:
                self._add_unique(subject_node, active_property, reference)

        for prop, objects in sorted(input_.items()):
            if prop == "@id":
                continue
            if prop == "@reverse":
                referenced_node = {"@id": id_}
                for reverse_property, items in input_["@reverse"].items():
                    for item in items:
                        self._create_node_map(
                            item,
                            graph_map,
                            active_graph,
                            issuer,
                            active_subject=referenced_node,
                            active_property=reverse_property,
                        )
                continue
            if prop == "@graph":
                graph_map.setdefault(id_, {})
                g = active_graph if active_graph == "@merged" else id_
                self._create_node_map(objects, graph_map, g, issuer)
                continue
            if prop == "@included":
                self._create_node_map(objects, graph_map, active_graph, issuer)
                continue
            if prop != "@type" and _is_keyword(prop):
                if (
                    prop == "@index"
                    and "@index" in node
                    and (
                        input_["@index"] != node["@index"]
                        or input_["@index"]["@id"] != node["@index"]["@id"]
                    )
                ):
                    raise JsonLdError(
                        "Invalid JSON-LD syntax; conflicting @index property  detected.",
                        "jsonld.SyntaxError",
                        {"node": node},
                        code="conflicting indexes",
                    )
                node[prop] = input_[prop]
                continue
            if prop.startswith("_:"):
                prop = issuer.get_id(prop)
            if len(objects) == 0:
                JsonLdProcessor.add_value(node, prop, [], {"propertyIsArray": True})
                continue
            for o in objects:
                if prop == "@type":
                    o = issuer.get_id(o) if o.startswith("_:") else o
                    self._add_unique(node, prop, o)
                else:
                    self._create_node_map(
                        o,
                        graph_map,
                        active_graph,
                        issuer,
                        active_subject=id_,
                        active_property=prop,
                    )
