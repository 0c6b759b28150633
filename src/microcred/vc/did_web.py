"""did:web identifiers and DID documents.

Spec: did:web Method Specification, https://w3c-ccg.github.io/did-method-web/

A hosted provider is ``did:web:HOST[%3APORT]:path:segments``; its document lives at
``https://HOST[:PORT]/path/segments/did.json`` (or ``/.well-known/did.json`` with no path).
A DID document built here lists every key the provider has ever signed with, newest first, so a
credential signed before a key rotation keeps verifying; only the active keys are listed under
``assertionMethod`` unless retired keys are kept there on purpose (the default), because a
retired key's past signatures must still be accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from microcred.i18n import N_
from microcred.vc.errors import KeyFormatError
from microcred.vc.loader import MULTIKEY_V1
from microcred.vc.message import Message
from microcred.vc.multikey import PublicKey, multikey_method

DID_WEB_PREFIX = "did:web:"
_SEGMENT = re.compile(r"^[A-Za-z0-9._~%-]+$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(%3[Aa][0-9]{1,5})?$")


def did_web_from_url(host: str, path: Sequence[str] = ()) -> str:
    """``did:web`` for ``host`` (``host:port`` allowed) and optional path segments."""
    if not host or "/" in host:
        raise KeyFormatError(f"not a host name: {host!r}", "did.malformed")
    encoded_host = host.replace(":", "%3A")
    parts = [encoded_host, *(quote(segment, safe="") for segment in path)]
    did = DID_WEB_PREFIX + ":".join(parts)
    did_web_to_url(did)  # validates
    return did


def did_web_to_url(did: str) -> str:
    """The HTTPS URL of a did:web DID document (section 3.2.1 of the method spec)."""
    if not isinstance(did, str) or not did.startswith(DID_WEB_PREFIX):
        raise KeyFormatError(Message(N_("not a did:web: %(did)s"), did=repr(did)), "did.malformed")
    body = did[len(DID_WEB_PREFIX) :].partition("#")[0]
    host, *path = body.split(":")
    if not _HOST.match(host) or not all(_SEGMENT.match(segment) for segment in path):
        raise KeyFormatError(
            Message(N_("malformed did:web: %(did)s"), did=repr(did)), "did.malformed"
        )

    host = unquote(host)
    if path:
        return f"https://{host}/" + "/".join(unquote(segment) for segment in path) + "/did.json"
    return f"https://{host}/.well-known/did.json"


@dataclass(frozen=True, slots=True)
class ListedKey:
    """One key of a DID document: its fragment id and whether it may still sign new credentials."""

    fragment: str
    public: PublicKey
    active: bool = True


def build_did_document(did: str, keys: Sequence[ListedKey]) -> dict[str, Any]:
    """A DID document listing ``keys`` (newest first) as Multikey verification methods.

    Every key, active or retired, stays in ``verificationMethod`` and ``assertionMethod``: a
    credential signed with a since-rotated key must keep verifying. Only active keys are listed
    under ``authentication`` and ``capabilityInvocation``.
    """
    if not keys:
        raise ValueError("a DID document needs at least one key")
    fragments = [key.fragment for key in keys]
    if len(set(fragments)) != len(fragments):
        raise ValueError("key fragments must be unique within a DID document")
    methods = [multikey_method(key.public, did, f"{did}#{key.fragment}") for key in keys]
    active = [m["id"] for m, key in zip(methods, keys, strict=True) if key.active]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
        "authentication": active,
        "capabilityInvocation": active,
    }
