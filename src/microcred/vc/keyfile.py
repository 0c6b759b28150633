"""Key files: an Ed25519 key as JSON, with the secret optionally encrypted by a passphrase.

Format (``type`` Multikey, as ``@digitalbazaar/ed25519-multikey`` exports it)::

    {"type": "Multikey", "id": "did:key:z6Mk..#z6Mk..", "controller": "did:key:z6Mk..",
     "publicKeyMultibase": "z6Mk..", "secretKeyMultibase": "z3u2.."}

With a passphrase, ``secretKeyMultibase`` is replaced by ``encryptedSecretKey``: scrypt
(n=2**15, r=8, p=1) derives a 256-bit key that seals the secret multibase with AES-256-GCM, the
public key bound in as associated data, so a swapped public key fails to open.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from microcred.vc.errors import KeyFormatError
from microcred.vc.multikey import KeyPair

_SCRYPT_N = 2**15


def export_key(key: KeyPair, passphrase: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "Multikey",
        "id": key.public.did_key_method_id,
        "controller": key.public.did_key,
        "publicKeyMultibase": key.public.multibase,
    }
    if passphrase is None:
        data["secretKeyMultibase"] = key.secret_multibase()
        return data
    salt = os.urandom(16)
    nonce = os.urandom(12)
    sealed = AESGCM(_derive(passphrase, salt, _SCRYPT_N)).encrypt(
        nonce, key.secret_multibase().encode("ascii"), key.public.multibase.encode("ascii")
    )
    data["encryptedSecretKey"] = {
        "kdf": "scrypt",
        "n": _SCRYPT_N,
        "r": 8,
        "p": 1,
        "salt": _b64(salt),
        "cipher": "AES-256-GCM",
        "nonce": _b64(nonce),
        "ciphertext": _b64(sealed),
    }
    return data


def import_key(data: Any, passphrase: str | None = None) -> KeyPair:
    """The key pair in a key file; :class:`KeyFormatError` says what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("publicKeyMultibase"), str):
        raise KeyFormatError("not a key file: publicKeyMultibase is missing", "keyfile.invalid")
    if "secretKeyMultibase" in data:
        key = KeyPair.from_secret_multibase(str(data["secretKeyMultibase"]))
    elif isinstance(data.get("encryptedSecretKey"), dict):
        if passphrase is None:
            raise KeyFormatError(
                "the key file is encrypted: give its passphrase", "keyfile.passphrase_required"
            )
        key = _open(data["encryptedSecretKey"], passphrase, data["publicKeyMultibase"])
    else:
        raise KeyFormatError("the key file holds no secret key", "keyfile.no_secret")
    if key.public.multibase != data["publicKeyMultibase"]:
        raise KeyFormatError(
            "the secret key does not match publicKeyMultibase", "keyfile.key_mismatch"
        )
    return key


def _open(sealed: dict[str, Any], passphrase: str, public_multibase: str) -> KeyPair:
    try:
        if sealed.get("kdf") != "scrypt" or sealed.get("cipher") != "AES-256-GCM":
            raise KeyFormatError("unsupported key encryption", "keyfile.invalid")
        n = int(sealed["n"])
        if n > 2**20 or n < 2**14:
            raise KeyFormatError("scrypt cost out of range", "keyfile.invalid")
        secret = AESGCM(_derive(passphrase, _unb64(sealed["salt"]), n)).decrypt(
            _unb64(sealed["nonce"]), _unb64(sealed["ciphertext"]), public_multibase.encode("ascii")
        )
    except InvalidTag as exc:
        raise KeyFormatError(
            "wrong passphrase, or the key file was altered", "keyfile.wrong_passphrase"
        ) from exc
    except (KeyError, ValueError, TypeError) as exc:
        raise KeyFormatError(f"malformed encrypted key: {exc}", "keyfile.invalid") from exc
    return KeyPair.from_secret_multibase(secret.decode("ascii"))


def _derive(passphrase: str, salt: bytes, n: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(passphrase.encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
