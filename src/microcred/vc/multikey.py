"""Ed25519 keys as Multikey, base58btc multibase, and did:key.

Specs:
- Controlled Identifiers 1.0, Multikey: https://www.w3.org/TR/cid-1.0/#Multikey
- Multibase (base58btc, prefix ``z``): https://datatracker.ietf.org/doc/draft-multiformats-multibase/
- did:key method v0.7: https://w3c-ccg.github.io/did-method-key/

A public key is the multicodec ``ed25519-pub`` (0xed 0x01) followed by the 32 key bytes; a secret
key is ``ed25519-priv`` (0x80 0x26) followed by the 32-byte seed. Both are base58btc encoded with
the multibase prefix ``z``. The did:key of a key is ``did:key:`` + its public multibase, and its
verification method id is ``did:key:MB#MB``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from microcred.i18n import N_
from microcred.vc.errors import KeyFormatError
from microcred.vc.loader import MULTIKEY_V1
from microcred.vc.message import Message
from microcred.vc.native import speedups

ED25519_PUB_HEADER = b"\xed\x01"
ED25519_PRIV_HEADER = b"\x80\x26"
MULTIBASE_BASE58BTC = "z"
DID_KEY_PREFIX = "did:key:"
_MAX_MULTIBASE_CHARS = 256


def multibase_encode(data: bytes) -> str:
    """base58btc multibase: ``z`` + base58 (Bitcoin alphabet)."""
    return MULTIBASE_BASE58BTC + _b58encode(data)


_B58_MAX = 4096  # bytes to encode, as the C extension; text to decode: what they encode to
_B58_TEXT_MAX = _B58_MAX * 138 // 100 + 1


def _b58encode_py(data: bytes) -> str:
    if len(data) > _B58_MAX:
        raise ValueError("b58encode: input too long")
    return base58.b58encode(data).decode("ascii")


def _b58decode_py(text: str) -> bytes:
    """base58 to bytes; any character outside the alphabet is refused (``base58.b58decode``
    would strip whitespace at the end)."""
    if len(text) > _B58_TEXT_MAX:
        raise ValueError("b58decode: input too long")
    for char in text:
        if char not in _B58_ALPHABET:
            raise ValueError(f"Invalid character {char!r}")
    return bytes(base58.b58decode(text))


_B58_ALPHABET = frozenset(base58.BITCOIN_ALPHABET.decode("ascii"))


_b58encode = speedups.b58encode if speedups is not None else _b58encode_py
_b58decode = speedups.b58decode if speedups is not None else _b58decode_py


def multibase_decode(value: str) -> bytes:
    """Decode a base58btc multibase string; :class:`KeyFormatError` if it is not one."""
    if not isinstance(value, str) or not value:
        raise KeyFormatError(
            Message(N_("multibase value must be a non-empty string")), "multibase.malformed"
        )
    if len(value) > _MAX_MULTIBASE_CHARS:
        raise KeyFormatError(Message(N_("multibase value is too long")), "multibase.malformed")
    if value[0] != MULTIBASE_BASE58BTC:
        raise KeyFormatError(
            Message(
                N_("multibase value must start with 'z' (base58btc), got %(prefix)s"),
                prefix=repr(value[0]),
            ),
            "multibase.prefix",
        )
    try:
        return _b58decode(value[1:])
    except ValueError as exc:
        raise KeyFormatError(
            Message(N_("multibase value is not valid base58btc: %(reason)s"), reason=str(exc)),
            "multibase.malformed",
        ) from exc


@lru_cache(maxsize=4096)  # pure, and base58 in Python is slow: keys repeat across credentials
def decode_public_multibase(value: str) -> bytes:
    """The 32 raw bytes of an Ed25519 public key in Multikey form (``z6Mk...``)."""
    raw = multibase_decode(value)
    if raw[:2] != ED25519_PUB_HEADER or len(raw) != 34:
        raise KeyFormatError(
            Message(
                N_("not an Ed25519 public Multikey (expected multicodec 0xed01 and 32 key bytes)")
            ),
            "key.not_ed25519",
        )
    return raw[2:]


@lru_cache(maxsize=4096)
def _public_multibase(raw: bytes) -> str:
    return multibase_encode(ED25519_PUB_HEADER + raw)


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise KeyFormatError("an Ed25519 public key has 32 bytes", "key.not_ed25519")

    @classmethod
    def from_multibase(cls, value: str) -> PublicKey:
        return cls(decode_public_multibase(value))

    @property
    def multibase(self) -> str:
        return _public_multibase(self.raw)

    @property
    def did_key(self) -> str:
        return DID_KEY_PREFIX + self.multibase

    @property
    def did_key_method_id(self) -> str:
        return f"{self.did_key}#{self.multibase}"

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class KeyPair:
    """An Ed25519 key pair. ``repr`` never shows the secret."""

    __slots__ = ("_private", "public")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public = PublicKey(raw)

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        if len(seed) != 32:
            raise KeyFormatError("an Ed25519 secret key seed has 32 bytes", "key.not_ed25519")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_secret_multibase(cls, value: str) -> KeyPair:
        raw = multibase_decode(value)
        if raw[:2] != ED25519_PRIV_HEADER or len(raw) != 34:
            raise KeyFormatError(
                "not an Ed25519 secret Multikey (expected multicodec 0x8026 and a 32-byte seed)",
                "key.not_ed25519",
            )
        return cls.from_seed(raw[2:])

    def secret_multibase(self) -> str:
        seed = self._private.private_bytes_raw()
        return multibase_encode(ED25519_PRIV_HEADER + seed)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"KeyPair(public={self.public.multibase})"


def parse_did_key(did: str) -> PublicKey:
    """The public key named by a ``did:key`` DID (a fragment, if any, is ignored but checked)."""
    if not isinstance(did, str) or not did.startswith(DID_KEY_PREFIX):
        raise KeyFormatError(Message(N_("not a did:key: %(did)s"), did=repr(did)), "did.malformed")
    body, _, fragment = did[len(DID_KEY_PREFIX) :].partition("#")
    key = PublicKey.from_multibase(body)
    if fragment and fragment != body:
        raise KeyFormatError(
            Message(N_("a did:key verification method fragment must repeat the key")),
            "did.malformed",
        )

    return key


def multikey_method(public: PublicKey, controller: str, method_id: str) -> dict[str, Any]:
    """A Multikey verification method (no ``@context``: it sits inside a DID document)."""
    return {
        "id": method_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": public.multibase,
    }


def resolve_did_key(did: str) -> dict[str, Any]:
    """The DID document of a did:key (Ed25519), built locally: did:key needs no network."""
    base = did.partition("#")[0]
    public = parse_did_key(base)
    method = multikey_method(public, base, public.did_key_method_id)
    return {
        "@context": ["https://www.w3.org/ns/did/v1", MULTIKEY_V1],
        "id": base,
        "verificationMethod": [method],
        "authentication": [method["id"]],
        "assertionMethod": [method["id"]],
        "capabilityDelegation": [method["id"]],
        "capabilityInvocation": [method["id"]],
    }
