"""Throttling of sign-in and password-reset attempts, against password guessing and mail floods.

Failures are counted per account email and per client address within a sliding window, in the
database, so every worker process sees the same counts. Past the limit the attempt is refused
(HTTP 429) until the oldest failure in the window expires — before the password is even checked,
so a correct guess during the lock-out tells nothing. A successful sign-in clears the account's
failures. Only SHA-256 digests of emails and addresses are stored, and only for the window.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from microcred.db.tables import SignInFailure
from microcred.domain.errors import DomainError
from microcred.i18n import ngettext
from microcred.services.app import App

WINDOW = timedelta(minutes=15)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Limits:
    per_email: int
    per_address: int


LIMITS = {
    "staff": Limits(per_email=5, per_address=50),
    "learner": Limits(per_email=5, per_address=50),
    "reset": Limits(per_email=3, per_address=20),
}


class ThrottledError(DomainError):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            "signin.throttled",
            ngettext(
                "Too many attempts. Try again in %(num)d minute.",
                "Too many attempts. Try again in %(num)d minutes.",
                minutes,
            )
            % {"num": minutes},
        )
        self.retry_after = retry_after


def _digest(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()


def _subjects(scope: str, email: str, address: str | None) -> list[tuple[str, str, int]]:
    limits = LIMITS[scope]
    found = [(scope, _digest(email), limits.per_email)]
    if address:
        found.append((f"{scope}:ip", _digest(address), limits.per_address))
    return found


def check(app: App, session: Session, scope: str, email: str, address: str | None) -> None:
    """Raise :class:`ThrottledError` when the email or the address is over its limit."""
    now = app.now()
    for kind, subject, limit in _subjects(scope, email, address):
        count, oldest = session.execute(
            select(func.count(), func.min(SignInFailure.at)).where(
                SignInFailure.scope == kind,
                SignInFailure.subject == subject,
                SignInFailure.at > now - WINDOW,
            )
        ).one()
        if count >= limit and oldest is not None:
            raise ThrottledError(max(1, int((oldest + WINDOW - now).total_seconds())))


def failed(app: App, session: Session, scope: str, email: str, address: str | None) -> None:
    """Count one failure (for a reset: one request) and forget those past the window."""
    now = app.now()
    session.execute(delete(SignInFailure).where(SignInFailure.at <= now - WINDOW))
    for kind, subject, _limit in _subjects(scope, email, address):
        session.add(SignInFailure(scope=kind, subject=subject, at=now))
    session.flush()


def sign_in(
    app: App,
    session: Session,
    scope: str,
    email: str,
    address: str | None,
    authenticate: Callable[[], T | None],
) -> T | None:
    """``authenticate()`` unless over the limit (:class:`ThrottledError`, before the password is
    looked at); a failure counts, a success clears the account's count."""
    check(app, session, scope, email, address)
    found = authenticate()
    if found is None:
        failed(app, session, scope, email, address)
    else:
        succeeded(session, scope, email)
    return found


def succeeded(session: Session, scope: str, email: str) -> None:
    session.execute(
        delete(SignInFailure).where(
            SignInFailure.scope == scope, SignInFailure.subject == _digest(email)
        )
    )
