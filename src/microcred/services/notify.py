"""Notifications go out only after the data that causes them is committed.

A service calls :func:`queue` with the caller's session; the message waits in ``session.info``
and a per-session ``after_commit`` hook hands it to :func:`send` once the commit has succeeded.
A rollback (a refused request, an error) drops it, and so does the rollback of a savepoint it
was queued in: a refused action sends nothing.

:func:`send` is the one seam where a queued job will go: when email runs through the job queue,
``queue`` enqueues a job in the same transaction instead, and the job calls ``send`` with retries
(the ``Message-ID`` is derived from the cause, so a retry never sends a different one).
"""

from __future__ import annotations

import json
import logging
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from microcred.db.tables import (
    Credential,
    CredentialEvent,
    Definition,
    LearnerAccount,
    Provider,
    RplApplication,
    RplDecision,
    Staff,
)
from microcred.i18n import _
from microcred.services.app import App
from microcred.services.mail import MailError, compose

log = logging.getLogger("microcred.mail")
_PENDING = "microcred_mail_pending"
_HOOKED = "microcred_mail_hooked"


def send(app: App, message: EmailMessage) -> None:
    """Deliver one message now through the configured mailer (raises ``MailError``).

    THE SEAM: a queued job replaces the synchronous call in ``_after_commit`` below; the job's
    body is this function, retried with backoff on ``MailError``.
    """
    app.mailer.send(message)


def queue(app: App, session: Session, message: EmailMessage) -> None:
    """Send ``message`` after ``session``'s transaction commits; never if it rolls back."""
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_rollback)
        session.info[_HOOKED] = True
    # the innermost transaction: a savepoint rolled back drops what was queued inside it
    holder = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((holder, app, message))


def pending(session: Session) -> list[EmailMessage]:
    """What would be sent if ``session`` committed now (tests)."""
    return [m for _t, _a, m in session.info.get(_PENDING, [])]


def _inside(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def _after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    waiting = session.info.get(_PENDING)
    if waiting:
        session.info[_PENDING] = [
            entry
            for entry in waiting
            if entry[0] is not None and not _inside(entry[0], previous_transaction)
        ]


def _after_commit(session: Session) -> None:
    waiting: list[tuple[Any, App, EmailMessage]] = session.info.pop(_PENDING, [])
    for _holder, app, message in waiting:
        try:
            send(app, message)
        except MailError as exc:  # the data is committed: the request still succeeds
            log.error("email %s not sent: %s", message["Message-ID"], exc)
        except Exception:  # a mailer bug must not turn a committed request into an error
            log.exception("email %s not sent", message["Message-ID"])


# --- the notifications: each builds its message now and queues it for after the commit ---


def account_link(
    app: App, session: Session, account: LearnerAccount, purpose: str, token: str, to: str
) -> EmailMessage:
    """The one-time links of a learner account: ``verify`` (the sign-up email), ``reset`` (a
    new password) and ``email`` (proving a further address, sent to that address). The
    ``Message-ID`` derives from the token: the same link always has the same id."""
    base = app.settings.base_url
    template, path, subject, kind = {
        "verify": (
            "verify_email",
            "/account/verify",
            _("Confirm your email for your wallet"),
            "email-confirmation",
        ),
        "reset": ("reset_password", "/account/reset", _("Reset your password"), "password-reset"),
        "email": (
            "add_email",
            "/account/identities/verify",
            _("Add this email to a wallet"),
            "email-proof",
        ),
    }[purpose]
    message = compose(
        app.settings,
        to=to,
        subject=subject,
        template=template,
        purpose=kind,
        subject_id=account.id,
        cause=token,
        when=app.now(),
        name=account.name,
        link=f"{base}{path}?{urlencode({'token': token})}",
    )
    queue(app, session, message)
    return message


def _title(credential: Credential) -> str:
    try:
        subject = json.loads(credential.document).get("credentialSubject", {})
        name = subject.get("achievement", {}).get("name")
    except (ValueError, AttributeError):
        name = None
    return str(name) if name else _("micro-credential")


def credential_issued(app: App, session: Session, credential: Credential) -> None:
    """To the learner: the credential, and how to keep it in a wallet (sign up or sign in with
    the email it was issued to; the wallet claims it once the address is confirmed)."""
    if not credential.recipient_email:
        return
    provider = session.get(Provider, credential.provider_id)
    base = app.settings.base_url
    email = credential.recipient_email
    queue(
        app,
        session,
        compose(
            app.settings,
            to=email,
            subject=_("Your micro-credential: %(title)s") % {"title": _title(credential)},
            template="credential_issued",
            purpose="credential-issued",
            subject_id=credential.id,
            provider=provider,
            when=app.now(),
            name=credential.recipient_name,
            email=email,
            title=_title(credential),
            credential_url=f"{base}/credentials/{credential.id}",
            signup_url=f"{base}/account/signup?{urlencode({'email': email})}",
            signin_url=f"{base}/account/signin",
        ),
    )


def credential_status(
    app: App, session: Session, credential: Credential, action: str, reason: str
) -> None:
    """To the learner: the credential was revoked, suspended or reinstated."""
    if not credential.recipient_email:
        return
    event_id = session.scalar(
        select(CredentialEvent.id)
        .where(CredentialEvent.credential_id == credential.id)
        .order_by(CredentialEvent.id.desc())
        .limit(1)
    )
    subjects = {
        "revoke": _("Your micro-credential was revoked: %(title)s"),
        "suspend": _("Your micro-credential was suspended: %(title)s"),
        "reinstate": _("Your micro-credential was reinstated: %(title)s"),
    }
    queue(
        app,
        session,
        compose(
            app.settings,
            to=credential.recipient_email,
            subject=subjects[action] % {"title": _title(credential)},
            template="credential_status",
            purpose=f"credential-{action}",
            subject_id=credential.id,
            cause=str(event_id),
            provider=session.get(Provider, credential.provider_id),
            when=app.now(),
            name=credential.recipient_name,
            action=action,
            reason=reason,
            title=_title(credential),
            credential_url=f"{app.settings.base_url}/credentials/{credential.id}",
        ),
    )


def rpl_decision(
    app: App, session: Session, application: RplApplication, action: str, message: str
) -> None:
    """To the learner: an RPL application accepted, rejected, or more asked for."""
    account = (
        session.get(LearnerAccount, application.account_id) if application.account_id else None
    )
    if account is None:
        return
    definition = session.get(Definition, application.definition_id)
    title = definition.title if definition is not None else ""
    decision_id = session.scalar(
        select(RplDecision.id)
        .where(RplDecision.application_id == application.id)
        .order_by(RplDecision.id.desc())
        .limit(1)
    )
    subjects = {
        "accept": _("Prior learning recognised: %(title)s"),
        "reject": _("Your application for %(title)s was not accepted"),
        "request_more": _("More is needed for your application for %(title)s"),
    }
    queue(
        app,
        session,
        compose(
            app.settings,
            to=account.email,
            subject=subjects[action] % {"title": title},
            template="rpl_decision",
            purpose=f"rpl-{action.replace('_', '-')}",
            subject_id=application.id,
            cause=str(decision_id),
            provider=session.get(Provider, application.provider_id),
            when=app.now(),
            name=account.name,
            action=action,
            message=message.strip(),
            title=title,
            application_url=f"{app.settings.base_url}/wallet/rpl/{application.id}",
        ),
    )


def staff_invited(
    app: App, session: Session, provider: Provider, member: Staff, inviter: Staff
) -> None:
    """To a new staff member, when an owner adds them (never with the password)."""
    queue(
        app,
        session,
        compose(
            app.settings,
            to=member.email,
            subject=_("You were added to %(provider)s") % {"provider": provider.legal_name},
            template="staff_invitation",
            purpose="staff-invitation",
            subject_id=member.id,
            provider=provider,
            when=app.now(),
            name=member.name,
            email=member.email,
            inviter=inviter.name,
            role=member.role,
            signin_url=f"{app.settings.base_url}/signin",
        ),
    )
