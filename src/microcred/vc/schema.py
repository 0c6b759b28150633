"""Validation against the 1EdTech Open Badges 3.0 JSON Schemas (draft 2019-09).

Source: 1EdTech/openbadges-specification, ``docs/schema/`` (vendored in ``vc/schemas``, see NOTICE).
The published schemas describe VC 2.0 credentials and want ``proof`` as an array; JSON-LD reads a
single proof object the same way, so a single object is wrapped before validation, at any depth
(nested endorsements too; see ADR 0004).
Speed (ADR 0021): ``jsonschema_rs`` (Rust) answers "valid?" first, with the same format checks
as ``jsonschema`` (its Python functions, passed in); only a document it finds invalid is validated
again by ``jsonschema``, whose findings are the answer. A difference between the two can only
cost time, never pass a document ``jsonschema`` would refuse, unless ``jsonschema_rs`` accepted
something ``jsonschema`` refuses: ``tests/unit/test_schema_fast.py`` looks for that.

They also allow one ``credentialStatus`` object, where VC 2.0 allows several. microcred issues one
by default (ADR 0015); a list (revocation and suspension, where a provider enables suspension, and
third-party credentials) is checked entry by entry against the schema's own ``CredentialStatus``
definition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft201909Validator, FormatChecker

from microcred.vc.jsonsafe import changed_at

ACHIEVEMENT_CREDENTIAL = "achievementcredential.json"
ENDORSEMENT_CREDENTIAL = "endorsementcredential.json"
PROFILE = "profile.json"


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"at {self.path}: {self.message}"


@cache
def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        resources.files("microcred.vc.schemas").joinpath(name).read_text("utf-8")
    )
    Draft201909Validator.check_schema(schema)
    return schema


@cache
def _validator(name: str, definition: str | None = None) -> Draft201909Validator:
    schema = _schema(name)
    if definition is not None:
        schema = {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    return Draft201909Validator(schema, format_checker=FormatChecker())


@cache
def _fast(name: str, definition: str | None = None) -> Any:
    schema = _schema(name)
    if definition is not None:
        schema = {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    checker = FormatChecker()
    formats = {
        fmt: (lambda value, fmt=fmt: checker.conforms(value, fmt))
        for fmt in ("date-time", "date", "email", "uri", "uri-reference", "uuid", "time")
    }
    return jsonschema_rs.Draft201909Validator(
        schema, formats=formats, validate_formats=True, offline=True
    )


def schema_for(document: Mapping[str, Any]) -> str | None:
    """The schema that applies to a credential by its type, or None."""
    types = document.get("type")
    type_list = types if isinstance(types, list) else [types]
    if "AchievementCredential" in type_list or "OpenBadgeCredential" in type_list:
        return ACHIEVEMENT_CREDENTIAL
    if "EndorsementCredential" in type_list:
        return ENDORSEMENT_CREDENTIAL
    return None


def validate(
    document: Mapping[str, Any],
    name: str,
    limit: int = 10,
    proofs: list[tuple[Any, ...]] | None = None,
) -> list[SchemaProblem]:
    """Problems found validating ``document`` against schema ``name`` (empty when valid).
    ``proofs``: :func:`proof_paths` of the document, when known (it is found otherwise)."""
    candidate, extra = prepare(document, proofs)
    if _fast(name).is_valid(candidate) and all(
        _fast(name, "CredentialStatus").is_valid(entry) for _, entry in extra
    ):
        return []
    problems = _problems(_validator(name), candidate, "$")
    for where, entry in extra:
        problems.extend(_problems(_validator(name, "CredentialStatus"), entry, where))
    return problems[:limit]


def prepare(
    document: Mapping[str, Any], proofs: list[tuple[Any, ...]] | None = None
) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """What the published schema validates (proofs as lists, the first status entry), and the
    status entries checked one by one against its ``CredentialStatus``."""
    if proofs is None or type(document) is not dict:
        candidate = _proofs_as_lists(document)
    else:
        candidate = document
        for path in proofs:  # deepest first: a wrapped proof's path would gain an index
            candidate = changed_at(candidate, path, _in_list)
    if candidate is document:  # its first status entry is set below: never on the caller's
        candidate = dict(document)
    statuses = candidate.get("credentialStatus")
    extra: list[tuple[str, Any]] = []
    if isinstance(statuses, list) and statuses:
        candidate["credentialStatus"] = statuses[0]
        extra = [(f"$.credentialStatus[{i}]", entry) for i, entry in enumerate(statuses)]
    return candidate, extra


def proof_paths(document: Mapping[str, Any]) -> list[tuple[Any, ...]] | None:
    """Where :func:`prepare` wraps a single ``proof`` object in a list: the paths of those
    objects, deepest first (None: not plain JSON). Decided by keys and nesting alone, so by a
    document's shape."""
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(document, ())]
    while stack:
        item, path = stack.pop()
        if type(item) is dict:
            for key, child in item.items():
                if type(child) is str:
                    continue
                if key == "proof" and type(child) is dict:
                    found.append((*path, key))
                stack.append((child, (*path, key)))
        elif type(item) is list:
            stack.extend((c, (*path, i)) for i, c in enumerate(item) if type(c) is not str)
        elif isinstance(item, Mapping | list) and not isinstance(item, str):
            return None  # prepare copies the whole document instead
    return sorted(found, key=len, reverse=True)


def _in_list(value: Any) -> list[Any]:
    return [value]


def _proofs_as_lists(value: Any) -> Any:
    """``value`` with every single ``proof`` object wrapped in a list, at any depth: endorsements
    nested in the issuer or the achievement carry their own proofs (ADR 0004). Copy on write:
    what holds no such proof is the input itself, not a copy (most of a credential)."""
    kind = type(value)
    if kind is dict or (kind is not list and kind is not str and isinstance(value, Mapping)):
        changed: dict[str, Any] | None = None
        for key, child in value.items():
            if type(child) is str:
                continue
            new = _proofs_as_lists(child)
            if key == "proof" and isinstance(new, dict):
                new = [new]
            if new is not child:
                if changed is None:
                    changed = dict(value)
                changed[key] = new
        if changed is None and kind is not dict:
            return dict(value)
        return value if changed is None else changed
    if kind is list or (kind is not str and isinstance(value, list)):
        items: list[Any] | None = None
        for index, child in enumerate(value):
            if type(child) is str:
                continue
            new = _proofs_as_lists(child)
            if new is not child:
                if items is None:
                    items = list(value)
                items[index] = new
        return value if items is None else items
    return value


def _problems(validator: Draft201909Validator, value: Any, root: str) -> list[SchemaProblem]:
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return [
        SchemaProblem(
            root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path),
            _short(e.message),
        )
        for e in errors
    ]


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
