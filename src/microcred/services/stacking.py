"""Pathways: stack a learner's verified credentials into a macro-credential.

Facts come from the learner's wallet, each credential verified now with the platform's policy
(signature, issuer, dates, status, trust). Only those that verify count. An award names each
component by id and by the SHA-256 digest of its exact bytes (``relatedResource``), so anyone
holding the components can re-check the claim.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import (
    Credential,
    Definition,
    LearnerAccount,
    Pathway,
    PathwayAward,
    Provider,
    Staff,
    WalletItem,
)
from microcred.domain import stacking
from microcred.domain.assessment import OutcomeResult
from microcred.domain.errors import DomainError, NotFound
from microcred.domain.holder import Binding
from microcred.i18n import N_, _
from microcred.services import catalogue, definitions, jobs, search, wallet
from microcred.services.app import App
from microcred.services.issuing import Award, issue
from microcred.services.providers import require
from microcred.services.verification import platform_policy, verify_document
from microcred.vc.digest import related_resource
from microcred.vc.policy import Policy
from microcred.vc.report import Outcome

log = logging.getLogger(__name__)
# A pathway award's states (``PathwayAward.state``), their words marked for translation.
AWARD_STATES = (N_("pending"), N_("awarded"))

_VERSION = re.compile(r"/v\d+$")


@dataclass(frozen=True, slots=True)
class Held:
    fact: stacking.CredentialFact
    item: WalletItem


def _eqf(achievement: Mapping[str, Any]) -> int | None:
    for alignment in achievement.get("alignment") or []:
        code = str(alignment.get("targetCode", "")) if isinstance(alignment, Mapping) else ""
        if code.startswith("EQF") and code[3:].isdigit():
            return int(code[3:])
    return None


def _moment(document: Mapping[str, Any]) -> datetime:
    for key in ("awardedDate", "validFrom", "issuanceDate"):
        value = document.get(key)
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime(1970, 1, 1, tzinfo=UTC)


def fact_of(
    item_id: str, document: Mapping[str, Any], valid: bool, trusted: bool
) -> stacking.CredentialFact:
    subject = document.get("credentialSubject") or {}
    subject = subject if isinstance(subject, Mapping) else {}
    found = subject.get("achievement")
    achievement: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    ids = set()
    if isinstance(achievement.get("id"), str):
        ids.add(achievement["id"])
        ids.add(_VERSION.sub("", achievement["id"]))  # any version of one of our definitions
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    credits = achievement.get("creditsAvailable", subject.get("creditsEarned", 0)) or 0
    return stacking.CredentialFact(
        id=item_id,
        achievement_ids=frozenset(ids),
        name=str(achievement.get("name", "")),
        issuer=str(issuer_id),
        ects=float(credits) if isinstance(credits, int | float) else 0.0,
        eqf=_eqf(achievement),
        issued_at=_moment(document),
        trusted=trusted,
        valid=valid,
    )


def holdings(
    app: App, session: Session, account: LearnerAccount, policy: Policy | None = None
) -> list[Held]:
    """The learner's credentials as facts, each verified now (``policy``: one for a whole page,
    so each status list and DID document is read once)."""
    policy = policy or platform_policy(app)
    mine = wallet.identities(session, account)
    held = []
    for item in wallet.items(session, account):
        result = verify_document(item.document, policy)
        trust = result.report.step("trust")
        trusted = trust is not None and trust.outcome is Outcome.PASSED
        document = result.credential or {}
        # a credential about someone else never counts towards the learner's own award
        counts = wallet.passes(result.report) and wallet.item_binding(item, mine) is Binding.HOLDER
        held.append(Held(fact_of(item.id, document, counts, trusted), item))
    return held


def create_pathway(
    app: App,
    session: Session,
    staff: Staff,
    *,
    definition_id: int,
    name: str,
    rules: Mapping[str, Any],
    award_mode: str = "auto",
) -> Pathway:
    require(staff, "define")
    provider = session.get(Provider, staff.provider_id)
    assert provider is not None
    row = definitions.get(session, provider, definition_id)
    if row.state != "published":
        raise DomainError(
            "pathway.definition_unpublished", _("the macro-credential must be published")
        )
    stacking.validate(rules)
    if award_mode not in ("auto", "confirm"):
        raise DomainError("pathway.mode_invalid", _("award mode is auto or confirm"), "award_mode")
    pathway = Pathway(
        provider_id=provider.id,
        definition_id=row.id,
        name=name.strip() or row.title,
        rules=dict(rules),
        award_mode=award_mode,
        created_at=app.now(),
    )
    session.add(pathway)
    session.flush()
    search.refresh_pathway(app, session, pathway)  # the catalogue's "stacks into"
    return pathway


@dataclass(frozen=True, slots=True)
class Progress:
    pathway: Pathway
    evaluation: stacking.Evaluation
    suggestions: list[Definition]


def progress(app: App, session: Session, account: LearnerAccount) -> list[Progress]:
    held = holdings(app, session, account)
    facts = stacking.eligible(h.fact for h in held)
    now = app.now()
    published = [
        (d, family_url(app, session, d))
        for d in session.scalars(select(Definition).where(Definition.state == "published"))
    ]
    pathways = list(session.scalars(select(Pathway).order_by(Pathway.id)))
    named = set().union(*(stacking.all_achievements(p.rules) for p in pathways))
    names = catalogue.achievement_names(app, session, named)  # rules in words, not identifiers
    out = []
    for pathway in pathways:
        evaluation = stacking.evaluate(pathway.rules, facts, now, names)
        wanted = stacking.all_achievements(pathway.rules)
        have = set().union(*(f.achievement_ids for f in facts)) if facts else set()
        suggestions = [
            d
            for d, family in published
            if family in wanted - have and d.id != pathway.definition_id
        ]
        out.append(Progress(pathway, evaluation, suggestions))
    return out


@dataclass(frozen=True, slots=True)
class Candidate:
    account: LearnerAccount
    evaluation: stacking.Evaluation


def close_to_completion(
    app: App, session: Session, pathway: Pathway, threshold: float = 0.5, limit: int = 200
) -> list[Candidate]:
    """The provider's own learners (holding a credential it issued) at ``threshold`` or more of
    ``pathway``, closest first. Learners who never studied with the provider are not shown: a
    wallet is private."""
    accounts = session.scalars(
        select(LearnerAccount)
        .join(WalletItem, WalletItem.account_id == LearnerAccount.id)
        .join(Credential, Credential.id == WalletItem.credential_id)
        .where(Credential.provider_id == pathway.provider_id)
        .distinct()
    ).all()
    rule = stacking.Compiled(pathway.rules)
    policy = platform_policy(app)
    now = app.now()
    found = []
    for account in accounts:
        held = holdings(app, session, account, policy)
        evaluation = rule(stacking.eligible(h.fact for h in held), now)
        if evaluation.progress >= threshold:
            found.append(Candidate(account, evaluation))
    found.sort(key=lambda c: (-c.evaluation.progress, c.account.name))
    return found[:limit]


def family_url(app: App, session: Session, row: Definition) -> str:
    """The achievement id a pathway rule uses for every version of a definition."""
    provider = session.get(Provider, row.provider_id)
    assert provider is not None
    return f"{app.settings.base_url}/providers/{provider.slug}/definitions/{row.family}"


def award(app: App, session: Session, pathway_id: int, account: LearnerAccount) -> PathwayAward:
    """Award the macro-credential when the rules are met (or queue it for confirmation)."""
    pathway = session.get(Pathway, pathway_id)
    if pathway is None:
        raise NotFound("pathway")
    existing = session.scalar(
        select(PathwayAward).where(
            PathwayAward.pathway_id == pathway.id, PathwayAward.account_id == account.id
        )
    )
    if existing is not None and existing.state == "awarded":
        return existing
    held = holdings(app, session, account)
    evaluation = stacking.evaluate(
        pathway.rules, stacking.eligible(h.fact for h in held), app.now()
    )
    if not evaluation.satisfied:
        raise DomainError(
            "pathway.not_met",
            _("not yet: %(missing)s") % {"missing": "; ".join(evaluation.missing)},
        )
    components = [h for h in held if h.fact.id in evaluation.used]
    record = existing or PathwayAward(
        pathway_id=pathway.id,
        account_id=account.id,
        state="pending",
        components=[],
        created_at=app.now(),
    )
    record.components = [
        {"item": h.item.id, "id": json.loads(h.item.document).get("id"), "issuer": h.fact.issuer}
        for h in components
    ]
    session.add(record)
    session.flush()
    if pathway.award_mode == "auto":
        confirm(app, session, record, None)
    return record


@jobs.task("pathways.sweep", queue="default", max_attempts=5, wait=30)
def sweep(app: App, account_id: int) -> None:
    """The job a wallet change enqueues: every pathway the learner now completes is awarded
    (``auto``) or put before its provider (``confirm``); each in its own savepoint, so one
    pathway that cannot be awarded does not hold back the others."""
    with transaction(app.sessions) as session:
        account = session.get(LearnerAccount, account_id)
        if account is None:
            return
        settled = set(
            session.scalars(
                select(PathwayAward.pathway_id).where(PathwayAward.account_id == account.id)
            )
        )
        for row in progress(app, session, account):
            if row.pathway.id in settled or not row.evaluation.satisfied:
                continue
            try:
                with session.begin_nested():
                    award(app, session, row.pathway.id, account)
            except DomainError as exc:
                log.warning(
                    "pathway %s not awarded to account %s: %s",
                    row.pathway.id,
                    account.id,
                    exc.message,
                )


def confirm(app: App, session: Session, record: PathwayAward, staff: Staff | None) -> PathwayAward:
    pathway = session.get(Pathway, record.pathway_id)
    assert pathway is not None
    if staff is not None:
        require(staff, "issue")
        if staff.provider_id != pathway.provider_id:
            raise NotFound("award")
    actor = staff or session.scalar(
        select(Staff).where(Staff.provider_id == pathway.provider_id, Staff.role == "owner")
    )
    account = session.get(LearnerAccount, record.account_id) if record.account_id else None
    if actor is None or account is None:
        raise DomainError("pathway.award_impossible", _("no issuer or no learner for this award"))
    items = [session.get(WalletItem, c["item"]) for c in record.components]
    related = [
        related_resource(str(json.loads(i.document).get("id")), i.document.encode("utf-8"))
        for i in items
        if i is not None
    ]
    row = session.get(Definition, pathway.definition_id)
    assert row is not None
    outcomes = [OutcomeResult(o["id"], True) for o in row.data["learning_outcomes"]]
    credential = issue(
        app,
        session,
        actor,
        Award(
            definition_id=row.id,
            name=account.name,
            email=account.email,
            results=outcomes,
            idempotency_key=f"pathway:{pathway.id}:{account.id}",
            extra={"relatedResource": related},
        ),
    )
    record.state = "awarded"
    record.credential_id = credential.id
    session.flush()
    return record


def pathways_of(session: Session, provider_id: int) -> list[Pathway]:
    """The provider's pathways."""
    return list(session.scalars(select(Pathway).where(Pathway.provider_id == provider_id)).all())


def get_pathway(session: Session, provider_id: int, pathway_id: int) -> Pathway:
    """One of the provider's pathways."""
    pathway = session.get(Pathway, pathway_id)
    if pathway is None or pathway.provider_id != provider_id:
        raise NotFound("pathway")
    return pathway


def awards_of(session: Session, pathway: Pathway) -> list[PathwayAward]:
    """A pathway's awards."""
    return list(
        session.scalars(select(PathwayAward).where(PathwayAward.pathway_id == pathway.id)).all()
    )


def get_award(session: Session, award_id: int) -> PathwayAward:
    """A pathway award by id."""
    record = session.get(PathwayAward, award_id)
    if record is None:
        raise NotFound("award")
    return record


def create_pathway_as(app: App, staff_id: int, **fields: Any) -> Pathway:
    """:func:`create_pathway` as a staff member, in a transaction of its own (the command line)."""
    with transaction(app.sessions) as session:
        staff = session.get(Staff, staff_id)
        assert staff is not None
        return create_pathway(app, session, staff, **fields)


def progress_report(app: App, email: str) -> list[dict[str, Any]] | None:
    """A learner's progress on every pathway, by wallet email (None: no such wallet)."""
    with transaction(app.sessions, readonly=True) as session:
        account = wallet.account_by_email(session, email)
        if account is None:
            return None
        return [
            {
                "pathway": p.pathway.name,
                "progress": round(p.evaluation.progress, 4),
                "satisfied": p.evaluation.satisfied,
                "missing": list(p.evaluation.missing),
            }
            for p in progress(app, session, account)
        ]
