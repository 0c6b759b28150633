"""Errors raised by the standards library.

Every error carries a stable ``code`` (part of the API contract: reports, the CLI's ``--json``
output and tests rely on it) and a ``message`` written for people.
"""

from __future__ import annotations


class VcError(Exception):
    """Base error: ``code`` is stable, ``message`` explains what is wrong and where."""

    code: str = "vc.error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class DocumentError(VcError):
    """The input is not a usable JSON document (syntax, size, depth, shape)."""

    code = "json.invalid"


class ContextError(VcError):
    """A JSON-LD context problem: unknown URL, tampered file, unsafe or undefined terms."""

    code = "context.invalid"


class KeyFormatError(VcError):
    """A key, multibase value or DID that cannot be decoded."""

    code = "key.malformed"


class SigningError(VcError):
    """A credential that must not be signed as it stands."""

    code = "sign.refused"


class ProofError(VcError):
    """A proof that cannot be checked or does not hold."""

    code = "proof.invalid"
