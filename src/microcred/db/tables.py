"""The tables. Signed credentials are stored verbatim (``document``: the exact text delivered)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: microcred stores UTC times with a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    legal_name: Mapped[str] = mapped_column(String(300))
    country_code: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    # provider: issues credentials; qa_body: accredits providers; platform: signs the registry
    kind: Mapped[str] = mapped_column(String(12), default="provider", server_default="provider")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # moves on with every change that can change a verdict on this provider's credentials
    # (status, keys, accreditations, its name): cached verdicts of an older epoch are stale
    verify_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # the domain it proved it controls when it applied (services/onboarding.py)
    domain: Mapped[str | None] = mapped_column(String(253))
    domain_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # branding (issue 15): its logo (an Artwork digest) and colour (#rrggbb) on certificates
    logo: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("artwork.digest", use_alter=True, name="fk_providers_logo_artwork")
    )
    brand_colour: Mapped[str | None] = mapped_column(String(7))


class Artwork(Base):
    """Uploaded artwork, made safe (render/artwork.py) and kept once by the SHA-256 of its bytes:
    badge images (a definition's ``image_digest``) and logos, served at ``/artwork/DIGEST``."""

    __tablename__ = "artwork"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    media_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UsageCount(Base):
    """How often one micro-credential was issued, claimed, shared, viewed, verified or revoked on
    one day (UTC): counts only, nothing about who (services/usage.py)."""

    __tablename__ = "usage_counts"
    __table_args__ = (Index("ix_usage_counts_provider_day", "provider_id", "day"),)

    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(12), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    count: Mapped[int] = mapped_column(BigInteger)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # set when an owner removes the member: no sign-in, no API access; the row stays for history
    deactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    language: Mapped[str | None] = mapped_column(String(8))  # of the pages and emails

    provider: Mapped[Provider] = relationship()


class SigningKey(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (UniqueConstraint("provider_id", "fragment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    fragment: Mapped[str] = mapped_column(String(40))
    public_multibase: Mapped[str] = mapped_column(String(100))
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Definition(Base):
    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("family", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    family: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12))  # draft | published | retired
    title: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Learner(Base):
    __tablename__ = "learners"
    __table_args__ = (UniqueConstraint("provider_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("providers.id")
    )  # unique (provider_id, email) serves it
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Assessment(Base):
    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    results: Mapped[list[Any]] = mapped_column(JSON)
    grade: Mapped[str | None] = mapped_column(String(40))
    supervision: Mapped[str] = mapped_column(String(40))
    assessed_on: Mapped[date] = mapped_column(Date)
    passed: Mapped[bool] = mapped_column(Boolean)
    credential_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)  # the assessor's, for the provider's staff


class AssessmentEvidence(Base):
    """A file the assessor kept with an assessment (a marked script, a photo of the practical):
    the provider's staff only."""

    __tablename__ = "assessment_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StatusList(Base):
    __tablename__ = "status_lists"
    __table_args__ = (UniqueConstraint("provider_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PublishedStatusList(Base):
    """The signed status-list credential served for one list and purpose; ``fingerprint`` is
    the digest of what it was signed over (URL, issuer, key, set bits)."""

    __tablename__ = "published_status_lists"
    __table_args__ = (UniqueConstraint("status_list_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status_list_id: Mapped[int] = mapped_column(ForeignKey("status_lists.id"))
    purpose: Mapped[str] = mapped_column(String(12))
    fingerprint: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Credential(Base):
    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("status_list_id", "status_index"),
        UniqueConstraint("provider_id", "idempotency_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))  # see the unique keys
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id"), index=True)
    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_email: Mapped[str] = mapped_column(String(320), index=True)
    status_list_id: Mapped[int] = mapped_column(ForeignKey("status_lists.id"))
    status_index: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="active")  # active|revoked|suspended
    state_reason: Mapped[str | None] = mapped_column(Text)
    document: Mapped[str] = mapped_column(Text)
    key_fragment: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(64))


class CredentialEvent(Base):
    __tablename__ = "credential_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    per_minute: Mapped[int | None] = mapped_column(Integer)  # its own quota; None: the default


class Accreditation(Base):
    """A QA body's accreditation of a provider, issued as a signed EndorsementCredential."""

    __tablename__ = "accreditations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    qa_body_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    framework: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    report_url: Mapped[str | None] = mapped_column(String(500))
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LearnerAccount(Base):
    """A learner's own account: the wallet. The holder key signs presentations (sealed, KEK)."""

    __tablename__ = "learner_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    email_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    holder_public: Mapped[str] = mapped_column(String(100))
    holder_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    language: Mapped[str | None] = mapped_column(String(8))  # of the pages and emails


class AccountToken(Base):
    """One-time tokens sent by email (verification, password reset); only hashes are stored."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("learner_accounts.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LearnerIdentity(Base):
    """An email or DID a learner added to their account: pending until proven (a link sent to
    the email; a challenge signed by the DID), then ``verified_at``. The sign-up email is the
    account's own identity once confirmed and is not repeated here. A verified identity belongs
    to one account at a time."""

    __tablename__ = "learner_identities"
    __table_args__ = (
        Index(
            "uq_learner_identities_verified",
            "kind",
            "value",
            unique=True,
            sqlite_where=text("verified_at IS NOT NULL"),
            postgresql_where=text("verified_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("learner_accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # email | did
    value: Mapped[str] = mapped_column(String(500))
    token_id: Mapped[int | None] = mapped_column(
        ForeignKey("account_tokens.id", ondelete="SET NULL")
    )
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WalletItem(Base):
    """A credential in a learner's wallet: claimed (issued here) or imported (from anywhere)."""

    __tablename__ = "wallet_items"
    __table_args__ = (UniqueConstraint("account_id", "credential_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("learner_accounts.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(10))  # claimed | imported | removed
    credential_id: Mapped[str | None] = mapped_column(String(36))
    document: Mapped[str] = mapped_column(Text)
    verified_on_import: Mapped[bool] = mapped_column(Boolean)
    import_report: Mapped[dict[str, Any]] = mapped_column(JSON)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # SHA-256 of the document's sorted JSON: its kept verdict is found without parsing it
    # (None for items added before migration 0015: worked out when read)
    content_digest: Mapped[str | None] = mapped_column(String(64))


class ShareLink(Base):
    """A public link to one credential or a collection; expires or is revoked by the learner."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("learner_accounts.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    item_ids: Mapped[list[Any]] = mapped_column(JSON)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Pathway(Base):
    """A macro-credential (a published definition) and the rules that stack into it."""

    __tablename__ = "pathways"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    name: Mapped[str] = mapped_column(String(300))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    award_mode: Mapped[str] = mapped_column(String(10))  # auto | confirm
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PathwayAward(Base):
    """A macro-credential awarded (or awaiting the provider's confirmation) to a learner."""

    __tablename__ = "pathway_awards"
    __table_args__ = (UniqueConstraint("pathway_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(ForeignKey("pathways.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("learner_accounts.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(String(10))  # pending | awarded
    components: Mapped[list[Any]] = mapped_column(JSON)
    credential_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RplApplication(Base):
    """A learner's application for recognition of prior learning against a published definition."""

    __tablename__ = "rpl_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("learner_accounts.id", ondelete="SET NULL"), index=True
    )
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    narrative: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(
        String(16)
    )  # submitted | more_requested | accepted | rejected
    credential_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RplEvidence(Base):
    """Evidence for an application: a link, a file, or a credential from the learner's wallet."""

    __tablename__ = "rpl_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("rpl_applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))  # link | file | credential
    name: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(1000))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    media_type: Mapped[str | None] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RplDecision(Base):
    """Every step of the review is kept: requests for more, replies, acceptance, rejection."""

    __tablename__ = "rpl_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("rpl_applications.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(10))  # assessor | learner
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    action: Mapped[str] = mapped_column(String(16))  # request_more | reply | accept | reject
    message: Mapped[str] = mapped_column(Text)
    criteria: Mapped[list[Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class SignInFailure(Base):
    """A failed sign-in or a reset request, kept for the throttling window only
    (``services/throttle.py``). ``subject`` is a SHA-256, never the email or address itself."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16), index=True)  # staff | learner | reset (+ :ip)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class AuditEvent(Base):
    """One state change, append-only and hash-chained (``services/audit.py``, ADR 0017).

    One chain per provider (``provider:ID``) and one for the platform (``platform``); ``seq``
    counts 1, 2, 3… per chain. ``hash`` is SHA-256 over the RFC 8785 canonical JSON of the
    event's fields and ``prev_hash``. ``data`` carries ids and digests only, never names or
    emails, so erasing a learner never rewrites a chain."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("chain", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(60))  # staff:ID | learner:ID | system
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The last event of each chain: appenders lock this row, so ``seq`` has no gaps or
    duplicates, and a deleted last event is noticed."""

    __tablename__ = "audit_heads"

    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class Job(Base):
    """A durable job of the embedded runner (SQLite; ``services/jobs.py``, ADR 0019). On
    PostgreSQL jobs live in procrastinate's tables instead. ``payload`` is JSON, sealed where it
    carries personal data or one-time links."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_due", "status", "run_after"),
        Index(
            "ux_jobs_queueing_lock",
            "queueing_lock",
            unique=True,
            sqlite_where=text("status = 'todo'"),
            postgresql_where=text("status = 'todo'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(60))
    queue: Mapped[str] = mapped_column(String(30))
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))  # todo | doing | succeeded | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queueing_lock: Mapped[str | None] = mapped_column(String(100))
    run_after: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(100))  # host:pid:thread
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class BulkUpload(Base):
    """A CSV upload: its rows are in ``bulk_rows``; chunks of them are issued by jobs. The
    rows' counts by state are kept here, moved by each chunk in its transaction under this
    row's lock: every process reads the same progress from one row."""

    __tablename__ = "bulk_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    filename: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    rows_total: Mapped[int] = mapped_column(Integer)  # non-empty data rows in the file
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # rows refused at upload
    chunks: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10))  # running | done
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    rows_pending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_issued: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_already: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_refused: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class BulkRow(Base):
    """One good row of an upload: what to award, its idempotency key, the status index held
    for it, and what became of it (``pending`` → ``issued`` | ``already`` | ``refused``)."""

    __tablename__ = "bulk_rows"
    __table_args__ = (
        # no index on state: a chunk's updates then change no indexed column, and PostgreSQL
        # updates the rows in place (HOT); progress reads the upload's kept counts
        Index("ix_bulk_rows_chunk", "upload_id", "chunk"),
        UniqueConstraint("status_list_id", "status_index"),
    )

    upload_id: Mapped[str] = mapped_column(ForeignKey("bulk_uploads.id"), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer)
    award: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10))
    status_list_id: Mapped[int | None] = mapped_column(ForeignKey("status_lists.id"))
    status_index: Mapped[int | None] = mapped_column(Integer)
    credential_id: Mapped[str | None] = mapped_column(String(36))
    problem: Mapped[dict[str, str] | None] = mapped_column(JSON)


class WebSession(Base):
    """A signed-in browser session (``services/sessions.py``): the cookie carries a random
    token, this row its SHA-256. Ending the row ends every copy of the cookie."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_subject", "kind", "subject_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    kind: Mapped[str] = mapped_column(String(10))  # staff | learner
    subject_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RateCount(Base):
    """Requests counted per caller and minute (``services/ratelimit.py``); ``bucket`` is the
    scope and a digest of the caller (an address or a token id), never the address itself."""

    __tablename__ = "rate_counts"

    bucket: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class StatusReserved(Base):
    """A status index known to be in use outside this database's credentials: carried over by
    ``microcred restore`` from the database it replaced (or from an export of used indexes),
    so credentials issued after a backup keep their bits to themselves (``services/backup.py``)."""

    __tablename__ = "status_reserved"

    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    list_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    status_index: Mapped[int] = mapped_column(Integer, primary_key=True)


class VerificationResult(Base):
    """A verification's full result, kept while nothing it depends on changed (ADR 0022):
    ``key`` digests the document and the verifier's configuration; ``epochs`` (JSON) maps each
    platform provider whose state it read to that provider's ``verify_epoch`` then; it is never
    used after ``expires_at``."""

    __tablename__ = "verification_results"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    epochs: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(32))  # the result's, for counts without it
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    result: Mapped[str] = mapped_column(Text)


class FetchedDocument(Base):
    """A document another host published (a DID document, a status list), shared by every
    process until ``expires_at`` (ADR 0022)."""

    __tablename__ = "fetched_documents"

    url_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CatalogueEntry(Base):
    """A published micro-credential as the public catalogue searches it (issue 14): one per
    family, its published version. Full text: ``catalogue_fts`` (SQLite FTS5) or the generated
    ``tsv`` column (PostgreSQL), both made by migration 0018."""

    __tablename__ = "catalogue_entries"

    id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    family: Mapped[str] = mapped_column(String(36), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_words: Mapped[str] = mapped_column(Text)  # the title folded (search.fold)
    body: Mapped[str] = mapped_column(Text)  # folded: description, outcomes, provider
    eqf: Mapped[int | None] = mapped_column(Integer, index=True)
    ects: Mapped[float | None] = mapped_column(Float, index=True)
    hours: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(35), index=True)
    participation: Mapped[str] = mapped_column(String(10), index=True)
    assessment: Mapped[str] = mapped_column(String(300))
    price: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    next_start: Mapped[date | None] = mapped_column(Date)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CatalogueSkill(Base):
    __tablename__ = "catalogue_skills"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("catalogue_entries.id", ondelete="CASCADE"), primary_key=True
    )
    uri: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    label: Mapped[str] = mapped_column(String(300), server_default="")  # the outcome's words


class CataloguePathway(Base):
    __tablename__ = "catalogue_pathways"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("catalogue_entries.id", ondelete="CASCADE"), primary_key=True
    )
    pathway_id: Mapped[int] = mapped_column(
        ForeignKey("pathways.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ProviderApplication(Base):
    """An organisation's application to become a provider or a QA body (issue 14): pending until
    an operator approves it (which needs its domain proven) or rejects it. The applicant follows
    it at a link whose token only they hold (its hash is stored)."""

    __tablename__ = "provider_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # provider | qa_body
    slug: Mapped[str] = mapped_column(String(64))
    legal_name: Mapped[str] = mapped_column(String(300))
    country_code: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str] = mapped_column(String(500))
    domain: Mapped[str] = mapped_column(String(253))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(200))  # the future owner's (argon2)
    domain_token: Mapped[str] = mapped_column(String(64))  # what the domain must publish
    domain_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(10), index=True)  # pending | approved | rejected
    reason: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
