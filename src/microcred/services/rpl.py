"""Recognition of prior learning (RPL): a learner applies for a published micro-credential with
evidence; an assessor reviews it against the same criteria as the course route, per criterion, and
accepts, asks for more (the learner answers), or rejects with reasons. Every step is kept. An
accepted application issues the same micro-credential, its result marked as achieved through RPL,
with the evidence listed and the assessor and date recorded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import (
    Definition,
    LearnerAccount,
    RplApplication,
    RplDecision,
    RplEvidence,
    Staff,
    WalletItem,
)
from microcred.domain.assessment import OutcomeResult
from microcred.domain.errors import DomainError, NotFound
from microcred.i18n import N_, _
from microcred.services import audit, definitions, notify
from microcred.services.app import App
from microcred.services.issuing import Award, issue
from microcred.services.providers import require

RPL_GENRE = "Recognition of prior learning"
MAX_FILE = 5 * 1024 * 1024
OPEN_STATES = ("submitted", "more_requested")
# An application's states (``RplApplication.state``) in words, marked for translation; pages show
# ``_(STATE_WORDS[state])`` (the code stays in CSS classes and ids).
STATE_WORDS = {
    "submitted": N_("submitted"),
    "more_requested": N_("more information requested"),
    "accepted": N_("accepted"),
    "rejected": N_("rejected"),
}


def apply(
    app: App,
    session: Session,
    account: LearnerAccount,
    *,
    definition_id: int,
    narrative: str,
    links: Sequence[str] = (),
    files: Sequence[tuple[str, bytes, str]] = (),
    wallet_items: Sequence[str] = (),
) -> RplApplication:
    row = session.get(Definition, definition_id)
    if row is None or row.state != "published":
        raise NotFound("micro-credential")
    if not narrative.strip():
        raise DomainError(
            "rpl.narrative_missing", _("describe the learning you want recognised"), "narrative"
        )
    application = RplApplication(
        account_id=account.id,
        provider_id=row.provider_id,
        definition_id=row.id,
        narrative=narrative.strip(),
        state="submitted",
        created_at=app.now(),
    )
    session.add(application)
    session.flush()
    add_evidence(
        app, session, account, application, links=links, files=files, wallet_items=wallet_items
    )
    return application


def add_evidence(
    app: App,
    session: Session,
    account: LearnerAccount,
    application: RplApplication,
    *,
    links: Sequence[str] = (),
    files: Sequence[tuple[str, bytes, str]] = (),
    wallet_items: Sequence[str] = (),
) -> None:
    if application.account_id != account.id:
        raise NotFound("application")
    for link in (link.strip() for link in links):
        if not link:
            continue
        if not link.startswith(("https://", "http://")):
            raise DomainError(
                "rpl.link_invalid", _("not a web link: %(link)s") % {"link": repr(link)}, "links"
            )
        session.add(
            RplEvidence(
                application_id=application.id,
                kind="link",
                name=link[:300],
                url=link,
                added_at=app.now(),
            )
        )
    for name, data, media_type in files:
        if len(data) > MAX_FILE:
            raise DomainError(
                "rpl.file_too_large", _("%(name)s is larger than 5 MiB") % {"name": name}, "files"
            )
        session.add(
            RplEvidence(
                application_id=application.id,
                kind="file",
                name=name[:300],
                content=data,
                media_type=media_type[:100],
                added_at=app.now(),
            )
        )
    for item_id in wallet_items:
        item = session.get(WalletItem, item_id)
        if item is None or item.account_id != account.id or not item.document:
            raise NotFound("credential")  # not the learner's, or removed from the wallet
        document = json.loads(item.document)
        title = (
            document.get("credentialSubject", {}).get("achievement", {}).get("name", "Credential")
        )
        session.add(
            RplEvidence(
                application_id=application.id,
                kind="credential",
                name=f"Credential: {title}"[:300],
                url=str(document.get("id", "")),
                content=item.document.encode("utf-8"),
                media_type="application/vc",
                added_at=app.now(),
            )
        )
    session.flush()


def reply(
    app: App,
    session: Session,
    account: LearnerAccount,
    application_id: int,
    message: str,
    **evidence: Any,
) -> RplApplication:
    application = get_for_learner(session, account, application_id)
    if application.state != "more_requested":
        raise DomainError("rpl.not_waiting", _("the assessor has not asked for more"))
    add_evidence(app, session, account, application, **evidence)
    session.add(
        RplDecision(
            application_id=application.id,
            actor="learner",
            action="reply",
            message=message.strip(),
            criteria=[],
            at=app.now(),
        )
    )
    application.state = "submitted"
    session.flush()
    return application


def decide(
    app: App,
    session: Session,
    staff: Staff,
    application_id: int,
    action: str,
    message: str,
    criteria: dict[str, bool] | None = None,
) -> RplApplication:
    """``request_more``, ``reject`` (both need a message) or ``accept`` (every criterion met)."""
    require(staff, "assess")
    application = get_for_staff(session, staff, application_id, lock=True)
    if application.state not in OPEN_STATES:
        raise DomainError("rpl.closed", _("this application has been decided"))
    row = session.get(Definition, application.definition_id)
    assert row is not None
    outcomes = definitions.data_of(row).learning_outcomes
    results = [
        {
            "outcome_id": o.id,
            "statement": o.statement,
            "criterion": o.criterion,
            "met": bool((criteria or {}).get(o.id)),
        }
        for o in outcomes
    ]
    if action in ("request_more", "reject") and not message.strip():
        raise DomainError("rpl.reason_required", _("give the learner your reasons"), "message")
    if action == "accept":
        require(staff, "issue")
        unmet = [str(r["statement"]) for r in results if not r["met"]]
        if unmet:
            raise DomainError(
                "rpl.criteria_unmet",
                _("not every criterion is met: %(unmet)s") % {"unmet": "; ".join(unmet)},
            )
    elif action not in ("request_more", "reject"):
        raise DomainError(
            "rpl.action_invalid", _("unknown action %(action)s") % {"action": repr(action)}
        )
    session.add(
        RplDecision(
            application_id=application.id,
            actor="assessor",
            assessor_id=staff.id,
            action=action,
            message=message.strip(),
            criteria=results,
            at=app.now(),
        )
    )
    if action == "request_more":
        application.state = "more_requested"
    elif action == "reject":
        application.state = "rejected"
    else:
        _issue(app, session, staff, application, outcomes)
        application.state = "accepted"
    session.flush()
    data = {"decision": action, "credential_id": application.credential_id}
    audit.log(session, application.provider_id, staff, "rpl.decided", application.id, data)
    notify.rpl_decision(app, session, application, action, message)  # after commit
    return application


def _issue(
    app: App, session: Session, staff: Staff, application: RplApplication, outcomes: Any
) -> None:
    account = (
        session.get(LearnerAccount, application.account_id) if application.account_id else None
    )
    if account is None:
        raise DomainError("rpl.learner_gone", _("the learner's account no longer exists"))
    evidence = [
        {
            "id": e.url if e.kind in ("link", "credential") and e.url else None,
            "type": ["Evidence"],
            "name": e.name,
            "genre": RPL_GENRE,
            "description": {
                "link": "Web link",
                "file": "File submitted by the learner",
                "credential": "Credential held by the learner",
            }[e.kind],
        }
        for e in evidence_of(session, application)
    ]
    evidence.insert(
        0,
        {
            "type": ["Evidence"],
            "name": "Recognition of prior learning",
            "genre": RPL_GENRE,
            "narrative": application.narrative,
            "description": (
                f"Assessed by {staff.name} on {app.now().date().isoformat()} against the same "
                "criteria as the course route"
            ),
        },
    )
    credential = issue(
        app,
        session,
        staff,
        Award(
            definition_id=application.definition_id,
            name=account.name,
            email=account.email,
            results=[OutcomeResult(o.id, True) for o in outcomes],
            idempotency_key=f"rpl:{application.id}",
            extra={"evidence": [{k: v for k, v in e.items() if v is not None} for e in evidence]},
        ),
        notify_learner=False,  # the decision's email says it
    )
    application.credential_id = credential.id


def is_rpl(document: dict[str, Any]) -> bool:
    """Whether a credential was awarded through recognition of prior learning."""
    return any(
        isinstance(e, dict) and e.get("genre") == RPL_GENRE for e in document.get("evidence") or []
    )


def evidence_of(session: Session, application: RplApplication) -> list[RplEvidence]:
    return list(
        session.scalars(
            select(RplEvidence)
            .where(RplEvidence.application_id == application.id)
            .order_by(RplEvidence.id)
        )
    )


def applicants(session: Session, applications: list[RplApplication]) -> dict[int, LearnerAccount]:
    """Who applied (the learner accounts), by account id: reviewers see whom they assess."""
    ids = {a.account_id for a in applications if a.account_id}
    if not ids:
        return {}
    rows = session.scalars(select(LearnerAccount).where(LearnerAccount.id.in_(ids)))
    return {account.id: account for account in rows}


def decisions_of(session: Session, application: RplApplication) -> list[RplDecision]:
    return list(
        session.scalars(
            select(RplDecision)
            .where(RplDecision.application_id == application.id)
            .order_by(RplDecision.id)
        )
    )


def get_for_learner(
    session: Session, account: LearnerAccount, application_id: int
) -> RplApplication:
    application = session.get(RplApplication, application_id)
    if application is None or application.account_id != account.id:
        raise NotFound("application")
    return application


def get_for_staff(
    session: Session, staff: Staff, application_id: int, *, lock: bool = False
) -> RplApplication:
    """The provider's application; ``lock`` holds its row until the transaction ends (so two
    assessors deciding at once take turns, and the second sees it decided)."""
    application = session.get(RplApplication, application_id, with_for_update=lock)
    if application is None or application.provider_id != staff.provider_id:
        raise NotFound("application")
    return application


def applications_for_provider(
    session: Session, provider_id: int, *, newest_first: bool = True
) -> list[RplApplication]:
    """The provider's applications."""
    order = RplApplication.id.desc() if newest_first else RplApplication.id
    return list(
        session.scalars(
            select(RplApplication).where(RplApplication.provider_id == provider_id).order_by(order)
        ).all()
    )


def applications_of(session: Session, account: LearnerAccount) -> list[RplApplication]:
    """The learner's applications, newest first."""
    return list(
        session.scalars(
            select(RplApplication)
            .where(RplApplication.account_id == account.id)
            .order_by(RplApplication.id.desc())
        ).all()
    )


def decide_as(
    app: App,
    staff_id: int,
    application_id: int,
    action: str,
    message: str,
    met: list[str] | None,
) -> RplApplication:
    """:func:`decide` as a staff member, in a transaction of its own (the command line);
    ``met`` ``["all"]`` judges every outcome of the definition met."""
    with transaction(app.sessions) as session:
        staff = session.get(Staff, staff_id)
        assert staff is not None
        found = session.get(RplApplication, application_id)
        definition = session.get(Definition, found.definition_id) if found else None
        outcome_ids = [o["id"] for o in definition.data["learning_outcomes"]] if definition else []
        chosen = outcome_ids if met == ["all"] else (met or [])
        return decide(
            app, session, staff, application_id, action, message, dict.fromkeys(chosen, True)
        )
