"""Sign-in sessions kept on the server (issue 12).

The session cookie (signed by Starlette) carries only a random token; the ``web_sessions`` row
keyed by its SHA-256 says whose session it is and whether it still holds. Sign-out ends that
row; a password change, a staff removal, an account erasure and "sign out everywhere" end every
row of the person, so a copied cookie stops working at once on every web process. Each sign-in
makes a new token (no fixation)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import LearnerAccount, Staff, WebSession
from microcred.services.app import App

LIFETIME = timedelta(hours=8)
KINDS = ("staff", "learner")


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(app: App, session: Session, kind: str, subject_id: int) -> str:
    """A new session for ``subject_id``; returns the token for the cookie."""
    assert kind in KINDS
    token = secrets.token_urlsafe(32)
    now = app.now()
    session.execute(  # rows of sessions that ended or expired a day ago tell nothing more
        delete(WebSession).where(
            (WebSession.expires_at < now - timedelta(days=1))
            | (WebSession.ended_at < now - timedelta(days=1))
        )
    )
    session.add(
        WebSession(
            id=_key(token),
            kind=kind,
            subject_id=subject_id,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    session.flush()
    return token


def subject(app: App, session: Session, kind: str, token: object) -> int | None:
    """Whose live session ``token`` is (of ``kind``), or None."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    row = session.get(WebSession, _key(token))
    if row is None or row.kind != kind or row.ended_at is not None or row.expires_at <= app.now():
        return None
    return row.subject_id


def remember_language(app: App, learner_token: object, staff_token: object, language: str) -> None:
    """The signed-in learner's and staff member's language, kept for their emails (a write of
    its own: the page that chooses a language is a GET, read-only)."""
    if learner_token is None and staff_token is None:
        return
    with transaction(app.sessions) as session:
        _remember(app, session, learner_token, staff_token, language)


def _remember(
    app: App, session: Session, learner_token: object, staff_token: object, language: str
) -> None:
    learner_id = subject(app, session, "learner", learner_token)
    account = session.get(LearnerAccount, learner_id) if learner_id is not None else None
    if account is not None:
        account.language = language
    staff_id = subject(app, session, "staff", staff_token)
    member = session.get(Staff, staff_id) if staff_id is not None else None
    if member is not None:
        member.language = language


def end(app: App, session: Session, token: object) -> None:
    """Sign-out: this session ends (every copy of its cookie)."""
    if isinstance(token, str) and token:
        session.execute(
            update(WebSession)
            .where(WebSession.id == _key(token), WebSession.ended_at.is_(None))
            .values(ended_at=app.now())
        )


def end_all(app: App, session: Session, kind: str, subject_id: int, keep: object = None) -> int:
    """Every live session of the person ends, but ``keep`` (the token of the session asking,
    when it stays signed in). Returns how many ended."""
    query = (
        update(WebSession)
        .where(
            WebSession.kind == kind,
            WebSession.subject_id == subject_id,
            WebSession.ended_at.is_(None),
        )
        .values(ended_at=app.now())
    )
    if isinstance(keep, str) and keep:
        query = query.where(WebSession.id != _key(keep))
    return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]


def live(app: App, session: Session, kind: str, subject_id: int) -> int:
    """How many sessions of the person are live (the account pages show it)."""
    rows = session.scalars(
        select(WebSession.id).where(
            WebSession.kind == kind,
            WebSession.subject_id == subject_id,
            WebSession.ended_at.is_(None),
            WebSession.expires_at > app.now(),
        )
    ).all()
    return len(rows)
