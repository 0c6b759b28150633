"""Provider signing keys: sealed at rest with the key-encryption key, rotated, published.

A secret is sealed with AES-256-GCM under the KEK from configuration; the associated data binds
it to its provider, fragment and public key, so a sealed secret copied to another row does not
open. Secrets never leave this module except as a :class:`KeyPair` in memory.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from microcred.db.tables import Provider, SigningKey, Staff
from microcred.domain.errors import DomainError
from microcred.i18n import _
from microcred.services import audit, jobs, verdicts
from microcred.services.app import App
from microcred.vc.did_web import ListedKey, build_did_document, did_web_from_url
from microcred.vc.multikey import KeyPair, PublicKey


def provider_did(app: App, provider: Provider) -> str:
    return did_web_from_url(app.settings.host, ["providers", provider.slug])


def provider_did_prefix(app: App) -> str:
    """What every provider's did:web on this platform starts with (the slug follows)."""
    return did_web_from_url(app.settings.host, ["providers", "x"])[:-1]


def did_document_url(app: App, provider: Provider) -> str:
    return f"{app.settings.base_url}/providers/{provider.slug}/did.json"


def _aad(provider: Provider, fragment: str, public: str) -> bytes:
    return f"{provider.slug}#{fragment}|{public}".encode()


def seal(app: App, provider: Provider, fragment: str, key: KeyPair) -> bytes:
    nonce = os.urandom(12)
    secret = key.secret_multibase().encode("ascii")
    aad = _aad(provider, fragment, key.public.multibase)
    return nonce + AESGCM(app.settings.kek).encrypt(nonce, secret, aad)


def unseal(app: App, provider: Provider, row: SigningKey) -> KeyPair:
    aad = _aad(provider, row.fragment, row.public_multibase)
    try:
        secret = AESGCM(app.settings.kek).decrypt(
            row.sealed_secret[:12], row.sealed_secret[12:], aad
        )
    except InvalidTag as exc:
        raise DomainError(
            "keys.wrong_kek",
            _(
                "the signing key %(key)s of %(provider)s cannot be opened: "
                "MICROCRED_KEK is not the key-encryption key it was sealed with"
            )
            % {"key": row.fragment, "provider": provider.slug},
        ) from exc
    key = KeyPair.from_secret_multibase(secret.decode("ascii"))
    if key.public.multibase != row.public_multibase:
        raise DomainError("keys.corrupt", _("a stored key does not match its public key"))
    return key


def add_key(app: App, session: Session, provider: Provider, by: Staff | None = None) -> SigningKey:
    """A new active key; earlier keys are retired but stay in the DID document."""
    keys = session.scalars(
        select(SigningKey).where(SigningKey.provider_id == provider.id).with_for_update()
    ).all()
    now = app.now()
    for row in keys:
        if row.active:
            row.active = False
            row.retired_at = now
    fragment = f"key-{len(keys) + 1}"
    key = KeyPair.generate()
    row = SigningKey(
        provider_id=provider.id,
        fragment=fragment,
        public_multibase=key.public.multibase,
        sealed_secret=seal(app, provider, fragment, key),
        active=True,
        created_at=now,
    )
    session.add(row)
    session.flush()
    verdicts.changed(session, [provider.id])  # its DID document changed (ADR 0022)
    data = {"fragment": fragment, "public": row.public_multibase, "keys": len(keys) + 1}
    if keys:
        # every list re-signed with the new key, by a job (a provider may have many lists;
        # until it runs, a read re-signs a list whose stored copy names the old key)
        jobs.enqueue(
            app,
            session,
            "status.republish",
            queueing_lock=f"status.republish:{provider.id}",
            provider_id=provider.id,
        )
    audit.log(session, provider.id, by, "key.rotated" if keys else "key.created", row.id, data)
    return row


def active_row(session: Session, provider: Provider) -> SigningKey:
    """The provider's active key as stored (its public half; nothing is decrypted)."""
    row = session.scalars(
        select(SigningKey).where(SigningKey.provider_id == provider.id, SigningKey.active)
    ).first()
    if row is None:
        raise DomainError("keys.none", _("the provider has no active signing key"))
    return row


def active_key(app: App, session: Session, provider: Provider) -> tuple[SigningKey, KeyPair]:
    row = active_row(session, provider)
    return row, unseal(app, provider, row)


def list_keys(session: Session, provider: Provider) -> list[SigningKey]:
    return list(
        session.scalars(
            select(SigningKey)
            .where(SigningKey.provider_id == provider.id)
            .order_by(SigningKey.id.desc())
        )
    )


def did_document(app: App, session: Session, provider: Provider) -> dict[str, Any]:
    keys = [
        ListedKey(k.fragment, PublicKey.from_multibase(k.public_multibase), k.active)
        for k in list_keys(session, provider)
    ]
    return build_did_document(provider_did(app, provider), keys)
