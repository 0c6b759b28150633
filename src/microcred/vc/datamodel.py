"""The VC Data Model's structural rules (1.1 and 2.0), checked before anything is signed.

``problems(credential)`` lists every violation it finds, each with a JSON pointer into the
credential, a stable code and a message for people; an empty list means the shape conforms. It
checks what a JSON reader can see (required properties, identifiers that are URLs, dates, typed
entries); terms that the ``@context`` does not define are found later, by strict JSON-LD
expansion when the credential is signed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from microcred.vc.dates import parse_datetime
from microcred.vc.errors import VcError
from microcred.vc.loader import VC_V1, VC_V2

# An absolute URI: a scheme, a colon, and no whitespace or control characters (RFC 3986).
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f]+$")
# Entries that must name their ``type``; the value is whether ``id`` is required too, per version.
_TYPED = {
    "credentialStatus": {VC_V1: True, VC_V2: False},
    "termsOfUse": {VC_V1: False, VC_V2: False},
    "evidence": {VC_V1: False, VC_V2: False},
    "refreshService": {VC_V1: True, VC_V2: False},
    "credentialSchema": {VC_V1: True, VC_V2: True},
}
_DATES = {
    VC_V1: ("issuanceDate", "expirationDate"),
    VC_V2: ("validFrom", "validUntil"),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One violation: where (an RFC 6901 pointer into the credential), a code, and why."""

    pointer: str
    code: str
    message: str

    @property
    def field(self) -> str:
        """The pointer for people: ``credentialSubject[0].id``."""
        out = ""
        for part in self.pointer.split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
        return out

    def to_json(self) -> dict[str, str]:
        return {
            "field": self.field,
            "pointer": self.pointer,
            "code": self.code,
            "message": self.message,
        }


def is_uri(value: object) -> bool:
    return isinstance(value, str) and bool(_URI.match(value))


def version(credential: Mapping[str, Any]) -> str | None:
    """The base context (``VC_V1`` or ``VC_V2``) the credential starts with, if any."""
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    return first if first in (VC_V1, VC_V2) else None


def problems(credential: object) -> list[Problem]:
    """Every VC Data Model violation found in ``credential``; empty when it conforms."""
    if not isinstance(credential, Mapping):
        return [Problem("", "datamodel.not_object", "a credential is a JSON object")]
    found: list[Problem] = []
    base = version(credential)
    if base is None:
        found.append(
            Problem(
                "/@context",
                "datamodel.context_invalid",
                f"@context must start with {VC_V2} (VC 2.0) or {VC_V1} (VC 1.1)",
            )
        )
    found += _identifier(credential, "id", "/id", required=False)
    found += _types(credential)
    found += _issuer(credential)
    found += _subjects(credential)
    found += _dates(credential, base or VC_V2)
    for name, id_required in _TYPED.items():
        found += _typed_entries(credential, name, id_required[base or VC_V2])
    found += _related(credential)
    return found


def _pointer(*parts: str | int) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _identifier(
    obj: Mapping[str, Any], key: str, pointer: str, *, required: bool, what: str = ""
) -> list[Problem]:
    what = what or key
    if key not in obj:
        if required:
            return [Problem(pointer, "datamodel.id_missing", f"{what} is required (a URL)")]
        return []
    value = obj[key]
    if not is_uri(value):
        return [
            Problem(
                pointer,
                "datamodel.id_not_url",
                f"{what} must be one URL (an absolute URI such as https://... or did:...), "
                f"not {_show(value)}",
            )
        ]
    return []


def _types(credential: Mapping[str, Any]) -> list[Problem]:
    types = credential.get("type")
    listed = [types] if isinstance(types, str) else types
    if not isinstance(listed, list) or not listed or not all(isinstance(t, str) for t in listed):
        return [
            Problem(
                "/type",
                "datamodel.type_missing",
                'type is required: "VerifiableCredential" or a list of names including it',
            )
        ]
    if "VerifiableCredential" not in listed:
        return [
            Problem("/type", "datamodel.type_missing", "type must include VerifiableCredential")
        ]
    return []


def _issuer(credential: Mapping[str, Any]) -> list[Problem]:
    if "issuer" not in credential or credential["issuer"] is None:
        return [Problem("/issuer", "datamodel.issuer_missing", "issuer is required (a URL)")]
    issuer = credential["issuer"]
    if isinstance(issuer, Mapping):
        return _identifier(issuer, "id", "/issuer/id", required=True, what="issuer.id")
    return _identifier(credential, "issuer", "/issuer", required=True)


def _subjects(credential: Mapping[str, Any]) -> list[Problem]:
    if "credentialSubject" not in credential:
        return [
            Problem(
                "/credentialSubject", "datamodel.subject_missing", "credentialSubject is required"
            )
        ]
    subject = credential["credentialSubject"]
    listed = [(subject, _pointer("credentialSubject"))]
    if isinstance(subject, list):
        listed = [(s, _pointer("credentialSubject", i)) for i, s in enumerate(subject)]
        if not subject:
            return [
                Problem(
                    "/credentialSubject",
                    "datamodel.subject_missing",
                    "credentialSubject must be an object or a list of objects, not an empty list",
                )
            ]
    found: list[Problem] = []
    for value, pointer in listed:
        if not isinstance(value, Mapping):
            found.append(
                Problem(
                    pointer,
                    "datamodel.subject_not_object",
                    f"credentialSubject must be an object (or a list of objects), "
                    f"not {_show(value)}",
                )
            )
        elif not value:
            found.append(
                Problem(
                    pointer,
                    "datamodel.subject_empty",
                    "credentialSubject must make at least one claim (an id or another property)",
                )
            )
        else:
            found += _identifier(value, "id", pointer + "/id", required=False, what="subject id")
    return found


def _dates(credential: Mapping[str, Any], base: str) -> list[Problem]:
    found: list[Problem] = []
    parsed = {}
    for name in ("validFrom", "validUntil", "issuanceDate", "expirationDate"):
        if name not in credential:
            continue
        try:
            parsed[name] = parse_datetime(credential[name], name)
        except VcError as exc:
            found.append(Problem(_pointer(name), "datamodel.date_malformed", exc.message))
    start_name, end_name = _DATES[base]
    if base == VC_V1 and "issuanceDate" not in credential:
        found.append(
            Problem(
                "/issuanceDate", "datamodel.date_missing", "a VC 1.1 credential needs issuanceDate"
            )
        )
    start, end = parsed.get(start_name), parsed.get(end_name)
    if start and end and end < start:
        found.append(
            Problem(
                _pointer(end_name),
                "datamodel.date_order",
                f"{end_name} ({credential[end_name]}) is before {start_name}",
            )
        )
    return found


def _entries(value: Any, name: str) -> Iterator[tuple[Any, str]]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield item, _pointer(name, i)
    else:
        yield value, _pointer(name)


def _typed_entries(credential: Mapping[str, Any], name: str, id_required: bool) -> list[Problem]:
    if name not in credential:
        return []
    found: list[Problem] = []
    value = credential[name]
    if isinstance(value, list) and not value:
        return [Problem(_pointer(name), "datamodel.entry_invalid", f"{name} must not be empty")]
    for entry, pointer in _entries(value, name):
        if not isinstance(entry, Mapping):
            found.append(
                Problem(pointer, "datamodel.entry_invalid", f"each {name} entry must be an object")
            )
            continue
        kind = entry.get("type")
        kinds = [kind] if isinstance(kind, str) else kind
        if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
            found.append(
                Problem(pointer + "/type", "datamodel.entry_type_missing", f"{name} needs a type")
            )
        found += _identifier(entry, "id", pointer + "/id", required=id_required, what=f"{name} id")
    return found


def _related(credential: Mapping[str, Any]) -> list[Problem]:
    if "relatedResource" not in credential:
        return []
    found: list[Problem] = []
    value = credential["relatedResource"]
    if isinstance(value, list) and not value:
        return [Problem("/relatedResource", "datamodel.entry_invalid", "relatedResource is empty")]
    for entry, pointer in _entries(value, "relatedResource"):
        if not isinstance(entry, Mapping):
            found.append(
                Problem(
                    pointer, "datamodel.entry_invalid", "each relatedResource must be an object"
                )
            )
            continue
        found += _identifier(entry, "id", pointer + "/id", required=True, what="relatedResource id")
        digests = [entry.get(k) for k in ("digestSRI", "digestMultibase") if k in entry]
        if not digests:
            found.append(
                Problem(
                    pointer,
                    "datamodel.digest_missing",
                    "relatedResource needs digestSRI or digestMultibase",
                )
            )
        elif not all(isinstance(d, str) and d for d in digests):
            found.append(
                Problem(pointer, "datamodel.digest_invalid", "a digest must be a non-empty string")
            )
    return found


def _show(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
