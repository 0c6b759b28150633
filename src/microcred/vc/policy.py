"""What a verification may rely on, passed in whole: nothing in ``verify`` reads a global.

Mirrors the options of the Digital Bazaar verifier (suites, documentLoader, checkStatus, now,
maxClockSkew). Build one per use: the CLI, the web verifier and tests each choose their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from microcred.vc import fastcanon
from microcred.vc.did import DidResolver, OfflineResolver
from microcred.vc.jsonsafe import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH
from microcred.vc.loader import DocumentLoader, default_loader
from microcred.vc.memo import VerifyMemo
from microcred.vc.proofs import ALL_SUITES, Canonicalize


class CredentialStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    UNKNOWN = "unknown"  # the list could not be fetched or read: never taken as valid


@dataclass(frozen=True, slots=True)
class StatusResult:
    """One entry's status. ``code`` names why an UNKNOWN status could not be established
    (``status.retrieval_error``, ``status.verification_error``, ``status.list_length_error``,
    ``status.range_error``, ``status.malformed``, ``status.unsupported``)."""

    status: CredentialStatus
    message: str
    code: str = ""


class StatusChecker(Protocol):
    def check(self, credential: Mapping[str, Any], entry: Mapping[str, Any]) -> StatusResult:
        """The status of ``credential`` for one ``credentialStatus`` entry."""
        ...


@dataclass(frozen=True, slots=True)
class TrustFinding:
    """What a trust registry says about an issuer: ``outcome`` is passed, warning or failed."""

    outcome: str
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


class TrustChecker(Protocol):
    def check(self, issuer_id: str, moment: datetime) -> TrustFinding:
        """Whether ``issuer_id`` is a recognised (quality-assured) issuer at ``moment``."""
        ...


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Policy:
    loader: DocumentLoader = field(default_factory=default_loader)
    resolver: DidResolver = field(default_factory=OfflineResolver)
    suites: frozenset[str] = frozenset(ALL_SUITES)
    status_checker: StatusChecker | None = None
    trust_checker: TrustChecker | None = None
    # Offline use, chosen explicitly: the status step is then "unchecked", never a pass. Without
    # it, a credential with credentialStatus and no status checker fails (ADR 0015).
    skip_status: bool = False
    clock: Callable[[], datetime] = system_clock
    clock_skew: timedelta = timedelta(seconds=300)
    check_schema: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    canonicalize: Canonicalize = fastcanon.DEFAULT
    # pure results (canonical forms, schema findings) kept across verifications; see vc/memo.py
    memo: VerifyMemo | None = None
