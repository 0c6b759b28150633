"""The provider's lists (issued credentials, learners, assessments): filtered, a page at a
time, and the same rows as CSV (every match, streamed in batches; cells that a spreadsheet
would run as a formula are neutralised)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import Assessment, Credential, Definition, Learner
from microcred.i18n import _
from microcred.services.app import App

PER_PAGE = 50
STATES = ("active", "suspended", "revoked")
_BATCH = 1000


@dataclass(frozen=True, slots=True)
class CredentialQuery:
    """What the provider asks for; every part optional."""

    text: str = ""  # name, email or id, in part
    definition_id: int | None = None
    state: str = ""
    issued_from: date | None = None
    issued_to: date | None = None  # inclusive
    page: int = 1


@dataclass(frozen=True, slots=True)
class CredentialRow:
    credential: Credential
    title: str
    version: int


@dataclass(frozen=True, slots=True)
class CredentialPage:
    rows: list[CredentialRow]
    total: int
    page: int
    pages: int


def _select(provider_id: int, query: CredentialQuery) -> Select[Credential, str, int]:
    statement = (
        select(Credential, Definition.title, Definition.version)
        .join(Definition, Definition.id == Credential.definition_id)
        .where(Credential.provider_id == provider_id)
    )
    text = query.text.strip()
    if text:
        like = f"%{text.lower()}%"
        statement = statement.where(
            or_(
                func.lower(Credential.recipient_email).like(like),
                func.lower(Credential.recipient_name).like(like),
                Credential.id.like(like),
            )
        )
    if query.definition_id is not None:
        statement = statement.where(Credential.definition_id == query.definition_id)
    if query.state in STATES:
        statement = statement.where(Credential.state == query.state)
    if query.issued_from is not None:
        start = datetime.combine(query.issued_from, time.min, tzinfo=UTC)
        statement = statement.where(Credential.issued_at >= start)
    if query.issued_to is not None:
        end = datetime.combine(query.issued_to + timedelta(days=1), time.min, tzinfo=UTC)
        statement = statement.where(Credential.issued_at < end)
    return statement


def credentials(session: Session, provider_id: int, query: CredentialQuery) -> CredentialPage:
    """One page of the provider's credentials, newest first, and how many match in all."""
    statement = _select(provider_id, query)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, query.page), pages)
    found = session.execute(
        statement.order_by(Credential.issued_at.desc(), Credential.id)
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    rows = [CredentialRow(c, title, version) for c, title, version in found]
    return CredentialPage(rows, total, page, pages)


def spreadsheet_cell(value: object) -> str:
    """A spreadsheet cell: text that starts like a formula is quoted (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines() -> Callable[[list[object]], str]:
    """A function writing one CSV line (spreadsheet-safe cells) at a time, for streaming."""
    out = io.StringIO()
    writer = csv.writer(out)

    def line(values: list[object]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow([spreadsheet_cell(v) for v in values])
        return out.getvalue()

    return line


def credentials_csv(app: App, provider_id: int, query: CredentialQuery) -> Iterator[str]:
    """Every credential the query matches as CSV lines (a header first)."""
    header = [_("id"), _("learner"), _("email"), _("micro-credential"), _("version"),
              _("issued (UTC)"), _("state"), _("reason"), _("public page")]  # fmt: skip
    statement: Any = _select(provider_id, query).order_by(
        Credential.issued_at.desc(), Credential.id
    )

    def values(row: Any) -> list[object]:
        credential, title, version = row
        return [
            credential.id,
            credential.recipient_name,
            credential.recipient_email,
            title,
            version,
            credential.issued_at.astimezone(UTC).isoformat(timespec="seconds"),
            credential.state,
            credential.state_reason or "",
            f"{app.settings.base_url}/credentials/{credential.id}",
        ]

    return _csv(app, header, statement, values)


# Learners and assessments: the same, a page at a time and as CSV


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    total: int
    page: int
    pages: int


def _paged(session: Session, statement: Select[Any], order: Any, page: int) -> Page:
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    rows = list(
        session.execute(statement.order_by(*order).limit(PER_PAGE).offset((page - 1) * PER_PAGE))
    )
    return Page(rows, total, page, pages)


def _learners(provider_id: int, text: str) -> Any:
    credentials = (
        select(func.count())
        .where(Credential.learner_id == Learner.id)
        .correlate(Learner)
        .scalar_subquery()
    )
    assessments = (
        select(func.count())
        .where(Assessment.learner_id == Learner.id)
        .correlate(Learner)
        .scalar_subquery()
    )
    statement: Any = select(
        Learner, credentials.label("credentials"), assessments.label("assessments")
    ).where(Learner.provider_id == provider_id)
    if text.strip():
        like = f"%{text.strip().lower()}%"
        statement = statement.where(
            or_(func.lower(Learner.name).like(like), func.lower(Learner.email).like(like))
        )
    return statement


def learners(session: Session, provider_id: int, text: str = "", page: int = 1) -> Page:
    """The provider's learners by name, with how many credentials and assessments each has."""
    return _paged(session, _learners(provider_id, text), (Learner.name, Learner.id), page)


def learners_csv(app: App, provider_id: int, text: str = "") -> Iterator[str]:
    header = [_("name"), _("email"), _("credentials"), _("assessments"), _("added (UTC)")]
    statement = _learners(provider_id, text).order_by(Learner.name, Learner.id)

    def values(row: Any) -> list[object]:
        learner, credentials, assessments = row
        added = learner.created_at.astimezone(UTC).isoformat(timespec="seconds")
        return [learner.name, learner.email, credentials, assessments, added]

    return _csv(app, header, statement, values)


def _assessments(provider_id: int, definition_id: int | None, outcome: str) -> Any:
    statement: Any = (
        select(Assessment, Learner.name, Learner.email, Definition.title, Definition.version)
        .join(Learner, Learner.id == Assessment.learner_id)
        .join(Definition, Definition.id == Assessment.definition_id)
        .where(Assessment.provider_id == provider_id)
    )
    if definition_id is not None:
        statement = statement.where(Assessment.definition_id == definition_id)
    if outcome in ("passed", "not_passed"):
        statement = statement.where(Assessment.passed.is_(outcome == "passed"))
    return statement


def assessments(
    session: Session, provider_id: int, definition_id: int | None, outcome: str, page: int = 1
) -> Page:
    """The provider's assessments, newest first."""
    statement = _assessments(provider_id, definition_id, outcome)
    return _paged(session, statement, (Assessment.assessed_on.desc(), Assessment.id.desc()), page)


def assessments_csv(
    app: App, provider_id: int, definition_id: int | None, outcome: str
) -> Iterator[str]:
    header = [_("assessed on"), _("learner"), _("email"), _("micro-credential"), _("version"),
              _("passed"), _("outcomes achieved"), _("grade"), _("credential")]  # fmt: skip
    statement = _assessments(provider_id, definition_id, outcome).order_by(
        Assessment.assessed_on.desc(), Assessment.id.desc()
    )

    def values(row: Any) -> list[object]:
        assessment, name, email, title, version = row
        achieved = sum(1 for r in assessment.results if _achieved(r))
        return [
            assessment.assessed_on.isoformat(), name, email, title, version,
            _("yes") if assessment.passed else _("no"),
            f"{achieved}/{len(assessment.results)}", assessment.grade or "",
            assessment.credential_id or "",
        ]  # fmt: skip

    return _csv(app, header, statement, values)


def _achieved(result: Any) -> bool:
    if isinstance(result, dict):
        return bool(result.get("achieved"))
    return bool(result[1]) if isinstance(result, list | tuple) and len(result) > 1 else False


def _csv(
    app: App, header: list[str], statement: Select[Any], values: Callable[[Any], list[object]]
) -> Iterator[str]:
    """CSV lines, the header first, read in batches in a read-only transaction of its own while
    the answer streams."""
    line = csv_lines()
    yield line(list(header))
    with transaction(app.sessions, readonly=True) as session:
        offset = 0
        while True:
            batch = session.execute(statement.limit(_BATCH).offset(offset)).all()
            for row in batch:
                yield line(values(row))
            if len(batch) < _BATCH:
                return
            offset += _BATCH
