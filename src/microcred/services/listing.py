"""The provider's lists of what it issued: filtered, a page at a time, and the same rows as CSV
(every match, streamed in batches; cells that a spreadsheet would run as a formula are
neutralised)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from microcred.db.session import transaction
from microcred.db.tables import Credential, Definition
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


def credentials_csv(app: App, provider_id: int, query: CredentialQuery) -> Iterator[str]:
    """Every credential the query matches as CSV lines (a header first), read in batches in a
    read-only transaction of its own while the answer streams."""
    out = io.StringIO()
    writer = csv.writer(out)

    def line(values: list[object]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow([spreadsheet_cell(v) for v in values])
        return out.getvalue()

    yield line(
        [_("id"), _("learner"), _("email"), _("micro-credential"), _("version"),
         _("issued (UTC)"), _("state"), _("reason"), _("public page")]
    )  # fmt: skip
    statement = _select(provider_id, query).order_by(Credential.issued_at.desc(), Credential.id)
    with transaction(app.sessions, readonly=True) as session:
        yield from _rows(app, session, statement, line)


def _rows(
    app: App,
    session: Session,
    statement: Select[Credential, str, int],
    line: Callable[[list[object]], str],
) -> Iterator[str]:
    offset = 0
    while True:
        batch = session.execute(statement.limit(_BATCH).offset(offset)).all()
        for credential, title, version in batch:
            yield line(
                [
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
            )
        if len(batch) < _BATCH:
            return
        offset += _BATCH
