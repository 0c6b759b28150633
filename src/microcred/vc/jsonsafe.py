"""Reading untrusted JSON with limits: size, nesting depth, duplicate keys, non-standard numbers.

RFC 8259 leaves duplicate member names to the parser; two parsers may then see two different
credentials in one file, so a duplicate key is refused. ``NaN`` and ``Infinity`` are not JSON.
Numbers are kept to what every JSON-LD processor reads the same way (RFC 8259 section 6): integers
within ±2^53 and finite floats; larger ones would overflow the JSON-LD number conversion.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from microcred.i18n import N_
from microcred.vc.errors import DocumentError
from microcred.vc.message import Message
from microcred.vc.native import speedups

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64
MAX_SAFE_INTEGER = 2**53


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DocumentError(
                Message(N_("duplicate key %(key)s in a JSON object"), key=repr(key)),
                "json.duplicate_key",
            )
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise DocumentError(Message(N_("%(name)s is not a JSON number"), name=name), "json.invalid")


def _integer(text: str) -> int:
    if len(text) > 17:  # checked before int(): Python refuses very long digit strings itself
        raise _too_large(text)
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise _too_large(text)
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _too_large(text)
    return value


def _too_large(text: str) -> DocumentError:
    shown = text if len(text) <= 24 else text[:20] + "…"
    return DocumentError(
        Message(
            N_("the number %(number)s is beyond what JSON processors read alike (±2^53, finite)"),
            number=shown,
        ),
        "json.number_out_of_range",
    )


def _too_deep(max_depth: int) -> DocumentError:
    return DocumentError(
        Message(N_("the document is nested more than %(limit)d levels deep"), limit=max_depth),
        "json.too_deep",
    )


def parse_json(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Any:
    """Parse ``data`` as JSON, enforcing the limits; :class:`DocumentError` says what is wrong."""
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise DocumentError(
            Message(
                N_("the document is %(size)s bytes; the limit is %(limit)s"),
                size=f"{size:,}",
                limit=f"{max_bytes:,}",
            ),
            "json.too_large",
        )
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(
                Message(N_("the document is not UTF-8 (byte %(byte)d)"), byte=exc.start),
                "json.not_utf8",
            ) from exc
    else:
        text = data
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constants,
            parse_int=_integer,
            parse_float=_float,
        )
    except json.JSONDecodeError as exc:
        raise DocumentError(
            Message(
                N_("invalid JSON at line %(line)d, column %(column)d: %(problem)s"),
                line=exc.lineno,
                column=exc.colno,
                problem=exc.msg,
            ),
            "json.invalid",
        ) from exc
    except RecursionError as exc:
        raise DocumentError(
            Message(N_("the document is nested too deeply (limit %(limit)d)"), limit=max_depth),
            "json.too_deep",
        ) from exc

    check_depth(value, max_depth)
    return value


def check_depth(value: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """Refuse a parsed value nested more than ``max_depth`` levels (iterative, no recursion), or
    holding a number out of range (as :func:`parse_json` does for text)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue  # the common leaves, without the isinstance chain below
        if kind is dict or kind is list:
            if depth > max_depth:
                raise _too_deep(max_depth)
            for child in item.values() if kind is dict else item:
                if type(child) is not str:
                    stack.append((child, depth + 1))
            continue
        if isinstance(item, bool):
            continue
        if isinstance(item, int) and abs(item) > MAX_SAFE_INTEGER:
            raise _too_large(str(item) if item.bit_length() < 200 else "a very long integer")
        if isinstance(item, float) and not math.isfinite(item):
            raise _too_large(repr(item))
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            raise _too_deep(max_depth)
        stack.extend((child, depth + 1) for child in children)


def changed_at(value: Any, path: tuple[Any, ...], change: Callable[[Any], Any]) -> Any:
    """``value`` with the item at ``path`` (keys and indexes) replaced by ``change(item)``,
    copying only the dicts and lists on the way to it: the rest is shared, never modified."""
    if not path:
        return change(value)
    copy: Any = dict(value) if type(value) is dict else list(value)
    copy[path[0]] = changed_at(value[path[0]], path[1:], change)
    return copy


def copy_json(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars), about four times faster than
    ``copy.deepcopy`` (in C when the extension is built); anything else is deep-copied the
    general way."""
    if speedups is not None:
        return speedups.copy_json(value)
    return _copy_json_py(value)


def _copy_json_py(value: Any) -> Any:
    """:func:`copy_json` in Python (the C one's twin)."""
    kind = type(value)
    if kind is dict:
        return {k: _copy_json_py(v) for k, v in value.items()}
    if kind is list:
        return [_copy_json_py(v) for v in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    return copy.deepcopy(value)
