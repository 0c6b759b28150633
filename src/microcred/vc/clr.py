"""1EdTech Comprehensive Learner Record 2.0: the ``ClrCredential``.

Spec: https://www.imsglobal.org/spec/clr/v2p0/ (context 2.0.1, vendored; see ADR 0013).

A CLR is a Verifiable Credential whose subject (``ClrSubject``) carries the learner's credentials
by value (``verifiableCredential``, each keeping its own proof), the achievements they are for
(``achievement``) and how those achievements relate (``association``). microcred writes one
association per stacked component: the component's achievement ``isPartOf`` the
macro-credential's achievement, and only when the macro-credential's ``relatedResource`` names the
component by id *and* by the digest of the component's exact bytes.

Verifying a CLR verifies its own proof and then each embedded credential on its own (see
``verify.py``, step ``components``); :func:`check_record` checks the record's shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from microcred.i18n import N_
from microcred.vc.digest import digest_multibase
from microcred.vc.loader import OB_V3P0_303, VC_V2
from microcred.vc.message import Message
from microcred.vc.proofs import format_datetime

CLR_V2P0_201 = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
CONTEXTS = (VC_V2, CLR_V2P0_201, OB_V3P0_303)
ASSOCIATION_TYPES = frozenset(
    {
        "exactMatchOf",
        "isChildOf",
        "isParentOf",
        "isPartOf",
        "isPeerOf",
        "isRelatedTo",
        "precedes",
        "replacedBy",
    }
)
PART_OF = "isPartOf"
# Each credential in a record is verified on its own (DID documents and status lists fetched): a
# bound keeps one verification request from turning into thousands of fetches.
MAX_CREDENTIALS = 250


@dataclass(frozen=True, slots=True)
class Held:
    """One credential going into a record: its exact bytes and the parsed document."""

    data: bytes
    document: Mapping[str, Any]


def is_clr(document: Mapping[str, Any]) -> bool:
    types = document.get("type")
    return "ClrCredential" in (types if isinstance(types, list) else [types])


def achievement_of(document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    if not isinstance(subject, Mapping):
        return None
    found = subject.get("achievement")
    return found if isinstance(found, Mapping) and isinstance(found.get("id"), str) else None


def part_of_associations(held: Sequence[Held]) -> list[dict[str, Any]]:
    """``isPartOf`` associations for every component whose exact bytes a macro-credential in
    ``held`` names (by credential id and ``digestMultibase``)."""
    by_digest = {digest_multibase(h.data): h.document for h in held}
    associations: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for macro in held:
        target = achievement_of(macro.document)
        related = macro.document.get("relatedResource") or []
        if target is None or not isinstance(related, list):
            continue
        for resource in related:
            if not isinstance(resource, Mapping):
                continue
            component = by_digest.get(str(resource.get("digestMultibase")))
            if component is None or component.get("id") != resource.get("id"):
                continue
            source = achievement_of(component)
            if source is None or (source["id"], target["id"]) in seen:
                continue
            seen.add((source["id"], target["id"]))
            associations.append(
                {
                    "type": "Association",
                    "associationType": PART_OF,
                    "sourceId": source["id"],
                    "targetId": target["id"],
                }
            )
    return associations


def build_record(
    *,
    record_id: str,
    issuer: Mapping[str, Any],
    name: str,
    description: str,
    identifier: Sequence[Mapping[str, Any]],
    held: Sequence[Held],
    valid_from: datetime,
    partial: bool,
    subject_id: str | None = None,
) -> dict[str, Any]:
    """An unsigned ``ClrCredential`` holding ``held`` (in order) with their achievements and
    the ``isPartOf`` associations between them."""
    if not held:
        raise ValueError("a comprehensive learner record needs at least one credential")
    achievements: dict[str, Mapping[str, Any]] = {}
    for item in held:
        found = achievement_of(item.document)
        if found is not None:
            achievements.setdefault(found["id"], found)
    subject: dict[str, Any] = {"id": subject_id} if subject_id else {}
    subject |= {
        "type": ["ClrSubject"],
        "identifier": [dict(i) for i in identifier],
        "achievement": list(achievements.values()),
        "verifiableCredential": [dict(item.document) for item in held],
    }
    associations = part_of_associations(held)
    if associations:
        subject["association"] = associations
    return {
        "@context": list(CONTEXTS),
        "id": record_id,
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": dict(issuer),
        "name": name,
        "description": description,
        "partial": partial,
        "validFrom": format_datetime(valid_from),
        "credentialSubject": subject,
    }


def check_record(document: Mapping[str, Any]) -> tuple[list[Any], list[str]]:
    """The embedded credentials and the problems with the record's shape (empty when sound):
    a ClrSubject with at least one credential, no record nested in a record, and associations of
    a known type between achievements the record holds. Problems are
    :class:`~microcred.vc.message.Message` (English text that can be translated)."""
    subject = document.get("credentialSubject")
    if not isinstance(subject, Mapping):
        return [], [Message(N_("credentialSubject must be one ClrSubject object"))]
    embedded = subject.get("verifiableCredential")
    embedded = embedded if isinstance(embedded, list) else [embedded] if embedded else []
    problems: list[str] = []
    if not embedded:
        problems.append(
            Message(N_("the record holds no credential (verifiableCredential is empty)"))
        )
    if len(embedded) > MAX_CREDENTIALS:
        problems.append(
            Message(
                N_(
                    "the record holds %(num)d credentials; microcred verifies records of at "
                    "most %(maximum)d"
                ),
                num=len(embedded),
                maximum=MAX_CREDENTIALS,
            )
        )
        return embedded, problems
    known = set()
    for position, item in enumerate(embedded):
        if not isinstance(item, Mapping):
            problems.append(
                Message(
                    N_("verifiableCredential[%(position)d] is not a credential object"),
                    position=position,
                )
            )
            continue
        if is_clr(item):
            problems.append(
                Message(
                    N_("verifiableCredential[%(position)d] is itself a record"), position=position
                )
            )
        found = achievement_of(item)
        if found is not None:
            known.add(found["id"])
    for item in subject.get("achievement") or []:
        if isinstance(item, Mapping) and isinstance(item.get("id"), str):
            known.add(item["id"])
    associations = subject.get("association") or []
    for position, item in enumerate(associations if isinstance(associations, list) else []):
        if not isinstance(item, Mapping):
            problems.append(
                Message(N_("association[%(position)d] is not an object"), position=position)
            )
            continue
        if item.get("associationType") not in ASSOCIATION_TYPES:
            problems.append(
                Message(
                    N_("association[%(position)d] has an unknown associationType %(type)s"),
                    position=position,
                    type=repr(item.get("associationType")),
                )
            )
        for end in ("sourceId", "targetId"):
            if item.get(end) not in known:
                problems.append(
                    Message(
                        N_(
                            "association[%(position)d].%(end)s %(value)s names no achievement "
                            "in the record"
                        ),
                        position=position,
                        end=end,
                        value=repr(item.get(end)),
                    )
                )

    return embedded, problems
