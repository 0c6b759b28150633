"""Bulk issuing from CSV: validate every row first, then issue each good row exactly once.

Columns (header row required, names case-insensitive):
``name``, ``email`` (required); ``outcomes`` (achieved learning outcomes: ``all``, or their
numbers 1..n or ids, separated by ``;``; default ``all``); ``grade``; ``issued_on`` and
``valid_until`` (YYYY-MM-DD); ``reference`` (your own row id, used for idempotency).

Each row is issued in its own transaction under an idempotency key (the ``reference``, or a hash
of the row's content and the definition), so re-running a file, or resuming after a crash, issues
nothing twice, and a row is either issued or reported, never half done.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from sqlalchemy import select

from microcred import metrics
from microcred.db.session import transaction
from microcred.db.tables import Credential, Definition, Provider, Staff
from microcred.domain.assessment import OutcomeResult, decide
from microcred.domain.catalog import DefinitionData
from microcred.domain.errors import DomainError, NotFound
from microcred.services import definitions
from microcred.services.app import App
from microcred.services.issuing import Award, issue, published_definition
from microcred.services.providers import require

log = logging.getLogger(__name__)
MAX_BYTES = 64 * 1024 * 1024
MAX_ROWS = 200_000
KNOWN_COLUMNS = ("name", "email", "outcomes", "grade", "issued_on", "valid_until", "reference")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int  # line number in the file, header = 1
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


@dataclass(slots=True)
class BulkReport:
    total: int = 0
    issued: int = 0
    already: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    credential_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "rows": self.total,
            "issued": self.issued,
            "already_issued": self.already,
            "rejected": len({p.row for p in self.problems}),
            "problems": [
                {"row": p.row, "column": p.column, "reason": p.reason} for p in self.problems
            ],
        }


@dataclass(frozen=True, slots=True)
class GoodRow:
    line: int
    award: Award


def parse_csv(
    data: bytes, definition: DefinitionData, definition_id: int, version_key: str
) -> tuple[list[GoodRow], list[RowProblem], int]:
    """Every row checked before anything is issued."""
    if len(data) > MAX_BYTES:
        raise DomainError("bulk.too_large", f"the file is over {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError("bulk.not_utf8", f"the file is not UTF-8 (byte {exc.start})") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration as exc:
        raise DomainError("bulk.empty", "the file is empty") from exc
    except csv.Error as exc:
        raise DomainError("bulk.malformed", f"row 1: {exc}") from exc
    for required in ("name", "email"):
        if required not in header:
            raise DomainError(
                "bulk.column_missing", f"row 1: the header has no {required!r} column"
            )
    unknown = [h for h in header if h not in KNOWN_COLUMNS]
    if unknown:
        raise DomainError("bulk.column_unknown", f"row 1: unknown column(s): {', '.join(unknown)}")
    good: list[GoodRow] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    total = 0
    line = 1
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            total += 1
            if total > MAX_ROWS:
                raise DomainError("bulk.too_many_rows", f"more than {MAX_ROWS} rows")
            if len(cells) != len(header):
                problems.append(
                    RowProblem(line, "*", f"{len(cells)} cells, the header has {len(header)}")
                )
                continue
            row = {h: c.strip() for h, c in zip(header, cells, strict=True)}
            award, row_problems = _check_row(line, row, definition, definition_id)
            if row_problems:
                problems.extend(row_problems)
                continue
            assert award is not None
            key = row.get("reference") or _row_key(version_key, row)
            if key in seen:
                problems.append(
                    RowProblem(
                        line,
                        "reference" if row.get("reference") else "*",
                        f"duplicate of row {seen[key]}",
                    )
                )
                continue
            seen[key] = line
            good.append(GoodRow(line, replace(award, idempotency_key=f"bulk:{key}"[:64])))
    except csv.Error as exc:
        raise DomainError("bulk.malformed", f"row {line}: {exc}") from exc
    return good, problems, total


def _row_key(version_key: str, row: dict[str, str]) -> str:
    canonical = "\x1f".join(
        [version_key, row.get("email", "").lower(), row.get("outcomes", "all").lower()]
        + [row.get(c, "") for c in ("grade", "issued_on", "valid_until")]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


def _check_row(
    line: int, row: dict[str, str], definition: DefinitionData, definition_id: int
) -> tuple[Award | None, list[RowProblem]]:
    problems: list[RowProblem] = []
    if not row.get("name"):
        problems.append(RowProblem(line, "name", "the learner's name is missing"))
    email = row.get("email", "").lower()
    if not email:
        problems.append(RowProblem(line, "email", "the email is missing"))
    elif not _EMAIL.match(email):
        problems.append(RowProblem(line, "email", f"not an email address: {email!r}"))
    achieved = _outcomes(line, row.get("outcomes") or "all", definition, problems)
    dates: dict[str, date | None] = {}
    for column in ("issued_on", "valid_until"):
        value = row.get(column)
        dates[column] = None
        if value:
            try:
                dates[column] = date.fromisoformat(value)
            except ValueError:
                problems.append(RowProblem(line, column, f"not a date (YYYY-MM-DD): {value!r}"))
    if dates["issued_on"] and dates["valid_until"] and dates["valid_until"] <= dates["issued_on"]:
        problems.append(RowProblem(line, "valid_until", "must be after issued_on"))
    if problems:
        return None, problems
    results = [OutcomeResult(o.id, o.id in achieved) for o in definition.learning_outcomes]
    grade = row.get("grade") or None
    try:
        decision = decide(definition, results, grade)
    except DomainError as exc:
        return None, [RowProblem(line, exc.field or "grade", exc.message)]
    if not decision.passed:
        column = "grade" if "grade" in " ".join(decision.reasons) else "outcomes"
        return None, [RowProblem(line, column, "not awarded: " + "; ".join(decision.reasons))]
    award = Award(
        definition_id=definition_id,
        name=row["name"],
        email=email,
        results=results,
        grade=grade,
        issued_at=_midnight(dates["issued_on"]),
        valid_until=_midnight(dates["valid_until"]),
    )
    return award, []


def _outcomes(
    line: int, text: str, definition: DefinitionData, problems: list[RowProblem]
) -> set[str]:
    outcomes = definition.learning_outcomes
    if text.strip().lower() == "all":
        return {o.id for o in outcomes}
    achieved: set[str] = set()
    for token in (t.strip() for t in text.split(";")):
        if not token:
            continue
        if token.isdigit() and 1 <= int(token) <= len(outcomes):
            achieved.add(outcomes[int(token) - 1].id)
        elif definition.outcome(token) is not None:
            achieved.add(token)
        else:
            problems.append(RowProblem(line, "outcomes", f"unknown learning outcome {token!r}"))
    return achieved


def _midnight(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


Progress = Callable[[int, int], None]


def issue_csv(
    app: App,
    staff_id: int,
    definition_id: int,
    data: bytes,
    progress: Progress | None = None,
) -> BulkReport:
    """Validate, then issue the good rows one transaction each. Safe to re-run.
    An unexpected error is logged with its traceback and raised (rows issued so far stay)."""
    with metrics.BULK_UPLOADS_RUNNING.track_inprogress():
        try:
            return _issue_csv(app, staff_id, definition_id, data, progress)
        except DomainError:
            raise
        except Exception:
            log.exception("bulk issuing stopped (definition %s, staff %s)", definition_id, staff_id)
            raise


def _issue_csv(
    app: App, staff_id: int, definition_id: int, data: bytes, progress: Progress | None
) -> BulkReport:
    with transaction(app.sessions) as session:
        staff = session.get(Staff, staff_id)
        assert staff is not None
        require(staff, "issue")
        provider_id = staff.provider_id
        provider = session.get(Provider, provider_id)
        assert provider is not None
        row: Definition = published_definition(session, provider, definition_id)
        data_model = definitions.data_of(row)
        version_key = f"{row.family}:v{row.version}"
    good, problems, total = parse_csv(data, data_model, definition_id, version_key)
    report = BulkReport(total=total, problems=problems)
    for done, item in enumerate(good, start=1):
        with transaction(app.sessions) as session:
            staff = session.get(Staff, staff_id)
            assert staff is not None
            existing = session.scalar(
                select(Credential.id).where(
                    Credential.provider_id == provider_id,
                    Credential.idempotency_key == item.award.idempotency_key,
                )
            )
            if existing:
                report.already += 1
                report.credential_ids.append(existing)
            else:
                try:
                    credential = issue(app, session, staff, item.award)
                except DomainError as exc:
                    report.problems.append(RowProblem(item.line, exc.field or "*", exc.message))
                    continue
                report.issued += 1
                report.credential_ids.append(credential.id)
        if progress:
            progress(done, len(good))
    report.problems.sort(key=lambda p: p.row)
    return report


def issuer_for(app: App, definition_id: int, as_email: str | None) -> int:
    """The staff member a command line run issues as: ``as_email`` of the definition's
    provider, else one of its owners. Raises NotFound("definition") or NotFound("staff")."""
    with app.sessions() as session:
        row = session.get(Definition, definition_id)
        if row is None:
            raise NotFound("definition")
        query = select(Staff).where(Staff.provider_id == row.provider_id)
        query = (
            query.where(Staff.email == as_email.lower())
            if as_email
            else query.where(Staff.role == "owner")
        )
        staff = session.scalars(query).first()
        if staff is None:
            raise NotFound("staff")
        return staff.id
