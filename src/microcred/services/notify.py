"""Notifications go out through the job queue, enqueued in the transaction that causes them.

A service calls :func:`queue` with the caller's session: a ``mail.send`` job is added in the
same transaction (sealed: messages carry one-time links and personal data), so a rollback (a
refused request, an error, a rolled-back savepoint) sends nothing, and a commit always sends.
The job retries with backoff while the mail server fails; the ``Message-ID`` is derived from the
cause, so a retry never sends a different one.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from microcred.db.tables import (
    Credential,
    CredentialEvent,
    Definition,
    LearnerAccount,
    Provider,
    ProviderApplication,
    RplApplication,
    RplDecision,
    Staff,
)
from microcred.i18n import DEFAULT, _, use_language
from microcred.services import jobs
from microcred.services.app import App
from microcred.services.mail import (
    Each,
    MailError,
    Outgoing,
    compose,
    compose_many,
    sender,
)

log = logging.getLogger("microcred.mail")


def _pack(message: Outgoing) -> list[object]:
    """The message with its envelope: its bytes as text, one character per byte (MIME on the
    wire is ASCII; any other byte survives as its Latin-1 character), so the sealed payload
    compresses it well, and sending need not parse its headers again."""
    return [
        message.raw.decode("latin-1"),
        message.sender,
        list(message.recipients),
        message.message_id,
    ]


def _unpack(packed: list[Any]) -> Outgoing:
    raw, sender, recipients, message_id = packed
    if not (
        isinstance(raw, str)
        and isinstance(sender, str)
        and isinstance(message_id, str)
        and isinstance(recipients, list)
        and all(isinstance(r, str) for r in recipients)
    ):
        raise ValueError("a queued message is not [text, sender, recipients, message id]")
    return Outgoing(raw.encode("latin-1"), sender, tuple(recipients), message_id)


# priority: a learner hears of her credential while the rest of a bulk file is issued
@jobs.task("mail.send", queue="mail", max_attempts=10, wait=30, retry_on=(MailError,), priority=10)
def send_job(
    app: App,
    envelopes: list[list[Any]] | None = None,
    texts: list[str] | None = None,
    messages: list[str] | None = None,
) -> None:
    """Deliver messages (in order, one connection); a failure retries them all, with the same
    Message-IDs (a receiver may see a repeat, never a different id). ``envelopes`` as ``_pack``
    writes them; jobs queued by older versions hold ``texts`` (the bytes as Latin-1 text) or
    ``messages`` (base64), whose headers give the envelope."""
    outgoing = [_unpack(e) for e in envelopes or ()]
    outgoing += [Outgoing.from_bytes(t.encode("latin-1")) for t in texts or ()]
    outgoing += [Outgoing.from_bytes(base64.b64decode(m)) for m in messages or ()]
    app.mailer.send_outgoing(outgoing)
    log.info(
        "sent %s message(s)",
        len(outgoing),
        extra={"message_ids": [m.message_id for m in outgoing][:20]},
    )


def queue(app: App, session: Session, message: Outgoing) -> None:
    """Send ``message`` once ``session``'s transaction commits; never if it rolls back."""
    queue_many(app, session, [message])


def queue_many(app: App, session: Session, messages: list[Outgoing]) -> None:
    """One job for several messages (a bulk chunk's)."""
    if messages:
        jobs.enqueue(app, session, "mail.send", sealed=True, envelopes=[_pack(m) for m in messages])


# --- the notifications: each builds its message now and queues it for after the commit ---
# Each is written in its reader's language: the one the learner chose for their account, else
# the language of the micro-credential (what the credential itself is written in).


def reader_language(session: Session, email: str, definition_id: int | None = None) -> str:
    """The language to write to ``email`` in."""
    chosen = session.scalar(select(LearnerAccount.language).where(LearnerAccount.email == email))
    if chosen:
        return chosen
    definition = session.get(Definition, definition_id) if definition_id else None
    written = str((definition.data or {}).get("language", "")) if definition else ""
    return written.split("-")[0].lower() or DEFAULT


def account_link(
    app: App, session: Session, account: LearnerAccount, purpose: str, token: str, to: str
) -> Outgoing:
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
    if credential.recipient_email:
        provider = session.get(Provider, credential.provider_id)
        language = reader_language(session, credential.recipient_email, credential.definition_id)
        with use_language(language):
            queue(app, session, issued_message(app, provider, credential))


def issued_message(
    app: App, provider: Provider | None, credential: Credential, title: str | None = None
) -> Outgoing:
    """The "your micro-credential" message. Its ``Message-ID`` derives from the credential's
    idempotency key when it has one (a bulk row's), else from its id. ``title``: the
    achievement's name when the caller has it (else read from the stored document)."""
    return issued_messages(app, provider, [(credential, title)])[0]


def issued_messages(
    app: App, provider: Provider | None, issued: list[tuple[Credential, str | None]]
) -> list[Outgoing]:
    """:func:`issued_message` for many credentials (a bulk chunk's), rendered once."""
    base = app.settings.base_url
    each = []
    for credential, title in issued:
        email = credential.recipient_email or ""
        title = title or _title(credential)
        each.append(
            Each(
                to=email,
                subject=_("Your micro-credential: %(title)s") % {"title": title},
                subject_id=credential.id,
                cause=credential.idempotency_key or "",
                values={
                    "name": credential.recipient_name,
                    "email": email,
                    "title": title,
                    "credential_url": f"{base}/credentials/{credential.id}",
                    "signup_url": f"{base}/account/signup?{urlencode({'email': email})}",
                    "signin_url": f"{base}/account/signin",
                },
            )
        )
    return compose_many(
        app.settings,
        template="credential_issued",
        purpose="credential-issued",
        messages=each,
        provider=provider,
        when=app.now(),
    )


def credential_status(
    app: App, session: Session, credential: Credential, action: str, reason: str
) -> None:
    """To the learner: the credential was revoked, suspended or reinstated."""
    if not credential.recipient_email:
        return
    language = reader_language(session, credential.recipient_email, credential.definition_id)
    with use_language(language):
        _credential_status(app, session, credential, action, reason)


def _credential_status(
    app: App, session: Session, credential: Credential, action: str, reason: str
) -> None:
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
    with use_language(account.language or reader_language(session, account.email)):
        _rpl_decision(app, session, application, account, action, message)


def _rpl_decision(
    app: App,
    session: Session,
    application: RplApplication,
    account: LearnerAccount,
    action: str,
    message: str,
) -> None:
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


def application(
    app: App, session: Session, application: ProviderApplication, state: str, token: str = ""
) -> None:
    """To an organisation's contact: its application received (with its private link, only
    then), approved or not approved (with the operator's reason)."""
    subjects = {
        "received": _("Your application to join %(platform)s"),
        "approved": _("Approved: %(organisation)s on %(platform)s"),
        "rejected": _("Your application to join %(platform)s was not approved"),
    }
    values = {"platform": sender(app.settings)[0], "organisation": application.legal_name}
    queue(
        app,
        session,
        compose(
            app.settings,
            to=application.contact_email,
            subject=subjects[state] % values,
            template="application",
            purpose=f"application-{state}",
            subject_id=application.id,
            when=app.now(),
            state=state,
            name=application.contact_name,
            organisation=application.legal_name,
            domain=application.domain,
            domain_token=application.domain_token,
            verification_url=f"https://{application.domain}/.well-known/microcred-verification.txt",
            status_url=f"{app.settings.base_url}/apply/status/{token}" if token else "",
            signin_url=f"{app.settings.base_url}/signin",
            reason=application.reason or "",
        ),
    )
