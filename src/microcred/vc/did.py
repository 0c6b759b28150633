"""DID resolution behind a small interface.

The verifier never resolves a DID by itself: the policy hands it a :class:`DidResolver`. This
module gives the offline one (did:key computed locally, did:web from documents it was given).
A resolver that fetches did:web over the network belongs to the safe fetcher (issue 4) and plugs in
through the same interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from microcred.i18n import N_
from microcred.vc.errors import KeyFormatError, VcError
from microcred.vc.message import Message
from microcred.vc.multikey import DID_KEY_PREFIX, resolve_did_key


class DidResolutionError(VcError):
    code = "did.unresolvable"


class DidResolver(Protocol):
    def resolve(self, did: str) -> dict[str, Any]:
        """The DID document of ``did`` (no fragment); raises :class:`VcError` when it cannot."""
        ...


class OfflineResolver:
    """did:key locally; any other DID only from the documents given (for example did:web)."""

    def __init__(self, documents: Mapping[str, dict[str, Any]] | None = None) -> None:
        self._documents = dict(documents or {})

    def resolve(self, did: str) -> dict[str, Any]:
        if did.startswith(DID_KEY_PREFIX):
            try:
                return resolve_did_key(did)
            except KeyFormatError as exc:
                raise KeyFormatError(
                    Message(N_("malformed did:key: %(reason)s"), reason=exc.message),
                    "did.malformed",
                ) from exc
        document = self._documents.get(did)
        if document is None:
            if did.startswith(("https://", "http://")):
                raise DidResolutionError(
                    Message(
                        N_(
                            "cannot resolve %(did)s: this verifier does not fetch controller "
                            "documents"
                        ),
                        did=did,
                    )
                )
            if not did.startswith("did:"):
                raise KeyFormatError(
                    Message(N_("not a DID: %(did)s"), did=repr(did)), "did.malformed"
                )
            raise DidResolutionError(
                Message(
                    N_("cannot resolve %(did)s: no network resolver is configured for this method"),
                    did=did,
                ),
            )

        return document


def find_method(document: Mapping[str, Any], method_id: str) -> dict[str, Any] | None:
    """The verification method ``method_id`` embedded in a DID document, if listed."""
    for method in _as_list(document.get("verificationMethod")):
        if isinstance(method, dict) and method.get("id") == method_id:
            return method
    # Some documents embed methods directly in the relationship lists.
    for relation in ("assertionMethod", "authentication"):
        for method in _as_list(document.get(relation)):
            if isinstance(method, dict) and method.get("id") == method_id:
                return method
    return None


def is_authorized(document: Mapping[str, Any], method_id: str, relation: str) -> bool:
    """Whether ``method_id`` is listed under ``relation`` (by reference or embedded)."""
    controller = document.get("id")
    for entry in _as_list(document.get(relation)):
        ref = entry.get("id") if isinstance(entry, dict) else entry
        if ref == method_id:
            return True
        if isinstance(ref, str) and ref.startswith("#") and f"{controller}{ref}" == method_id:
            return True
    return False


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
