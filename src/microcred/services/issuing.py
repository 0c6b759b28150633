"""Issuing: learners, assessments, and signed credentials (one at a time; bulk uses this too)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Table, insert, or_, select
from sqlalchemy.orm import Session

from microcred import metrics
from microcred.db.batch import among
from microcred.db.session import reading
from microcred.db.tables import (
    Assessment,
    AssessmentEvidence,
    Credential,
    Definition,
    Learner,
    Provider,
    SigningKey,
    Staff,
)
from microcred.domain.assessment import MAX_NOTE, OutcomeResult, check_detail, decide
from microcred.domain.award import CredentialTemplate, Issuer, Recipient, build_achievement
from microcred.domain.catalog import DefinitionData
from microcred.domain.emails import is_address
from microcred.domain.errors import DomainError, NotFound
from microcred.i18n import _
from microcred.services import audit, definitions, notify, usage
from microcred.services.app import App
from microcred.services.keys import active_key, provider_did
from microcred.services.providers import require
from microcred.services.status import allocate, list_url
from microcred.vc import status_list
from microcred.vc.credential import sign_credential
from microcred.vc.multikey import KeyPair

SUPERVISION_LEVELS = ("unsupervised", "supervised", "supervised_id")


@dataclass(frozen=True, slots=True)
class Award:
    """What an issuer awards: who, under which published definition, with which results."""

    definition_id: int
    name: str
    email: str
    results: list[OutcomeResult]
    grade: str | None = None
    idempotency_key: str | None = None
    issued_at: datetime | None = None
    valid_until: datetime | None = None
    extra: dict[str, Any] | None = None  # further top-level properties (relatedResource, evidence)


def upsert_learner(
    app: App, session: Session, provider: Provider, name: str, email: str
) -> Learner:
    found = upsert_learners(app, session, provider, [(name, email)])[0]
    if isinstance(found, DomainError):
        raise found
    learner = session.get(Learner, found.id)
    assert learner is not None
    return learner


@dataclass(frozen=True, slots=True)
class LearnerRef:
    """A learner row's id, name and email (read or written as plain rows)."""

    id: int
    name: str
    email: str


def upsert_learners(
    app: App, session: Session, provider: Provider, people: list[tuple[str, str]]
) -> list[LearnerRef | DomainError]:
    """The provider's learner for each (name, email), made when new: one query for those known,
    one insert for the new (a bulk chunk's), as plain rows. A person whose name or email is
    unusable gets the error instead, in place."""
    checked: list[tuple[str, str] | DomainError] = []
    for name, email in people:
        email = email.strip().lower()
        name = name.strip()
        if not is_address(email):
            checked.append(
                DomainError(
                    "learner.email_invalid",
                    _("not an email address: %(email)s") % {"email": repr(email)},
                    "email",
                )
            )
        elif not name:
            checked.append(
                DomainError("learner.name_missing", _("the learner's name is required"), "name")
            )
        elif len(name) > 200 or not name.isprintable():
            checked.append(
                DomainError(
                    "learner.name_invalid",
                    _("the learner's name: at most 200 printable characters"),
                    "name",
                )
            )
        else:
            checked.append((name, email))
    emails = sorted({c[1] for c in checked if isinstance(c, tuple)})
    known: dict[str, LearnerRef] = {}
    columns = (Learner.id, Learner.name, Learner.email)
    for start in range(0, len(emails), 500):
        part = emails[start : start + 500]
        for row in session.execute(
            select(*columns).where(
                Learner.provider_id == provider.id, among(session, Learner.email, part)
            )
        ):
            known[row.email] = LearnerRef(row.id, row.name, row.email)
    new: dict[str, dict[str, Any]] = {}
    for item in checked:
        if isinstance(item, tuple) and item[1] not in known and item[1] not in new:
            new[item[1]] = {
                "provider_id": provider.id,
                "name": item[0],
                "email": item[1],
                "created_at": app.now(),
            }
    if new:  # one INSERT ... RETURNING for them all (the unit of work's flush: 5% of bulk)
        table = cast(Table, Learner.__table__)
        for row in session.execute(insert(table).returning(*columns), list(new.values())):
            known[row.email] = LearnerRef(row.id, row.name, row.email)
    return [known[c[1]] if isinstance(c, tuple) else c for c in checked]


def published_definition(session: Session, provider: Provider, definition_id: int) -> Definition:
    row = definitions.get(session, provider, definition_id)
    if row.state != "published":
        raise DomainError(
            "definition.not_published", _("credentials are issued from a published definition")
        )
    return row


def status_purposes_for(data: DefinitionData) -> tuple[str, ...]:
    """Revocation always; suspension too where the definition enables it (ADR 0015)."""
    return status_list.PURPOSES if data.suspendable else ("revocation",)


def issue(
    app: App, session: Session, staff: Staff, award: Award, *, notify_learner: bool = True
) -> Credential:
    """Sign and store one credential. With an idempotency key, a repeat returns the first one.
    The learner is emailed after the commit (``notify_learner=False``: the caller tells them)."""
    require(staff, "issue")
    if award.idempotency_key is not None and not award.idempotency_key.strip():
        raise DomainError(
            "award.idempotency_key_empty",
            _("the idempotency key is empty: leave it out, or give your own id for this award"),
            "idempotency_key",
        )
    # Lock the provider row before anything else: issuers of one provider queue here (status
    # indexes are handed out under it), and no foreign-key share lock is taken before it, which
    # would let two issuers deadlock on PostgreSQL.
    provider = session.get(Provider, staff.provider_id, with_for_update=True)
    assert provider is not None
    if award.idempotency_key:
        existing = session.scalar(
            select(Credential).where(
                Credential.provider_id == provider.id,
                Credential.idempotency_key == award.idempotency_key,
            )
        )
        if existing is not None:
            return existing
    row = published_definition(session, provider, award.definition_id)
    data = definitions.data_of(row)
    decision = decide(data, award.results, award.grade)
    if not decision.passed:
        raise DomainError(
            "award.not_passed",
            _("not awarded: %(reasons)s") % {"reasons": "; ".join(decision.reasons)},
        )
    learner = upsert_learner(app, session, provider, award.name, award.email)
    status_row, index = allocate(app, session, provider)
    key_row, key_pair = active_key(app, session, provider)
    credential_uuid = str(uuid.uuid4())
    signed, issued_at, valid_until = sign_award(
        app,
        provider,
        row,
        award,
        Recipient(learner.name, learner.email),
        credential_uuid,
        (status_row.number, index),
        key_row,
        key_pair,
    )
    credential = Credential(
        id=credential_uuid,
        provider_id=provider.id,
        definition_id=row.id,
        learner_id=learner.id,
        recipient_name=learner.name,
        recipient_email=learner.email,
        status_list_id=status_row.id,
        status_index=index,
        state="active",
        document=credential_text(signed),
        key_fragment=key_row.fragment,
        issued_at=issued_at,
        valid_until=valid_until,
        idempotency_key=award.idempotency_key,
    )
    session.add(credential)
    session.flush()
    audit.issued(session, staff, credential)
    usage.count_credentials(session, [credential], "issued", app.now())
    metrics.count_on_commit(session, metrics.CREDENTIALS_ISSUED.labels("definition").inc)
    if notify_learner:
        notify.credential_issued(app, session, credential)
    return credential


def credential_text(document: dict[str, Any]) -> str:
    """A signed credential as stored and served: compact JSON, written by orjson (a tenth of
    the standard encoder's time, a tenth of a bulk chunk's; the same text but for the exponent
    of some floats, ADR 0025), or by the standard encoder for what orjson refuses (integers
    beyond 64 bits). Its bytes are what digests and downloads use; the signature does not
    depend on them."""
    try:
        return orjson.dumps(document).decode()
    except orjson.JSONEncodeError:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class SigningPlan:
    """What every credential of one definition signed by one key shares, worked out once."""

    provider: Provider
    data: DefinitionData
    version: int
    issuer: Issuer
    template: CredentialTemplate
    purposes: tuple[str, ...]
    method: str
    key_pair: KeyPair


def _issuer(app: App, provider: Provider, data: DefinitionData) -> Issuer:
    return Issuer(
        did=provider_did(app, provider),
        name=data.awarding_body or provider.legal_name,
        url=provider.website,
        country_code=data.country_code or provider.country_code,
        region=data.region or provider.region,
    )


def achievement_url(app: App, provider: Provider, row: Definition) -> str:
    """The identifier credentials of this version cite (its public page, services/catalogue)."""
    return (
        f"{app.settings.base_url}/providers/{provider.slug}/definitions/{row.family}/v{row.version}"
    )


def image_url(app: App, data: DefinitionData) -> str | None:
    """The badge artwork credentials cite (services/branding.py), if the provider uploaded it."""
    return f"{app.settings.base_url}/artwork/{data.image}" if data.image else None


def achievement_of(
    app: App, provider: Provider, row: Definition, language: str | None = None
) -> dict[str, Any]:
    """The OB 3.0 achievement every credential of this version embeds; in one of its other
    languages (``language``), the related achievement its credentials name for it."""
    data = definitions.data_of(row)
    url = achievement_url(app, provider, row)
    return build_achievement(
        achievement_id=url if language in (None, data.language) else f"{url}/{language}",
        language=language,
        issuer=_issuer(app, provider, data),
        definition=data,
        definition_version=row.version,
        image_url=image_url(app, data),
    )


def signing_plan(
    app: App, provider: Provider, row: Definition, key_row: SigningKey, key_pair: KeyPair
) -> SigningPlan:
    data = definitions.data_of(row)
    issuer = _issuer(app, provider, data)
    did = issuer.did
    achievement_id = achievement_url(app, provider, row)
    return SigningPlan(
        provider=provider,
        data=data,
        version=row.version,
        issuer=issuer,
        template=CredentialTemplate(
            achievement_id=achievement_id,
            issuer=issuer,
            definition=data,
            definition_version=row.version,
            achievement=build_achievement(
                achievement_id=achievement_id,
                issuer=issuer,
                definition=data,
                definition_version=row.version,
                image_url=image_url(app, data),
            ),
        ),
        purposes=tuple(status_purposes_for(data)),
        method=f"{did}#{key_row.fragment}",
        key_pair=key_pair,
    )


def sign_award(
    app: App,
    provider: Provider,
    row: Definition,
    award: Award,
    recipient: Recipient,
    credential_uuid: str,
    status: tuple[int, int],
    key_row: SigningKey,
    key_pair: KeyPair,
) -> tuple[dict[str, Any], datetime, datetime | None]:
    """The signed credential for ``award`` at status list number and index ``status``: no
    database, so bulk issuing signs outside its transactions. Returns it with its dates."""
    plan = signing_plan(app, provider, row, key_row, key_pair)
    return sign_planned(app, plan, award, recipient, credential_uuid, status)


def sign_planned(
    app: App,
    plan: SigningPlan,
    award: Award,
    recipient: Recipient,
    credential_uuid: str,
    status: tuple[int, int],
) -> tuple[dict[str, Any], datetime, datetime | None]:
    """:func:`sign_award` with the shared part worked out (many awards of one definition)."""
    data = plan.data
    issued_at = (award.issued_at or app.now()).replace(microsecond=0)
    valid_until = award.valid_until
    if valid_until is None and data.validity_months:
        valid_until = issued_at + timedelta(days=round(30.44 * data.validity_months))
    number, index = status
    unsigned = plan.template.build(
        credential_id=f"{app.settings.base_url}/credentials/{credential_uuid}",
        recipient=recipient,
        results=award.results,
        grade=award.grade,
        issued_at=issued_at,
        valid_until=valid_until,
        status_entries=[
            status_list.entry(list_url(app, plan.provider, number, purpose), index, purpose)
            for purpose in plan.purposes
        ],
    )
    if award.extra:
        unsigned.update(award.extra)
    signed = sign_credential(
        unsigned,
        plan.key_pair,
        created=issued_at,
        controller=plan.issuer.did,
        verification_method=plan.method,
    )
    return signed, issued_at, valid_until


def record_assessment(
    app: App,
    session: Session,
    staff: Staff,
    *,
    learner: Learner,
    definition_id: int,
    results: list[OutcomeResult],
    grade: str | None,
    supervision: str,
    assessed_on: date,
    note: str = "",
    evidence: list[tuple[str, bytes]] | None = None,
) -> Assessment:
    """An assessment: each outcome achieved or not (with a score and a note, if given), the
    assessor's note, and evidence files kept with it (``evidence``: name and bytes)."""
    require(staff, "assess")
    for result in results:
        check_detail(result)
    if len(note) > MAX_NOTE:
        raise DomainError(
            "assessment.note", _("a note is at most %(max)d characters") % {"max": MAX_NOTE}, "note"
        )
    files = [(name, *evidence_file(name, data)) for name, data in evidence or []]
    if len(files) > MAX_EVIDENCE_FILES:
        raise DomainError(
            "assessment.evidence_count",
            _("at most %(max)d evidence files") % {"max": MAX_EVIDENCE_FILES},
            "evidence",
        )
    provider = session.get(Provider, staff.provider_id)
    assert provider is not None
    if learner.provider_id != provider.id:
        raise NotFound("learner")
    if supervision not in SUPERVISION_LEVELS:
        raise DomainError(
            "assessment.supervision_invalid", _("choose a supervision level"), "supervision"
        )
    row = published_definition(session, provider, definition_id)
    decision = decide(definitions.data_of(row), results, grade)
    assessment = Assessment(
        provider_id=provider.id,
        learner_id=learner.id,
        definition_id=row.id,
        assessor_id=staff.id,
        results=[_result_json(r) for r in results],
        grade=grade or None,
        supervision=supervision,
        assessed_on=assessed_on,
        passed=decision.passed,
        created_at=app.now(),
        note=note.strip() or None,
    )
    session.add(assessment)
    session.flush()
    for name, media_type, data in files:
        session.add(
            AssessmentEvidence(
                assessment_id=assessment.id, name=name, media_type=media_type, content=data,
                added_at=app.now(),
            )
        )  # fmt: skip
    session.flush()
    return assessment


MAX_EVIDENCE_FILES = 5
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
_SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"),
               (b"\xff\xd8\xff", "image/jpeg"))  # fmt: skip


def evidence_file(name: str, data: bytes) -> tuple[str, bytes]:
    """The media type of an evidence file, by its content (PDF, PNG, JPEG or UTF-8 text), or
    DomainError."""
    label = name.strip()[:200] or "evidence"
    if not data:
        raise DomainError(
            "assessment.evidence_empty", _("%(name)s is empty") % {"name": label}, "evidence"
        )
    if len(data) > MAX_EVIDENCE_BYTES:
        raise DomainError(
            "assessment.evidence_size",
            _("%(name)s is larger than %(mib)d MiB")
            % {"name": label, "mib": MAX_EVIDENCE_BYTES // (1024 * 1024)},
            "evidence",
        )
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type, data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "text/plain; charset=utf-8", data
    raise DomainError(
        "assessment.evidence_type",
        _("%(name)s is not a PDF, PNG, JPEG or text file") % {"name": label},
        "evidence",
    )


def _result_json(result: OutcomeResult) -> dict[str, Any]:
    written: dict[str, Any] = {"outcome_id": result.outcome_id, "achieved": result.achieved}
    if result.score is not None:
        written["score"] = result.score
    if result.note.strip():
        written["note"] = result.note.strip()
    return written


def evidence_of(session: Session, assessment: Assessment) -> list[AssessmentEvidence]:
    return list(
        session.scalars(
            select(AssessmentEvidence)
            .where(AssessmentEvidence.assessment_id == assessment.id)
            .order_by(AssessmentEvidence.id)
        )
    )


def evidence_file_of(
    session: Session, staff: Staff, assessment_id: int, evidence_id: int
) -> AssessmentEvidence:
    """One evidence file of one of the staff member's provider's assessments."""
    require(staff, "assess")
    assessment = get_assessment(session, staff, assessment_id)
    found = session.get(AssessmentEvidence, evidence_id)
    if found is None or found.assessment_id != assessment.id:
        raise NotFound("evidence")
    return found


def award_assessment(
    app: App, session: Session, staff: Staff, assessment: Assessment
) -> Credential:
    """Issue the credential an assessment earned (once)."""
    if assessment.provider_id != staff.provider_id:
        raise NotFound("assessment")
    if not assessment.passed:
        raise DomainError("award.not_passed", _("the assessment did not pass"))
    learner = session.get(Learner, assessment.learner_id)
    assert learner is not None
    credential = issue(
        app,
        session,
        staff,
        Award(
            definition_id=assessment.definition_id,
            name=learner.name,
            email=learner.email,
            results=[OutcomeResult(r["outcome_id"], r["achieved"]) for r in assessment.results],
            grade=assessment.grade,
            idempotency_key=f"assessment:{assessment.id}",
        ),
    )
    assessment.credential_id = credential.id
    return credential


def get_credential(session: Session, provider_id: int, credential_id: str) -> Credential:
    credential = session.get(Credential, credential_id)
    if credential is None or credential.provider_id != provider_id:
        raise NotFound("credential")
    return credential


def search(
    session: Session, provider: Provider, query: str = "", limit: int = 100
) -> list[Credential]:
    statement = select(Credential).where(Credential.provider_id == provider.id)
    if query.strip():
        like = f"%{query.strip().lower()}%"
        statement = statement.where(
            or_(
                Credential.recipient_email.like(like),
                Credential.recipient_name.ilike(like),
                Credential.id.like(like),
            )
        )
    return list(session.scalars(statement.order_by(Credential.issued_at.desc()).limit(limit)))


def document_of(credential: Credential) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(credential.document)
    return result


def get_assessment(session: Session, staff: Staff, assessment_id: int) -> Assessment:
    """One of the staff member's provider's assessments."""
    assessment = session.get(Assessment, assessment_id)
    if assessment is None or assessment.provider_id != staff.provider_id:
        raise NotFound("assessment")
    return assessment


def assessment_view(
    session: Session, staff: Staff, assessment_id: int
) -> tuple[Assessment, Learner | None, Definition | None]:
    """An assessment with its learner and definition."""
    assessment = get_assessment(session, staff, assessment_id)
    learner = session.get(Learner, assessment.learner_id)
    row = session.get(Definition, assessment.definition_id)
    return assessment, learner, row


def learner_of(session: Session, provider_id: int, learner_id: int) -> Learner:
    """One of the provider's learners (NotFound for anyone else's)."""
    learner = session.get(Learner, learner_id)
    if learner is None or learner.provider_id != provider_id:
        raise NotFound("learner")
    return learner


def learners(session: Session, provider_id: int) -> list[Learner]:
    """The provider's learners, by name."""
    return list(
        session.scalars(
            select(Learner).where(Learner.provider_id == provider_id).order_by(Learner.name)
        ).all()
    )


def credential_by_id(session: Session, credential_id: str) -> Credential | None:
    """Any provider's credential by id (the public credential page), or None."""
    return session.get(Credential, credential_id)


def signed_text(app: App, credential_id: str) -> str:
    """The signed credential as issued, read on its own (``GET /credentials/<id>.json``); empty
    once erased at the learner's request. NotFound when there is no such credential."""
    with reading(app.sessions) as session:
        row = session.execute(
            select(Credential.document).where(Credential.id == credential_id)
        ).first()
    if row is None:
        raise NotFound("credential")
    return str(row[0] or "")
