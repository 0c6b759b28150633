"""Holder binding: is a credential about the person holding it?

A credential names its recipient in ``credentialSubject``: OB 3.0 ``identifier`` IdentityObjects
(an email hashed ``sha256$HEX`` with a ``salt``, or plain), a subject ``id`` (a DID, or a
``mailto:`` URI), or, in older credentials, a plain ``email`` or an OB 2.0 style ``recipient``.
It is the holder's when one of those matches one of the holder's proven identities. Pure: no
database, never raises on odd input.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from microcred.vc.model import identity_hash


class Binding(StrEnum):
    HOLDER = "holder"  # a recipient identity matches one of the holder's proven identities
    OTHER = "other"  # it names a recipient, and that recipient is not (provably) the holder
    UNKNOWN = "unknown"  # it names no recipient we can bind


@dataclass(frozen=True, slots=True)
class Identities:
    """The holder's proven identities: emails (normalised) and DIDs."""

    emails: frozenset[str] = frozenset()
    dids: frozenset[str] = frozenset()

    @classmethod
    def of(cls, emails: list[str] | set[str], dids: list[str] | set[str]) -> Identities:
        return cls(frozenset(normalize_email(e) for e in emails), frozenset(dids))


@dataclass(frozen=True, slots=True)
class Recipient:
    """One way a credential names its recipient."""

    kind: str  # email | email_hash | did | other
    value: str
    salt: str = ""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def binding(credential: Any, identities: Identities) -> Binding:
    """Whether ``credential`` is about the holder of ``identities``."""
    found = list(recipients(credential))
    if not found:
        return Binding.UNKNOWN
    if any(_matches(r, identities) for r in found):
        return Binding.HOLDER
    return Binding.OTHER


def recipients(credential: Any) -> Iterator[Recipient]:
    """Every recipient identity the credential's subjects state (the ones we can read)."""
    if not isinstance(credential, Mapping):
        return
    for subject in _objects(credential.get("credentialSubject")):
        subject_id = subject.get("id")
        if isinstance(subject_id, str) and subject_id:
            if subject_id.startswith("did:"):
                yield Recipient("did", subject_id.split("#", 1)[0])
            elif subject_id.lower().startswith("mailto:"):
                yield Recipient("email", normalize_email(unquote(subject_id[7:].split("?")[0])))
        for identifier in _objects(subject.get("identifier")):
            found = _identity(
                identifier.get("identityType"),
                identifier.get("hashed"),
                identifier.get("identityHash"),
                identifier.get("salt"),
            )
            if found:
                yield found
        email = subject.get("email")
        if isinstance(email, str) and "@" in email:
            yield Recipient("email", normalize_email(email))
        recipient = subject.get("recipient")
        if isinstance(recipient, Mapping):  # OB 2.0 style, as some VC 1.1 badges carry
            found = _identity(
                "emailAddress" if recipient.get("type") == "email" else recipient.get("type"),
                recipient.get("hashed"),
                recipient.get("identity"),
                recipient.get("salt"),
            )
            if found:
                yield found


def _identity(kind: Any, hashed: Any, value: Any, salt: Any) -> Recipient | None:
    if not isinstance(value, str) or not value:
        return None
    if kind not in (None, "emailAddress"):
        # names, student numbers...: a recipient, but not one a wallet can prove
        return Recipient("other", value) if kind != "name" else None
    if hashed is True or (hashed is None and value.lower().startswith("sha256$")):
        return Recipient("email_hash", value.lower(), salt if isinstance(salt, str) else "")
    return Recipient("email", normalize_email(value))


def _matches(recipient: Recipient, identities: Identities) -> bool:
    if recipient.kind == "did":
        return recipient.value in identities.dids
    if recipient.kind == "email":
        return recipient.value in identities.emails
    if recipient.kind == "email_hash":
        return any(
            hmac.compare_digest(recipient.value, identity_hash(email, recipient.salt).lower())
            for email in identities.emails
        )
    return False


def _objects(value: Any) -> list[Mapping[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [i for i in items if isinstance(i, Mapping)]
