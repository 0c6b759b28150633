"""The learner's wallet: accounts, email proof and claiming, import, sharing, presentations,
export and erasure."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import uuid
import zipfile
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import (
    AccountToken,
    Credential,
    Definition,
    Learner,
    LearnerAccount,
    LearnerIdentity,
    RplApplication,
    RplDecision,
    RplEvidence,
    ShareLink,
    WalletItem,
)
from microcred.domain.emails import is_address
from microcred.domain.errors import DomainError, NotFound
from microcred.domain.holder import Binding, Identities, binding
from microcred.i18n import _
from microcred.i18n import current as current_language
from microcred.services import audit, jobs, notify, sessions, usage, verdicts
from microcred.services.app import App
from microcred.services.verification import (
    VerifyResult,
    platform_policy,
    verify_bytes,
    verify_document,
)
from microcred.vc import clr
from microcred.vc.errors import VcError
from microcred.vc.jsonsafe import parse_json
from microcred.vc.memo import content_key
from microcred.vc.model import IdentityObject
from microcred.vc.multikey import KeyPair
from microcred.vc.presentation import sign_presentation, subject_dids, verify_presentation
from microcred.vc.report import Outcome, Verdict, VerificationReport

_hasher = PasswordHasher()
TOKEN_TTL = {
    "verify": timedelta(days=3),
    "reset": timedelta(hours=2),
    "email": timedelta(days=3),  # proving a further email
    "did": timedelta(minutes=30),  # a challenge for a DID to sign
}
PASSING = (Verdict.VERIFIED, Verdict.VERIFIED_WITH_WARNINGS)
ERASED = "erased"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _seal(app: App, account_id: int, key: KeyPair) -> bytes:
    nonce = os.urandom(12)
    aad = f"learner:{account_id}|{key.public.multibase}".encode()
    return nonce + AESGCM(app.settings.kek).encrypt(nonce, key.secret_multibase().encode(), aad)


def holder_key(app: App, account: LearnerAccount) -> KeyPair:
    aad = f"learner:{account.id}|{account.holder_public}".encode()
    sealed = account.holder_sealed
    secret = AESGCM(app.settings.kek).decrypt(sealed[:12], sealed[12:], aad)
    return KeyPair.from_secret_multibase(secret.decode())


def sign_up(app: App, session: Session, name: str, email: str, password: str) -> LearnerAccount:
    email = email.strip().lower()
    if not is_address(email):
        raise DomainError("account.email_invalid", _("enter a valid email address"), "email")
    if not name.strip():
        raise DomainError("account.name_missing", _("enter your name"), "name")
    if len(name.strip()) > 200 or not name.strip().isprintable():
        raise DomainError(
            "account.name_invalid", _("a name of at most 200 printable characters"), "name"
        )
    if len(password) < 10:
        raise DomainError("account.password_short", _("use at least 10 characters"), "password")
    if session.scalar(select(LearnerAccount).where(LearnerAccount.email == email)):
        raise DomainError(
            "account.email_taken", _("an account with this email exists; sign in"), "email"
        )
    key = KeyPair.generate()
    account = LearnerAccount(
        email=email,
        name=name.strip(),
        password_hash=_hasher.hash(password),
        holder_public=key.public.multibase,
        holder_sealed=b"",
        created_at=app.now(),
        language=current_language(),  # the emails it gets are written in it
    )
    session.add(account)
    session.flush()
    account.holder_sealed = _seal(app, account.id, key)
    send_token(app, session, account, "verify")
    return account


def send_token(app: App, session: Session, account: LearnerAccount, purpose: str) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            account_id=account.id,
            purpose=purpose,
            token_hash=_token_hash(token),
            expires_at=app.now() + TOKEN_TTL[purpose],
        )
    )
    session.flush()
    notify.account_link(app, session, account, purpose, token, account.email)  # after commit
    return token


def _take_token(
    app: App, session: Session, token: str, purpose: str, account_id: int | None = None
) -> AccountToken:
    """The one-time token, marked used; refused when unknown, used, expired or another's."""
    row = session.scalar(select(AccountToken).where(AccountToken.token_hash == _token_hash(token)))
    if (
        row is None
        or row.purpose != purpose
        or row.used_at is not None
        or row.expires_at < app.now()
        or (account_id is not None and row.account_id != account_id)
    ):
        raise DomainError("account.token_invalid", _("this link is invalid, used or expired"))
    row.used_at = app.now()
    return row


def use_token(app: App, session: Session, token: str, purpose: str) -> LearnerAccount:
    row = _take_token(app, session, token, purpose)
    account = session.get(LearnerAccount, row.account_id)
    if account is None:
        raise DomainError("account.token_invalid", _("this link is invalid, used or expired"))
    return account


def confirm_email(app: App, session: Session, token: str) -> LearnerAccount:
    account = use_token(app, session, token, "verify")
    account.email_verified_at = account.email_verified_at or app.now()
    claim(app, session, account)
    return account


def reset_password(app: App, session: Session, token: str, password: str) -> LearnerAccount:
    if len(password) < 10:
        raise DomainError("account.password_short", _("use at least 10 characters"), "password")
    account = use_token(app, session, token, "reset")
    account.password_hash = _hasher.hash(password)
    sessions.end_all(app, session, "learner", account.id)  # whoever had it is signed out
    return account


def sign_in(session: Session, email: str, password: str) -> LearnerAccount | None:
    account = session.scalar(
        select(LearnerAccount).where(LearnerAccount.email == email.strip().lower())
    )
    if account is None:
        _hasher.hash(password)
        return None
    try:
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return account


def passes(report: VerificationReport) -> bool:
    """Verified, with or without warnings: anything else (status unchecked too) is not."""
    return report.verdict in PASSING


# --- identities: the sign-up email once confirmed, the wallet's own DID, and proven others ---


def identities(session: Session, account: LearnerAccount) -> Identities:
    """The account's proven identities, read now (so bindings never go stale)."""
    emails = [account.email] if account.email_verified_at is not None else []
    dids = [f"did:key:{account.holder_public}"]  # the wallet's own key signs presentations
    for row in session.scalars(
        select(LearnerIdentity).where(
            LearnerIdentity.account_id == account.id, LearnerIdentity.verified_at.is_not(None)
        )
    ):
        (emails if row.kind == "email" else dids).append(row.value)
    return Identities.of(emails, dids)


def identity_rows(session: Session, account: LearnerAccount) -> list[LearnerIdentity]:
    """The identities the learner added, proven and pending, newest first."""
    return list(
        session.scalars(
            select(LearnerIdentity)
            .where(LearnerIdentity.account_id == account.id)
            .order_by(LearnerIdentity.id.desc())
        )
    )


def item_binding(entry: WalletItem, mine: Identities) -> Binding:
    """Whether a wallet item is about its holder (``mine``: from :func:`identities`)."""
    try:
        return binding(json.loads(entry.document), mine)
    except ValueError:
        return Binding.UNKNOWN


def add_email(app: App, session: Session, account: LearnerAccount, email: str) -> LearnerIdentity:
    """Start proving a further email: a one-time link goes to that address."""
    email = email.strip().lower()
    if not is_address(email):
        raise DomainError("account.email_invalid", _("enter a valid email address"), "email")
    if email == account.email or email in identities(session, account).emails:
        raise DomainError(
            "identity.known", _("this email is already yours in this wallet"), "email"
        )
    since = app.now() - timedelta(days=1)
    recent = session.scalars(
        select(LearnerIdentity).where(
            LearnerIdentity.account_id == account.id,
            LearnerIdentity.verified_at.is_(None),
            LearnerIdentity.created_at > since,
        )
    ).all()
    if len(recent) >= 5:
        raise DomainError(
            "identity.too_many",
            _("five emails are waiting for proof; try again tomorrow"),
            "email",
        )
    token = secrets.token_urlsafe(32)
    row = AccountToken(
        account_id=account.id,
        purpose="email",
        token_hash=_token_hash(token),
        expires_at=app.now() + TOKEN_TTL["email"],
    )
    session.add(row)
    session.flush()
    identity = LearnerIdentity(
        account_id=account.id, kind="email", value=email, token_id=row.id, created_at=app.now()
    )
    session.add(identity)
    session.flush()
    notify.account_link(app, session, account, "email", token, email)  # after commit
    return identity


def pending_email(app: App, session: Session, account: LearnerAccount, token: str) -> str:
    """The email a link proves, without using it up (the page asks before adding it)."""
    row = session.scalar(select(AccountToken).where(AccountToken.token_hash == _token_hash(token)))
    identity = (
        session.scalar(select(LearnerIdentity).where(LearnerIdentity.token_id == row.id))
        if row is not None
        and row.purpose == "email"
        and row.account_id == account.id
        and row.used_at is None
        and row.expires_at >= app.now()
        else None
    )
    if identity is None:
        raise DomainError("account.token_invalid", _("this link is invalid, used or expired"))
    return identity.value


def confirm_identity_email(
    app: App, session: Session, account: LearnerAccount, token: str
) -> LearnerIdentity:
    """The link was opened by the account that asked for it: the email is now proven."""
    row = _take_token(app, session, token, "email", account.id)
    identity = session.scalar(select(LearnerIdentity).where(LearnerIdentity.token_id == row.id))
    if identity is None:
        raise DomainError("account.token_invalid", _("this link is invalid, used or expired"))
    _prove(app, session, identity)
    return identity


# DID-proof challenges are marked, and the wallet refuses to sign a presentation for a marked
# challenge: otherwise someone could ask a learner to "present" with their own DID-proof
# challenge and paste her wallet's signature to prove her DID as theirs.
DID_PROOF_PREFIX = "microcred-did-proof:"


def did_challenge(app: App, session: Session, account: LearnerAccount) -> str:
    """A random nonce for the learner's DID to sign (stored hashed, 30 minutes, single use)."""
    nonce = DID_PROOF_PREFIX + secrets.token_urlsafe(24)
    session.add(
        AccountToken(
            account_id=account.id,
            purpose="did",
            token_hash=_token_hash(nonce),
            expires_at=app.now() + TOKEN_TTL["did"],
        )
    )
    session.flush()
    return nonce


def prove_did(app: App, session: Session, account: LearnerAccount, text: str) -> LearnerIdentity:
    """Add the DID that signed a Verifiable Presentation for one of the account's challenges,
    with ``domain`` the platform's base URL (what ``microcred prove-did`` makes)."""
    try:
        document = parse_json(text.strip().encode("utf-8"))
    except VcError as exc:
        raise DomainError(
            "identity.did_proof_invalid",
            _("paste the signed presentation (JSON)"),
            "presentation",
        ) from exc
    proofs = document.get("proof") if isinstance(document, dict) else None
    proofs = proofs if isinstance(proofs, list) else [proofs]
    challenges = {p.get("challenge") for p in proofs if isinstance(p, dict)}
    challenge = challenges.pop() if len(challenges) == 1 else None
    if not isinstance(challenge, str) or not challenge:
        raise DomainError(
            "identity.did_proof_invalid",
            _("the presentation carries no challenge: sign the one this page shows"),
            "presentation",
        )
    try:
        _take_token(app, session, challenge, "did", account.id)  # used up when the proof holds
    except DomainError as exc:
        raise DomainError(
            "identity.challenge_invalid",
            _(
                "this challenge is not one we gave you, or it was used or has expired: "
                "get a new one"
            ),
            "presentation",
        ) from exc
    report = verify_presentation(
        document, platform_policy(app), challenge=challenge, domain=app.settings.base_url
    ).presentation
    proof = report.step("proof")
    if not report.verified or proof is None or proof.outcome is not Outcome.PASSED:
        reason = report.failures[0].text() if report.failures else _("it is not signed")
        raise DomainError(
            "identity.did_proof_invalid",
            _("the proof does not verify: %(reason)s") % {"reason": reason},
            "presentation",
        )
    if document.get("verifiableCredential"):
        raise DomainError(
            "identity.did_proof_invalid",
            _("a proof of a DID carries no credentials: sign the challenge alone"),
            "presentation",
        )
    holder = document.get("holder")
    holder = holder.get("id") if isinstance(holder, dict) else holder
    if not isinstance(holder, str) or not holder.startswith("did:") or len(holder) > 500:
        raise DomainError(
            "identity.did_proof_invalid",
            _("the presentation must name your DID as its holder"),
            "presentation",
        )
    for row in identity_rows(session, account):
        if row.kind == "did" and row.value == holder and row.verified_at is not None:
            return row
    identity = LearnerIdentity(
        account_id=account.id, kind="did", value=holder, created_at=app.now()
    )
    session.add(identity)
    session.flush()
    _prove(app, session, identity)
    return identity


def _prove(app: App, session: Session, identity: LearnerIdentity) -> None:
    """Mark proven; an identity proven again moves to the account that proved it last."""
    for other in session.scalars(
        select(LearnerIdentity).where(
            LearnerIdentity.kind == identity.kind,
            LearnerIdentity.value == identity.value,
            LearnerIdentity.verified_at.is_not(None),
            LearnerIdentity.id != identity.id,
        )
    ):
        session.delete(other)
    session.flush()
    identity.verified_at = app.now()
    session.flush()


def remove_identity(session: Session, account: LearnerAccount, identity_id: int) -> None:
    row = session.get(LearnerIdentity, identity_id)
    if row is None or row.account_id != account.id:
        raise NotFound("identity")
    session.delete(row)
    session.flush()


def claim(app: App, session: Session, account: LearnerAccount) -> int:
    """Add every credential issued to the account's proven email whose identity hash matches."""
    if account.email_verified_at is None:
        return 0
    added = 0
    held = (
        select(WalletItem.credential_id)
        .where(WalletItem.account_id == account.id, WalletItem.credential_id.is_not(None))
        .scalar_subquery()
    )
    claimed: list[Credential] = []
    for credential in session.scalars(  # only those not in the wallet yet: each view claims
        select(Credential).where(
            Credential.recipient_email == account.email, Credential.id.not_in(held)
        )
    ):
        if not credential.document:
            continue
        document = json.loads(credential.document)
        identifiers = document.get("credentialSubject", {}).get("identifier") or []
        if not any(
            i.get("identityType") == "emailAddress"
            and IdentityObject.from_json(i).matches_email(account.email)
            for i in identifiers
        ):
            continue
        session.add(
            WalletItem(
                id=str(uuid.uuid4()),
                account_id=account.id,
                source="claimed",
                credential_id=credential.id,
                document=credential.document,
                verified_on_import=True,
                import_report={},
                added_at=app.now(),
                content_digest=verdicts.digest(document),
            )
        )
        added += 1
        claimed.append(credential)
    session.flush()
    if added:
        usage.count_credentials(session, claimed, "claimed", app.now())
        _sweep_later(app, session, account)
    return added


def import_credential(
    app: App, session: Session, account: LearnerAccount, data: bytes
) -> tuple[WalletItem | None, VerifyResult]:
    """Verify and keep an imported credential (kept even when it does not verify, marked so)."""
    return _import_one(app, session, account, data, verify_bytes(data, platform_policy(app)))


def _import_one(
    app: App, session: Session, account: LearnerAccount, data: bytes, result: VerifyResult
) -> tuple[WalletItem | None, VerifyResult]:
    if result.credential is None:
        return None, result  # not a credential at all: nothing to keep
    text = (
        json.dumps(result.credential, ensure_ascii=False)
        if result.source_format != "json"
        else _json_text(data)
    )
    return _keep(app, session, account, text, result), result


def import_any(
    app: App, session: Session, account: LearnerAccount, data: bytes
) -> tuple[list[WalletItem], VerifyResult]:
    """A credential, or a comprehensive record (CLR 2.0) whose credentials are each imported."""
    policy = platform_policy(app)
    result = verify_bytes(data, policy)
    if result.credential is None or not clr.is_clr(result.credential):
        item, result = _import_one(app, session, account, data, result)
        return ([item] if item else []), result
    proof = result.report.step("proof")
    if proof is None or proof.outcome is not Outcome.PASSED:
        failure = result.report.failures[0].text() if result.report.failures else _("unsigned")
        raise DomainError(
            "import.record_invalid",
            _("the record does not verify: %(reason)s") % {"reason": failure},
        )
    embedded, problems = clr.check_record(result.credential)
    if problems:
        raise DomainError(
            "import.record_invalid",
            _("the record is malformed: %(problem)s") % {"problem": problems[0]},
        )
    held = {content_key(json.loads(i.document)) for i in items(session, account)}
    added = []
    for document in embedded:
        if content_key(document) in held:
            continue  # already in the wallet
        held.add(content_key(document))
        text = json.dumps(document, ensure_ascii=False)
        added.append(_keep(app, session, account, text, verify_document(text, policy)))
    return added, result


def _keep(
    app: App, session: Session, account: LearnerAccount, text: str, result: VerifyResult
) -> WalletItem:
    item = WalletItem(
        id=str(uuid.uuid4()),
        account_id=account.id,
        source="imported",
        credential_id=None,
        document=text,
        verified_on_import=passes(result.report),
        import_report=result.to_json(),
        added_at=app.now(),
        content_digest=_digest_of(text),
    )
    session.add(item)
    session.flush()
    _sweep_later(app, session, account)
    return item


def _digest_of(text: str) -> str | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return verdicts.digest(document) if isinstance(document, dict) else None


def digest_of(entry: WalletItem) -> str | None:
    """The item's content digest (stored; worked out for items older than migration 0015)."""
    return entry.content_digest or _digest_of(entry.document)


def _sweep_later(app: App, session: Session, account: LearnerAccount) -> None:
    """A credential arrived: a job looks for pathways it completes (``stacking.sweep``)."""
    jobs.enqueue(
        app,
        session,
        "pathways.sweep",
        queueing_lock=f"pathways.sweep:{account.id}",
        account_id=account.id,
    )


def _json_text(data: bytes) -> str:
    return data.decode("utf-8-sig")


REMOVED = "removed"  # a claimed credential the learner removed: kept empty, not claimed again


def items(session: Session, account: LearnerAccount) -> list[WalletItem]:
    return list(
        session.scalars(
            select(WalletItem)
            .where(WalletItem.account_id == account.id, WalletItem.source != REMOVED)
            .order_by(WalletItem.added_at.desc())
        )
    )


def item(session: Session, account: LearnerAccount, item_id: str) -> WalletItem:
    found = session.get(WalletItem, item_id)
    if found is None or found.account_id != account.id or found.source == REMOVED:
        raise NotFound("credential")
    return found


def remove_item(session: Session, account: LearnerAccount, item_id: str) -> None:
    """Remove a credential from the wallet (and from the learner's public links). One issued
    here stays as an empty marker, so claiming does not bring it back."""
    entry = item(session, account, item_id)
    for link in shares(session, account):
        if entry.id in link.item_ids:
            link.item_ids = [i for i in link.item_ids if i != entry.id]
    if entry.credential_id is None:
        session.delete(entry)
    else:
        entry.source, entry.document, entry.import_report = REMOVED, "", {}
        entry.verified_on_import = False
    session.flush()


def item_name(entry: WalletItem) -> str:
    try:
        document = json.loads(entry.document)
        subject = document.get("credentialSubject")
        subject = subject[0] if isinstance(subject, list) and subject else subject
        achievement = subject.get("achievement") if isinstance(subject, dict) else None
        name = achievement.get("name") if isinstance(achievement, dict) else None
        return str(name or document.get("name") or "Credential")
    except (ValueError, AttributeError):
        return "Credential"


def bound_items(
    session: Session, account: LearnerAccount, entries: list[WalletItem]
) -> list[WalletItem]:
    """The entries about the account's holder: what may be shown or presented as theirs."""
    mine = identities(session, account)
    return [e for e in entries if item_binding(e, mine) is Binding.HOLDER]


def create_share(
    app: App,
    session: Session,
    account: LearnerAccount,
    item_ids: list[str],
    title: str,
    expires_in_days: int | None,
) -> ShareLink:
    if not item_ids:
        raise DomainError("share.empty", _("choose at least one credential to share"), "items")
    chosen = [item(session, account, item_id) for item_id in item_ids]  # the learner's own
    mine = identities(session, account)
    for entry in chosen:
        if item_binding(entry, mine) is not Binding.HOLDER:
            raise DomainError(
                "share.not_yours",
                _(
                    "“%(name)s” is not bound to you: it names someone else, or no "
                    "recipient you have proven. A public link shows only your own credentials; "
                    "prove the email or DID it was issued to under Identities first."
                )
                % {"name": item_name(entry)},
                "items",
            )
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise DomainError("share.expiry_invalid", _("an expiry is 1 to 3650 days"), "expires")
    link = ShareLink(
        account_id=account.id,
        token=secrets.token_urlsafe(24),
        title=title.strip() or "My credentials",
        item_ids=list(dict.fromkeys(item_ids)),
        expires_at=app.now() + timedelta(days=expires_in_days) if expires_in_days else None,
        created_at=app.now(),
    )
    session.add(link)
    session.flush()
    ours = [e.credential_id for e in {e.id: e for e in chosen}.values() if e.credential_id]
    usage.count_credentials(
        session, session.scalars(select(Credential).where(Credential.id.in_(ours))), "shared",
        app.now(),
    )  # fmt: skip
    return link


def revoke_share(app: App, session: Session, account: LearnerAccount, share_id: int) -> None:
    link = session.get(ShareLink, share_id)
    if link is None or link.account_id != account.id:
        raise NotFound("link")
    link.revoked_at = link.revoked_at or app.now()


def shares(session: Session, account: LearnerAccount) -> list[ShareLink]:
    return list(
        session.scalars(
            select(ShareLink)
            .where(ShareLink.account_id == account.id)
            .order_by(ShareLink.id.desc())
        )
    )


def open_share(app: App, session: Session, token: str) -> tuple[ShareLink, list[WalletItem]]:
    link = session.scalar(select(ShareLink).where(ShareLink.token == token))
    if (
        link is None
        or link.revoked_at is not None
        or (link.expires_at and link.expires_at < app.now())
    ):
        raise NotFound("shared page")
    account = session.get(LearnerAccount, link.account_id)
    found = [session.get(WalletItem, i) for i in link.item_ids]
    kept = [i for i in found if i is not None and i.source != REMOVED]
    # only what is about the holder now: an identity removed since takes its credentials along
    return link, bound_items(session, account, kept) if account is not None else []


def presentation(
    app: App,
    session: Session,
    account: LearnerAccount,
    chosen: list[WalletItem],
    challenge: str,
    domain: str | None,
) -> dict[str, Any]:
    """Signed by the wallet's own key (did:key): only credentials about the learner, and of
    those naming a subject DID, only the ones naming that key (no other key is held here)."""
    if not challenge.strip():
        raise DomainError(
            "presentation.challenge_missing",
            _("the verifier's challenge is required"),
            "challenge",
        )
    if challenge.strip().startswith(DID_PROOF_PREFIX):
        raise DomainError(
            "presentation.challenge_refused",
            _(
                "this challenge asks to prove a DID to a microcred wallet, not to present "
                "credentials: whoever gave it to you would take your wallet's DID as theirs"
            ),
            "challenge",
        )
    holder = f"did:key:{account.holder_public}"
    mine = identities(session, account)
    for entry in chosen:
        if item_binding(entry, mine) is not Binding.HOLDER:
            raise DomainError(
                "presentation.not_yours",
                _("“%(name)s” is not bound to you: it cannot be presented as yours")
                % {"name": item_name(entry)},
                "items",
            )
        dids = subject_dids(json.loads(entry.document))
        if dids and holder not in dids:
            raise DomainError(
                "presentation.other_did",
                _(
                    "“%(name)s” is issued to %(did)s: present it signed with that "
                    "DID's own key, not the wallet's"
                )
                % {"name": item_name(entry), "did": dids[0]},
                "items",
            )
    return sign_presentation(
        [json.loads(i.document) for i in chosen],
        holder_key(app, account),
        challenge=challenge.strip(),
        domain=(domain or "").strip() or None,
        created=app.now(),
    )


def export_zip(session: Session, account: LearnerAccount) -> bytes:
    """Everything the platform holds about the learner, as JSON, plus each credential file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        profile = {
            "name": account.name,
            "email": account.email,
            "email_verified_at": account.email_verified_at.isoformat()
            if account.email_verified_at
            else None,
            "created_at": account.created_at.isoformat(),
            "holder": f"did:key:{account.holder_public}",
            "identities": [
                {
                    "kind": i.kind,
                    "value": i.value,
                    "verified_at": i.verified_at.isoformat() if i.verified_at else None,
                }
                for i in identity_rows(session, account)
            ],
        }
        archive.writestr("account.json", json.dumps(profile, indent=2))
        listing = []
        mine = identities(session, account)
        for entry in items(session, account):
            archive.writestr(f"credentials/{entry.id}.json", entry.document)
            listing.append(
                {
                    "id": entry.id,
                    "about_you": item_binding(entry, mine) is Binding.HOLDER,
                    "source": entry.source,
                    "added_at": entry.added_at.isoformat(),
                    "verified_on_import": entry.verified_on_import,
                }
            )
        archive.writestr("wallet.json", json.dumps(listing, indent=2))
        archive.writestr(
            "shares.json",
            json.dumps(
                [
                    {
                        "title": s.title,
                        "created_at": s.created_at.isoformat(),
                        "expires_at": s.expires_at.isoformat() if s.expires_at else None,
                        "revoked": s.revoked_at is not None,
                        "credentials": s.item_ids,
                    }
                    for s in shares(session, account)
                ],
                indent=2,
            ),
        )
        _export_rpl(session, account, archive)
    return buffer.getvalue()


def _export_rpl(session: Session, account: LearnerAccount, archive: zipfile.ZipFile) -> None:
    """The learner's RPL applications: what they wrote, their evidence (files included) and
    every decision and reply, with the micro-credential applied for."""
    applications = session.scalars(
        select(RplApplication)
        .where(RplApplication.account_id == account.id)
        .order_by(RplApplication.id)
    ).all()
    written = []
    for application in applications:
        definition = session.get(Definition, application.definition_id)
        evidence = session.scalars(
            select(RplEvidence)
            .where(RplEvidence.application_id == application.id)
            .order_by(RplEvidence.id)
        ).all()
        decisions = session.scalars(
            select(RplDecision)
            .where(RplDecision.application_id == application.id)
            .order_by(RplDecision.id)
        ).all()
        for e in evidence:
            if e.content is not None:
                archive.writestr(
                    f"rpl/{application.id}/evidence-{e.id}-{_safe_name(e.name)}", e.content
                )
        written.append(
            {
                "id": application.id,
                "micro_credential": definition.title if definition is not None else None,
                "state": application.state,
                "created_at": application.created_at.isoformat(),
                "narrative": application.narrative,
                "credential_id": application.credential_id,
                "evidence": [
                    {"kind": e.kind, "name": e.name, "url": e.url, "media_type": e.media_type,
                     "added_at": e.added_at.isoformat(),
                     "file": f"rpl/{application.id}/evidence-{e.id}-{_safe_name(e.name)}"
                     if e.content is not None else None}
                    for e in evidence
                ],
                "decisions": [
                    {"by": d.actor, "action": d.action, "message": d.message,
                     "criteria": d.criteria, "at": d.at.isoformat()}
                    for d in decisions
                ],
            }
        )  # fmt: skip
    archive.writestr("rpl.json", json.dumps(written, indent=2, ensure_ascii=False))


def _safe_name(name: str) -> str:
    """A file name for the archive: letters, digits, dot, dash and underscore."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80] or "file"


def delete_account(app: App, session: Session, account: LearnerAccount, password: str) -> None:
    """Erase the learner's personal data. Issued credentials stay verifiable by whoever holds
    them (their status-list bits are untouched); the platform keeps no copy of who they are."""
    try:
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError) as exc:
        raise DomainError(
            "account.password_wrong", _("the password is not right"), "password"
        ) from exc
    claimed = [  # removed ones too: their credentials are about this learner
        i.credential_id
        for i in session.scalars(select(WalletItem).where(WalletItem.account_id == account.id))
        if i.credential_id
    ]
    email = account.email
    tombstone = f"{ERASED}:{hashlib.sha256(email.encode()).hexdigest()[:16]}"
    erased = {"credentials": 0, "learners": 0}
    for credential in session.scalars(
        select(Credential).where((Credential.recipient_email == email) | Credential.id.in_(claimed))
    ):
        credential.recipient_name = ERASED
        credential.recipient_email = tombstone
        credential.document = ""
        erased["credentials"] += 1
    for learner in session.scalars(select(Learner).where(Learner.email == email)):
        learner.name = ERASED
        learner.email = f"{tombstone}:{learner.provider_id}"
        erased["learners"] += 1
    for model in (LearnerIdentity, ShareLink, WalletItem, AccountToken):
        session.execute(delete(model).where(model.account_id == account.id))
    sessions.end_all(app, session, "learner", account.id)
    session.delete(account)
    session.flush()
    audit.record(
        session, audit.PLATFORM, audit.actor_of(account), "account.erased", account.id, erased
    )


def get_account(session: Session, account_id: int) -> LearnerAccount | None:
    """A wallet account by id (the signed-in learner), or None."""
    return session.get(LearnerAccount, account_id)


def account_by_email(session: Session, email: str) -> LearnerAccount | None:
    """A wallet account by its sign-in email, or None."""
    return session.scalar(
        select(LearnerAccount).where(LearnerAccount.email == email.strip().lower())
    )


def claim_now(app: App, account_id: int) -> None:
    """Claim newly issued credentials in a write transaction of its own (a GET's own
    transaction is read-only)."""
    with transaction(app.sessions) as write:
        held = write.get(LearnerAccount, account_id)
        if held is not None:
            claim(app, write, held)
