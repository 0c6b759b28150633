"""Bitstring Status List v1.0: encode, decode (bomb-safe), entries, and a status checker.

Spec: https://www.w3.org/TR/vc-bitstring-status-list/

A list is at least 131,072 bits (16 KiB), for group privacy. Bit 0 is the most significant bit of
the first byte. ``encodedList`` is multibase base64url (prefix ``u``, no padding) of the GZIP of
the bitstring. Decoding caps the decompressed size, so a gzip bomb fails fast.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from microcred.i18n import N_
from microcred.vc.errors import VcError
from microcred.vc.message import Message
from microcred.vc.policy import CredentialStatus, Policy, StatusResult

MIN_BITS = 131_072
# A hard cap on decompression: 4,194,304 entries (512 KiB), 32 times the minimum list. A 1 KB
# gzip bomb expands to about 1 MB and is refused after reading 512 KiB.
MAX_BITS = 4 * 1024 * 1024
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_TYPE = "BitstringStatusList"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
PURPOSES = ("revocation", "suspension")


class StatusListError(VcError):
    code = "status.list_invalid"


class StatusListLengthError(StatusListError):
    code = "status.list_length_error"


def encode(set_bits: Iterable[int], size: int = MIN_BITS) -> str:
    if size < MIN_BITS or size % 8:
        raise ValueError(f"a status list has at least {MIN_BITS} bits, in whole bytes")
    bits = bytearray(size // 8)
    for index in set_bits:
        if not 0 <= index < size:
            raise ValueError(f"index {index} is outside a list of {size}")
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode(encoded: str, max_bits: int = MAX_BITS) -> bytes:
    """The bitstring; :class:`StatusListError` if malformed, too large or too small."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError(Message(N_("encodedList must be multibase base64url (prefix 'u')")))
    body = encoded[1:]
    if len(body) > max_bits // 4:
        raise StatusListError(Message(N_("encodedList is too long")))
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:
        raise StatusListError(Message(N_("encodedList is not base64url"))) from exc
    limit = max_bits // 8
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        bits = inflater.decompress(compressed, limit + 1)
    except zlib.error as exc:
        raise StatusListError(Message(N_("encodedList is not GZIP data"))) from exc
    if len(bits) > limit or inflater.unconsumed_tail:
        raise StatusListError(Message(N_("the status list decompresses beyond the size limit")))
    if not inflater.eof:
        raise StatusListError(Message(N_("encodedList is truncated GZIP data")))
    if len(bits) * 8 < MIN_BITS:
        raise StatusListLengthError(
            Message(
                N_("the status list has %(entries)d entries; at least %(minimum)d are required"),
                entries=len(bits) * 8,
                minimum=MIN_BITS,
            )
        )
    return bits


def bit(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(
            Message(N_("statusListIndex %(index)d is outside the list"), index=index)
        )
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def entry(list_url: str, index: int, purpose: str) -> dict[str, Any]:
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def list_credential(
    list_url: str, issuer: str, purpose: str, encoded: str, valid_from: str
) -> dict[str, Any]:
    """The unsigned BitstringStatusListCredential."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": LIST_TYPE,
            "statusPurpose": purpose,
            "encodedList": encoded,
        },
    }


Fetch = Callable[[str], bytes]

# The two entry types understood: VC 2.0's Bitstring Status List, and the StatusList2021 that
# VC 1.1 credentials in the wild carry (same bits; its encodedList has no multibase prefix).
_LIST_TYPES = {
    ENTRY_TYPE: (LIST_CREDENTIAL_TYPE, LIST_TYPE),
    "StatusList2021Entry": ("StatusList2021Credential", "StatusList2021"),
}
# The spec's error types, as stable codes of the status step.
RETRIEVAL = "status.retrieval_error"  # STATUS_RETRIEVAL_ERROR
VERIFICATION = "status.verification_error"  # STATUS_VERIFICATION_ERROR
LENGTH = "status.list_length_error"  # STATUS_LIST_LENGTH_ERROR
RANGE = "status.range_error"  # RANGE_ERROR
MALFORMED = "status.malformed"  # MALFORMED_VALUE_ERROR
UNSUPPORTED = "status.unsupported"


class BitstringStatusChecker:
    """A :class:`~microcred.vc.policy.StatusChecker` that fetches and verifies status lists,
    following the Bitstring Status List validation algorithm (section 3.2).

    ``fetch`` returns the bytes at a URL (the safe fetcher: allow-list, time and size caps) and
    raises on failure; ``policy`` verifies the list credential (proof, validity period, without
    checking its own status). Anything that goes wrong makes the status *unknown* with the spec's
    error as its code: never valid.
    """

    def __init__(self, fetch: Fetch, policy: Policy | None = None) -> None:
        self._fetch = fetch
        self._policy = policy
        # Each distinct list (by its exact bytes) is verified and decoded once per checker: a
        # wallet of 50 credentials shares two lists. A checker lives for one verification run
        # (one page, one request), so nothing here outlives the list it was read from.
        self._lists: dict[tuple[bytes, str], _ListRead] = {}

    def check(self, credential: Mapping[str, Any], status: Mapping[str, Any]) -> StatusResult:
        kind = status.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        entry_type = next((k for k in kinds if k in _LIST_TYPES), None)
        if entry_type is None:
            return _unknown(
                UNSUPPORTED,
                Message(N_("status type %(type)s is not supported"), type=repr(kind)),
            )
        purpose = status.get("statusPurpose")
        url = status.get("statusListCredential")
        size = status.get("statusSize", 1)
        if purpose not in PURPOSES:
            return _unknown(
                UNSUPPORTED,
                Message(N_("status purpose %(purpose)s is not supported"), purpose=repr(purpose)),
            )
        if size not in (1, "1"):
            return _unknown(
                UNSUPPORTED,
                Message(N_("statusSize %(size)s is not supported (only 1)"), size=repr(size)),
            )
        try:
            index = int(str(status.get("statusListIndex")), 10)
        except ValueError:
            return _unknown(MALFORMED, Message(N_("statusListIndex is not a whole number")))
        if index < 0:
            return _unknown(MALFORMED, Message(N_("statusListIndex is negative")))
        if not isinstance(url, str) or not url:
            return _unknown(MALFORMED, Message(N_("statusListCredential is missing")))
        try:
            raw = self._fetch(url)
        except Exception as exc:  # noqa: BLE001 - any fetch failure: status unknown
            return _unknown(
                RETRIEVAL,
                Message(
                    N_("the status list %(url)s could not be retrieved: %(reason)s"),
                    url=url,
                    reason=exc.message if isinstance(exc, VcError) else str(exc),
                ),
            )
        read = self._read(raw, entry_type)
        if read.problem is not None:
            return _unknown(read.code, read.problem)
        if read.list_id is not None and read.list_id != url:
            return _unknown(
                VERIFICATION,
                Message(
                    N_("the status list at %(url)s names itself %(named)s"),
                    url=url,
                    named=repr(read.list_id),
                ),
            )
        if read.issuer != _issuer(credential):
            return _unknown(
                VERIFICATION,
                Message(N_("the status list is not issued by the credential's issuer")),
            )
        if read.purpose != purpose:
            return _unknown(
                VERIFICATION,
                Message(
                    N_("the status list is for %(list)s, the entry for %(entry)s"),
                    list=repr(read.purpose),
                    entry=repr(purpose),
                ),
            )
        if index >= len(read.bits) * 8:
            return _unknown(
                RANGE,
                Message(
                    N_("statusListIndex %(index)d is outside the list of %(size)d"),
                    index=index,
                    size=len(read.bits) * 8,
                ),
            )
        if not bit(read.bits, index):
            valid = N_("not revoked") if purpose == "revocation" else N_("not suspended")
            return StatusResult(CredentialStatus.VALID, Message(valid), "status.ok")
        if purpose == "revocation":
            return StatusResult(
                CredentialStatus.REVOKED,
                Message(N_("the issuer has revoked this credential")),
                "status.revoked",
            )
        return StatusResult(
            CredentialStatus.SUSPENDED,
            Message(N_("the issuer has suspended this credential")),
            "status.suspended",
        )

    def _read(self, raw: bytes, entry_type: str) -> _ListRead:
        key = (hashlib.sha256(raw).digest(), entry_type)
        found = self._lists.get(key)
        if found is None:
            found = self._lists[key] = self._verify_list(raw, entry_type)
        return found

    def _verify_list(self, raw: bytes, entry_type: str) -> _ListRead:
        from microcred.vc.verify import verify  # verify imports policy; avoid a cycle

        credential_type, subject_type = _LIST_TYPES[entry_type]
        policy = self._policy or Policy()
        report = verify(raw, replace(policy, status_checker=None, skip_status=True))
        if report.credential is None:
            failure = report.failures[0] if report.failures else None
            reason = failure.as_message() if failure else Message(N_("not JSON"))
            return _ListRead(
                code=RETRIEVAL,
                problem=Message(N_("the status list is unreadable: %(reason)s"), reason=reason),
            )
        if report.failures:
            step = report.failures[0]
            template = (
                N_("the status list credential is not valid now: %(reason)s")
                if step.name == "validity"
                else N_("the status list credential does not verify: %(reason)s")
            )
            return _ListRead(code=VERIFICATION, problem=Message(template, reason=step.as_message()))
        document = report.credential
        types = document.get("type")
        if credential_type not in (types if isinstance(types, list) else [types]):
            return _ListRead(
                code=VERIFICATION,
                problem=Message(N_("the status list is not a %(type)s"), type=credential_type),
            )
        subject = document.get("credentialSubject")
        if not isinstance(subject, Mapping) or subject.get("type") != subject_type:
            return _ListRead(
                code=VERIFICATION,
                problem=Message(
                    N_("the status list's subject is not a %(type)s"), type=subject_type
                ),
            )
        encoded = subject.get("encodedList", "")
        if entry_type != ENTRY_TYPE and isinstance(encoded, str) and not encoded.startswith("u"):
            encoded = "u" + encoded  # StatusList2021: plain base64url
        try:
            bits = decode(encoded)
        except StatusListLengthError as exc:
            return _ListRead(code=LENGTH, problem=exc.message)
        except StatusListError as exc:
            return _ListRead(
                code=VERIFICATION,
                problem=Message(N_("the status list is malformed: %(reason)s"), reason=exc.message),
            )

        list_id = document.get("id")
        return _ListRead(
            issuer=_issuer(document),
            purpose=subject.get("statusPurpose"),
            bits=bits,
            list_id=list_id if isinstance(list_id, str) else None,
        )


def _unknown(code: str, message: str) -> StatusResult:
    return StatusResult(CredentialStatus.UNKNOWN, message, code)


@dataclass(frozen=True, slots=True)
class _ListRead:
    """A status list read once: who issued it, for what, its bits; or why it cannot be used."""

    code: str = ""
    problem: str | None = None
    issuer: str | None = None
    purpose: Any = None
    bits: bytes = b""
    list_id: str | None = None


def purpose_word(purpose: Any) -> str:
    return {"revocation": "revoked", "suspension": "suspended"}.get(str(purpose), str(purpose))


def _issuer(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None
