"""The development outbox: what :class:`~microcred.services.mail.FileOutbox` wrote, read back for
tests and for the ``/dev/outbox`` page (shown only outside production, only to a signed-in
provider owner, and only when email goes to files)."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from microcred.db.tables import Staff
from microcred.services import sessions
from microcred.services.app import App
from microcred.services.mail import FileOutbox


def outbox_dir(app: App) -> Path:
    return app.settings.data_dir / "outbox"


def viewable(app: App, staff: Staff | None) -> bool:
    """Whether ``staff`` may read the development outbox: never in production, never without
    the file outbox (email goes out for real), only a provider's active owner."""
    return (
        not app.settings.production
        and isinstance(app.mailer, FileOutbox)
        and staff is not None
        and staff.deactivated_at is None
        and staff.role == "owner"
    )


def _read(path: Path) -> dict[str, Any]:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return {
        "to": ", ".join(a for _n, a in getaddresses(message.get_all("To", []))),
        "from": str(message["From"]),
        "subject": str(message["Subject"]),
        "message_id": str(message["Message-ID"]),
        "purpose": str(message["Message-ID"]).strip("<").split(".", 1)[0],
        "sent": str(message["Date"] or ""),
        "body": text.get_content() if text is not None else "",
        "html": html.get_content() if html is not None else "",
        "message": message,
    }


def messages(app: App, to: str | None = None, purpose: str | None = None) -> list[dict[str, Any]]:
    """The messages in the file outbox, oldest first; ``to``: only those to that address;
    ``purpose``: only those of that kind (``email-confirmation``, ``password-reset``,
    ``email-proof``, ``credential-issued``, ``credential-revoke``, ``rpl-accept``, …: the
    first part of the ``Message-ID``)."""
    found = [_read(p) for p in FileOutbox(outbox_dir(app)).files()]
    return [
        m
        for m in found
        if (to is None or m["to"] == to) and (purpose is None or m["purpose"] == purpose)
    ]


def for_session(app: App, session: Session, token: object) -> list[dict[str, Any]] | None:
    """The outbox, newest first, for the staff member signed in with session ``token`` if they
    may read it (:func:`viewable`); ``None`` otherwise (the page answers 404)."""
    staff_id = sessions.subject(app, session, "staff", token)
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    if not viewable(app, staff):
        return None
    return list(reversed(messages(app)))
