"""The learner's comprehensive record: a signed CLR 2.0 ``ClrCredential`` of their wallet.

Only credentials that verify now (signature, issuer, dates, status, trust where the policy checks
it) go in; the others are reported back, never silently dropped. The record is signed by the
platform's own did:web identity (the one that signs the trust registry): the platform attests that
the learner held these credentials, verified, at this moment. Each credential inside keeps its
issuer's proof, so a verifier checks every one on its own.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import LearnerAccount
from microcred.domain.errors import DomainError
from microcred.domain.holder import Binding
from microcred.i18n import _
from microcred.services import wallet
from microcred.services.app import App
from microcred.services.keys import active_key, provider_did
from microcred.services.trust import platform_signer
from microcred.services.verification import platform_policy, verify_document
from microcred.vc import clr
from microcred.vc.credential import sign_credential
from microcred.vc.jsonsafe import DEFAULT_MAX_BYTES
from microcred.vc.model import IdentityObject


@dataclass(frozen=True, slots=True)
class Left:
    """A chosen credential left out of the record, and why."""

    item_id: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Record:
    document: dict[str, Any]
    included: int
    left_out: list[Left]

    def to_bytes(self) -> bytes:
        return _bytes(self.document)


def _bytes(document: dict[str, Any]) -> bytes:
    """A record as written: compact JSON (a record is for machines; it holds whole credentials)."""
    return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


# what a proof adds to a record, with room to spare
_PROOF_BYTES = 1024


def build(
    app: App, session: Session, account: LearnerAccount, item_ids: list[str] | None = None
) -> Record:
    """Sign a record of the chosen wallet items (all of them when ``item_ids`` is None).

    Credentials issued here to the learner's proven email are claimed first, so "all" means all.
    """
    wallet.claim(app, session, account)
    everything = wallet.items(session, account)
    if item_ids is None:
        chosen = everything
    else:
        wanted = set(item_ids)
        chosen = [i for i in everything if i.id in wanted]
        unknown = wanted - {i.id for i in chosen}
        if unknown:
            raise DomainError(
                "record.unknown_item",
                _("one of the chosen credentials is not in your wallet"),
                "items",
            )
    # the signing key first: a wrong MICROCRED_KEK is reported as such, before any verification
    # (which would otherwise fail closed on status lists the same key signs)
    signer = platform_signer(app, session)
    did = provider_did(app, signer)
    key_row, key_pair = active_key(app, session, signer)
    policy = platform_policy(app)
    mine = wallet.identities(session, account)
    held: list[clr.Held] = []
    left: list[Left] = []
    for item in chosen:
        result = verify_document(item.document, policy)
        document = result.credential or {}
        name = str((clr.achievement_of(document) or {}).get("name") or document.get("name", ""))
        if wallet.item_binding(item, mine) is not Binding.HOLDER:
            left.append(Left(item.id, name, _("not bound to you: it names someone else")))
        elif clr.is_clr(document):
            left.append(Left(item.id, name, _("a record cannot hold another record")))
        elif not wallet.passes(result.report):
            failures = result.report.failures
            reason = failures[0].text() if failures else result.report.headline_text()
            left.append(Left(item.id, name, reason))
        else:
            held.append(clr.Held(item.document.encode("utf-8"), document))
    if not held:
        raise DomainError(
            "record.empty",
            _(
                "none of the chosen credentials verifies now; a record holds only credentials "
                "that verify"
            ),
            "items",
        )
    if len(held) > clr.MAX_CREDENTIALS:
        raise DomainError(
            "record.too_many",
            _(
                "a record holds at most %(most)s credentials (%(chosen)s chosen verify); "
                "choose fewer"
            )
            % {"most": clr.MAX_CREDENTIALS, "chosen": len(held)},
            "items",
        )
    moment = app.now()
    unsigned = clr.build_record(
        record_id=f"urn:uuid:{uuid.uuid4()}",
        issuer={
            "id": did,
            "type": ["Profile"],
            "name": f"microcred at {app.settings.host}",
            "url": app.settings.base_url,
        },
        name=f"Comprehensive learner record: {account.name}",
        description=(
            f"{len(held)} verified credential{'s' if len(held) != 1 else ''} held by "
            f"{account.name}, checked by {app.settings.host} on {moment:%Y-%m-%d}."
        ),
        identifier=[IdentityObject.for_email(account.email).to_json()],
        held=held,
        valid_from=moment,
        partial=len(held) < len(everything),
        subject_id=wallet.holder_key(app, account).public.did_key,
    )
    size = len(_bytes(unsigned)) + _PROOF_BYTES
    if size > DEFAULT_MAX_BYTES:  # never write what a verifier (ours) refuses to read
        fit = max(1, len(held) * DEFAULT_MAX_BYTES // size)
        raise DomainError(
            "record.too_large",
            _(
                "a record of these %(num)s credentials would be %(size)s MiB; verifiers read "
                "records of up to %(most)s MiB: choose at most about %(fit)s"
            )
            % {
                "num": len(held),
                "size": f"{size / 2**20:.1f}",
                "most": DEFAULT_MAX_BYTES // 2**20,
                "fit": fit,
            },
            "items",
        )
    document = sign_credential(
        unsigned,
        key_pair,
        created=moment,
        verification_method=f"{did}#{key_row.fragment}",
        controller=did,
    )
    return Record(document, len(held), left)


def build_for_email(app: App, email: str, item_ids: list[str] | None) -> Record | None:
    """:func:`build` for a wallet by email, in a transaction of its own (None: no such wallet)."""
    with transaction(app.sessions) as session:
        account = wallet.account_by_email(session, email)
        if account is None:
            return None
        return build(app, session, account, item_ids)
