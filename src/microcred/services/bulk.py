"""Bulk issuing from CSV: validate every row first, then issue each good row exactly once.

Columns (header row required, names case-insensitive):
``name``, ``email`` (required); ``outcomes`` (achieved learning outcomes: ``all``, or their
numbers 1..n or ids, separated by ``;``; default ``all``); ``grade``; ``issued_on`` and
``valid_until`` (YYYY-MM-DD); ``reference`` (your own row id, used for idempotency).

An upload is checked whole in the request; its good rows are stored (``bulk_rows``) and issued by
``bulk.chunk`` jobs of :data:`CHUNK_ROWS` rows (ADR 0019). Each row has an idempotency key (the
``reference``, or a hash of the row's content and the definition) and a credential id derived
from it, so re-running a file, a retried chunk or a chunk run twice issues nothing twice. A chunk
holds its rows' status indexes in one short transaction under the provider's lock, signs outside
any transaction, then stores its credentials, one audit event and one email job in another: a
crash anywhere leaves each row issued once or still pending, never half done.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from microcred import metrics
from microcred.db.batch import among, insert_rows, update_rows
from microcred.db.session import transaction
from microcred.db.tables import (
    BulkRow,
    BulkUpload,
    Credential,
    Definition,
    Provider,
    Staff,
    StatusList,
)
from microcred.domain.assessment import OutcomeResult, decide
from microcred.domain.award import Recipient
from microcred.domain.catalog import DefinitionData
from microcred.domain.errors import DomainError, NotFound
from microcred.i18n import DEFAULT, N_, _, use_language
from microcred.i18n import current as current_language
from microcred.services import audit, definitions, jobs, listing, notify, usage
from microcred.services.app import App
from microcred.services.issuing import (
    Award,
    credential_text,
    published_definition,
    sign_planned,
    signing_plan,
    upsert_learners,
)
from microcred.services.keys import active_key, active_row
from microcred.services.providers import require
from microcred.services.status import allocate_many

log = logging.getLogger(__name__)
MAX_BYTES = 24 * 1024 * 1024  # 200,000 rows of 120 bytes; refused as the bytes arrive (web.limits)
MAX_ROWS = 200_000
KNOWN_COLUMNS = ("name", "email", "outcomes", "grade", "issued_on", "valid_until", "reference")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row refused. ``reason`` is kept with the upload and shown to whoever reads it later, so
    it is in English; the reasons without values are marked (``N_``) and a page shows them as
    ``_(reason)``."""

    row: int  # line number in the file, header = 1
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


@dataclass(frozen=True, slots=True)
class GoodRow:
    line: int
    award: Award


def parse_csv(
    data: bytes, definition: DefinitionData, definition_id: int, version_key: str
) -> tuple[list[GoodRow], list[RowProblem], int]:
    """Every row checked before anything is issued (all of them, in lists)."""
    rows = CsvRows(data, definition, definition_id, version_key)
    good: list[GoodRow] = []
    problems: list[RowProblem] = []
    for item in rows:
        (good if isinstance(item, GoodRow) else problems).append(item)  # type: ignore[arg-type]
    return good, problems, rows.total


class CsvRows:
    """A bulk file read row by row: a good row or a problem at a time, so a 100,000-row file is
    never held as objects all at once. The header is checked on creation; file-level problems
    (size, encoding, header, too many rows, broken quoting) raise :class:`DomainError`."""

    def __init__(
        self, data: bytes, definition: DefinitionData, definition_id: int, version_key: str
    ) -> None:
        if len(data) > MAX_BYTES:
            raise DomainError(
                "bulk.too_large",
                _("the file is over %(mib)s MiB") % {"mib": MAX_BYTES // (1024 * 1024)},
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DomainError(
                "bulk.not_utf8", _("the file is not UTF-8 (byte %(byte)s)") % {"byte": exc.start}
            ) from exc
        self._reader = csv.reader(io.StringIO(text, newline=""))
        try:
            self._header = [h.strip().lower() for h in next(self._reader)]
        except StopIteration as exc:
            raise DomainError("bulk.empty", _("the file is empty")) from exc
        except csv.Error as exc:
            raise DomainError(
                "bulk.malformed", _("row %(row)s: %(error)s") % {"row": 1, "error": exc}
            ) from exc
        for required in ("name", "email"):
            if required not in self._header:
                raise DomainError(
                    "bulk.column_missing",
                    _("row 1: the header has no %(column)s column") % {"column": repr(required)},
                )
        unknown = [h for h in self._header if h not in KNOWN_COLUMNS]
        if unknown:
            raise DomainError(
                "bulk.column_unknown",
                _("row 1: unknown column(s): %(columns)s") % {"columns": ", ".join(unknown)},
            )
        self._definition = definition
        self._definition_id = definition_id
        self._version_key = version_key
        self.total = 0  # rows read so far (blank lines aside)

    def __iter__(self) -> Iterator[GoodRow | RowProblem]:
        header, reader = self._header, self._reader
        seen: dict[str, int] = {}
        line = 1
        try:
            for cells in reader:
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                self.total += 1
                if self.total > MAX_ROWS:
                    raise DomainError(
                        "bulk.too_many_rows", _("more than %(rows)s rows") % {"rows": MAX_ROWS}
                    )
                if len(cells) != len(header):
                    yield RowProblem(line, "*", f"{len(cells)} cells, the header has {len(header)}")
                    continue
                row = {h: c.strip() for h, c in zip(header, cells, strict=True)}
                award, row_problems = _check_row(line, row, self._definition, self._definition_id)
                if row_problems:
                    yield from row_problems
                    continue
                assert award is not None
                key = row.get("reference") or _row_key(self._version_key, row)
                if key in seen:
                    yield RowProblem(
                        line,
                        "reference" if row.get("reference") else "*",
                        f"duplicate of row {seen[key]}",
                    )
                    continue
                seen[key] = line
                yield GoodRow(line, replace(award, idempotency_key=f"bulk:{key}"[:64]))
        except csv.Error as exc:
            raise DomainError(
                "bulk.malformed", _("row %(row)s: %(error)s") % {"row": line, "error": exc}
            ) from exc


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
        problems.append(RowProblem(line, "name", N_("the learner's name is missing")))
    email = row.get("email", "").lower()
    if not email:
        problems.append(RowProblem(line, "email", N_("the email is missing")))
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
        problems.append(RowProblem(line, "valid_until", N_("must be after issued_on")))
    if problems:
        return None, problems
    results = [OutcomeResult(o.id, o.id in achieved) for o in definition.learning_outcomes]
    grade = row.get("grade") or None
    try:
        if current_language() == DEFAULT:
            decision = decide(definition, results, grade)
        else:  # kept with the upload: in English (RowProblem)
            with use_language(DEFAULT):
                decision = decide(definition, results, grade)
    except DomainError as exc:
        return None, [RowProblem(line, exc.field or "grade", exc.message)]
    if not decision.passed:
        # a reason beyond the one for outcomes not achieved is about the grade
        outcomes_failed = any(not r.achieved for r in results)
        column = "grade" if len(decision.reasons) > outcomes_failed else "outcomes"
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


CHUNK_ROWS = 100  # rows per job: one transaction, one audit event, one email job


def _award_json(award: Award) -> dict[str, Any]:
    return {
        "name": award.name,
        "email": award.email,
        "results": [[r.outcome_id, r.achieved] for r in award.results],
        "grade": award.grade,
        "issued_at": award.issued_at.isoformat() if award.issued_at else None,
        "valid_until": award.valid_until.isoformat() if award.valid_until else None,
    }


def _award_of(data: dict[str, Any], idempotency_key: str, definition_id: int) -> Award:
    return Award(
        definition_id=definition_id,
        name=data["name"],
        email=data["email"],
        results=[OutcomeResult(o, bool(a)) for o, a in data["results"]],
        grade=data["grade"],
        idempotency_key=idempotency_key,
        issued_at=datetime.fromisoformat(data["issued_at"]) if data["issued_at"] else None,
        valid_until=datetime.fromisoformat(data["valid_until"]) if data["valid_until"] else None,
    )


def start_upload(
    app: App, session: Session, staff: Staff, definition_id: int, data: bytes, filename: str
) -> BulkUpload:
    """Check every row, keep the good ones, and enqueue their chunks: all in the caller's
    transaction, so a refused file (``DomainError``) leaves nothing and an accepted one is
    issued by the workers even if this process stops."""
    require(staff, "issue")
    provider = session.get(Provider, staff.provider_id)
    assert provider is not None
    row: Definition = published_definition(session, provider, definition_id)
    version_key = f"{row.family}:v{row.version}"
    rows = CsvRows(data, definitions.data_of(row), row.id, version_key)
    upload = BulkUpload(
        id=uuid.uuid4().hex,
        provider_id=provider.id,
        definition_id=row.id,
        staff_id=staff.id,
        filename=(filename or "upload.csv")[:200],
        file_sha256=hashlib.sha256(data).hexdigest(),
        rows_total=0,
        problems=[],
        chunks=0,
        state="running",
        created_at=app.now(),
        finished_at=None,
    )
    session.add(upload)
    session.flush()
    # stored as read, a few thousand rows at a time (memory stays flat for any file size);
    # a file-level problem part way raises, and the caller's transaction keeps nothing
    problems: list[dict[str, object]] = []
    batch: list[dict[str, object]] = []
    accepted = 0
    for item in rows:
        if isinstance(item, RowProblem):
            problems.append({"row": item.row, "column": item.column, "reason": item.reason})
            continue
        batch.append(
            {
                "upload_id": upload.id,
                "line": item.line,
                "chunk": accepted // CHUNK_ROWS,
                "award": _award_json(item.award),
                "idempotency_key": item.award.idempotency_key,
                "state": "pending",
            }
        )
        accepted += 1
        if len(batch) >= _INSERT_ROWS:
            insert_rows(session, BulkRow, batch)
            batch = []
    if batch:
        insert_rows(session, BulkRow, batch)
    upload.rows_total = rows.total
    upload.rows_pending = accepted
    upload.problems = problems
    upload.chunks = (accepted + CHUNK_ROWS - 1) // CHUNK_ROWS
    if not accepted:
        upload.state, upload.finished_at = "done", app.now()
    for chunk in range(upload.chunks):
        jobs.enqueue(app, session, "bulk.chunk", upload_id=upload.id, chunk=chunk)
    audit.log(
        session,
        provider.id,
        staff,
        "bulk.uploaded",
        upload.id,
        {"file_sha256": upload.file_sha256, "rows": rows.total, "accepted": accepted},
    )
    return upload


_INSERT_ROWS = 2000  # bulk rows per insert while a file is read


class StaleKeyError(Exception):
    """The signing key changed between signing and storing: the chunk is signed again."""


@jobs.task("bulk.chunk", queue="bulk", max_attempts=8, wait=5)
def run_chunk(app: App, upload_id: str, chunk: int) -> None:
    """Issue one chunk's pending rows. Safe to run again and alongside itself: rows are
    locked, issued rows are skipped, and each row's credential id derives from its key."""
    with metrics.BULK_UPLOADS_RUNNING.track_inprogress():
        prepared = _reserve(app, upload_id, chunk)
        if prepared is None:
            return
        signed = _sign(app, prepared)
        _store(app, prepared, signed)
        if (chunk + 1) % ANALYZE_EVERY == 0:
            _analyze(app)


ANALYZE_EVERY = 50  # chunks: PostgreSQL's statistics kept current while a large file grows tables


def _analyze(app: App) -> None:
    """Refresh PostgreSQL's statistics of the tables a large upload grows, so the per-chunk
    lookups keep their plans (issue 13: stale statistics chose the wrong indexes as the tables
    grew). It blocks neither reads nor writes; SQLite needs nothing."""
    if app.engine.dialect.name != "postgresql":
        return
    with app.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE credentials, learners, bulk_rows, status_lists"
        )


@dataclass(slots=True)
class _Prepared:
    upload_id: str
    chunk: int
    provider: Provider
    definition: Definition
    key_row: Any
    key_pair: Any
    rows: list[tuple[int, Award, int, int]]  # line, award, list number, index


def _reserve(app: App, upload_id: str, chunk: int) -> _Prepared | None:
    """Hold a status index for each pending row (kept across retries) and read what signing
    needs; a short transaction under the provider's lock."""
    with transaction(app.sessions) as session:
        _commit_without_waiting(session)
        upload = session.get(BulkUpload, upload_id)
        if upload is None:
            log.warning("bulk upload %s is gone; chunk %s skipped", upload_id, chunk)
            return None
        provider = session.get(Provider, upload.provider_id, with_for_update=True)
        assert provider is not None
        rows = session.execute(  # plain rows: ORM objects cost a tenth of a chunk
            select(
                BulkRow.line,
                BulkRow.award,
                BulkRow.idempotency_key,
                BulkRow.status_list_id,
                BulkRow.status_index,
            )
            .where(
                BulkRow.upload_id == upload_id,
                BulkRow.chunk == chunk,
                BulkRow.state == "pending",
            )
            .order_by(BulkRow.line)
        ).all()
        if not rows:
            _finish_if_done(app, session, upload)
            return None
        staff = session.get(Staff, upload.staff_id)
        assert staff is not None
        try:
            if staff.deactivated_at is not None:
                raise DomainError("staff.removed", N_("the uploader was removed from the provider"))
            require(staff, "issue")
            definition = published_definition(session, provider, upload.definition_id)
        except DomainError as exc:  # the uploader lost the right, or the definition was withdrawn
            update_rows(
                session,
                BulkRow,
                [
                    {
                        "upload_id": upload_id,
                        "line": row.line,
                        "state": "refused",
                        "problem": {"column": "*", "reason": exc.message},
                    }
                    for row in rows
                ],
            )
            _finish_if_done(app, session, upload, Counter(refused=len(rows)))
            return None
        held = {row.line: (row.status_list_id, row.status_index) for row in rows}
        numbers: dict[int, int] = {}
        waiting = [row.line for row in rows if row.status_index is None]
        if waiting:
            assigned = []
            for line, (status_row, index) in zip(
                waiting, allocate_many(app, session, provider, len(waiting)), strict=True
            ):
                held[line] = (status_row.id, index)
                numbers[status_row.id] = status_row.number
                assigned.append(
                    {
                        "upload_id": upload_id,
                        "line": line,
                        "status_list_id": status_row.id,
                        "status_index": index,
                    }
                )
            update_rows(session, BulkRow, assigned)
        for list_id in {list_id for list_id, _index in held.values()} - set(numbers):
            found = session.get(StatusList, list_id)
            assert found is not None
            numbers[found.id] = found.number
        key_row, key_pair = active_key(app, session, provider)
        session.expunge_all()
        return _Prepared(
            upload_id,
            chunk,
            provider,
            definition,
            key_row,
            key_pair,
            [
                (
                    row.line,
                    _award_of(row.award, row.idempotency_key, definition.id),
                    numbers[held[row.line][0]],
                    held[row.line][1],
                )
                for row in rows
            ],
        )


def _commit_without_waiting(session: Session) -> None:
    """On PostgreSQL, this transaction's commit does not wait for its WAL to reach the disk
    (two commits per chunk, each an fsync). Safe for a chunk: the job's own completion is
    committed synchronously afterwards, and that flushes the WAL before it, chunk included; a
    crash in between loses the chunk's commit but not its job, which then runs again (rows
    still pending, the same credential ids)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


def _credential_id(app: App, provider_id: int, key: str) -> str:
    """A bulk row's credential id, the same on every attempt."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{app.settings.base_url}#{provider_id}/{key}"))


def _sign(app: App, prepared: _Prepared) -> dict[int, tuple[dict[str, Any], datetime, Any]]:
    """Sign every row of the chunk: CPU only, no transaction, no lock."""
    out = {}
    plan = signing_plan(
        app, prepared.provider, prepared.definition, prepared.key_row, prepared.key_pair
    )
    for line, award, number, index in prepared.rows:
        assert award.idempotency_key is not None
        out[line] = sign_planned(
            app,
            plan,
            award,
            Recipient(award.name.strip(), award.email.strip().lower()),
            _credential_id(app, prepared.provider.id, award.idempotency_key),
            (number, index),
        )
    return out


def _store(
    app: App, prepared: _Prepared, signed: dict[int, tuple[dict[str, Any], datetime, Any]]
) -> None:
    """Store the chunk's credentials, its audit event and its email job: one transaction."""
    with transaction(app.sessions) as session:
        _commit_without_waiting(session)
        upload = session.get(BulkUpload, prepared.upload_id)
        assert upload is not None
        provider = session.get(Provider, prepared.provider.id)
        staff = session.get(Staff, upload.staff_id)
        assert provider is not None
        assert staff is not None
        if active_row(session, provider).fragment != prepared.key_row.fragment:
            raise StaleKeyError(f"the signing key of {provider.slug} changed; signing again")
        # read and written as plain rows (ORM bulk statements): a unit of work per row cost
        # more than a tenth of a chunk
        rows = {
            line: (key, list_id, index)
            for line, key, list_id, index in session.execute(
                select(
                    BulkRow.line,
                    BulkRow.idempotency_key,
                    BulkRow.status_list_id,
                    BulkRow.status_index,
                )
                .where(
                    BulkRow.upload_id == prepared.upload_id,
                    BulkRow.chunk == prepared.chunk,
                    BulkRow.state == "pending",
                )
                .with_for_update()
            )
        }
        issued: list[tuple[Credential, str | None]] = []
        todo = [(line, award) for line, award, _n, _i in prepared.rows if line in rows]
        keys = [rows[line][0] for line, _award in todo]
        existing = dict(  # rows issued by an earlier upload of the same file
            session.execute(
                select(Credential.idempotency_key, Credential.id).where(
                    Credential.provider_id == provider.id,
                    among(session, Credential.idempotency_key, keys),
                )
            ).all()
        )
        fresh = [(line, award) for line, award in todo if rows[line][0] not in existing]
        learners = dict(
            zip(
                [line for line, _award in fresh],
                upsert_learners(app, session, provider, [(a.name, a.email) for _l, a in fresh]),
                strict=True,
            )
        )
        updates: list[dict[str, Any]] = []
        for line, _award in todo:
            key, list_id, index = rows[line]
            update_row: dict[str, Any] = {"upload_id": prepared.upload_id, "line": line}
            updates.append(update_row)
            if key in existing:
                update_row.update(state="already", credential_id=existing[key])
                continue
            learner = learners[line]
            if isinstance(learner, DomainError):
                problem = {"column": learner.field or "*", "reason": learner.message}
                update_row.update(state="refused", problem=problem)
                continue
            document, issued_at, valid_until = signed[line]
            credential = Credential(
                id=_credential_id(app, provider.id, key),
                provider_id=provider.id,
                definition_id=prepared.definition.id,
                learner_id=learner.id,
                recipient_name=learner.name,
                recipient_email=learner.email,
                status_list_id=list_id,
                status_index=index,
                state="active",
                document=credential_text(document),
                key_fragment=prepared.key_row.fragment,
                issued_at=issued_at,
                valid_until=valid_until,
                idempotency_key=key,
            )
            update_row.update(state="issued", credential_id=credential.id)
            issued.append((credential, _achievement_name(document)))
        for same in (  # rows given the same columns, in one statement each
            [u for u in updates if "credential_id" in u],
            [u for u in updates if "problem" in u],
        ):
            update_rows(session, BulkRow, same)
        if issued:
            insert_rows(session, Credential, [_columns(c) for c, _title in issued])
            usage.count_credentials(session, [c for c, _t in issued], "issued", app.now())
            audit.log(
                session,
                provider.id,
                staff,
                "bulk.chunk_issued",
                f"{prepared.upload_id}/{prepared.chunk}",
                {
                    "credentials": [
                        {"id": c.id, "sha256": audit.digest(c.document)} for c, _t in issued
                    ]
                },
            )
            # a chunk's emails in the micro-credential's language (one rendering for all)
            with use_language(notify.reader_language(session, "", prepared.definition.id)):
                notify.queue_many(app, session, notify.issued_messages(app, provider, issued))
            count = len(issued)
            metrics.count_on_commit(
                session, lambda: metrics.CREDENTIALS_ISSUED.labels("bulk").inc(count)
            )
        _finish_if_done(app, session, upload, Counter(u["state"] for u in updates))


_CREDENTIAL_COLUMNS = tuple(c.key for c in Credential.__table__.columns)


def _columns(credential: Credential) -> dict[str, Any]:
    """A new (not added) credential's values, every column's, for ``insert_rows``."""
    return {name: getattr(credential, name) for name in _CREDENTIAL_COLUMNS}


def _achievement_name(document: dict[str, Any]) -> str | None:
    subject = document.get("credentialSubject")
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    name = achievement.get("name") if isinstance(achievement, dict) else None
    return name if isinstance(name, str) and name else None


def _finish_if_done(
    app: App, session: Session, upload: BulkUpload, outcomes: Counter[str] | None = None
) -> None:
    """Count the chunk's ``outcomes`` (rows that left ``pending``, by their new state) on the
    upload; the last chunk closes it, and drops the rows' names and emails (the credentials
    keep them; the rows keep their key, state and credential id)."""
    session.flush()
    # the upload's row locked: two chunks committing together count one after the other
    locked = session.get(BulkUpload, upload.id, with_for_update=True, populate_existing=True)
    assert locked is not None
    for state, count in (outcomes or Counter()).items():
        setattr(locked, f"rows_{state}", getattr(locked, f"rows_{state}") + count)
        locked.rows_pending -= count
    if locked.rows_pending > 0:
        return
    if locked.state != "done":
        locked.state, locked.finished_at = "done", app.now()
        session.execute(update(BulkRow).where(BulkRow.upload_id == upload.id).values(award={}))


@dataclass(frozen=True, slots=True)
class UploadProgress:
    upload: BulkUpload
    definition_title: str
    pending: int
    issued: int
    already: int
    refused: int
    problems: list[RowProblem]

    @property
    def accepted(self) -> int:
        return self.pending + self.issued + self.already + self.refused

    @property
    def done(self) -> bool:
        return self.upload.state == "done"

    def to_json(self) -> dict[str, object]:
        return {
            "upload": self.upload.id,
            "state": self.upload.state,
            "rows": self.upload.rows_total,
            "issued": self.issued,
            "already_issued": self.already,
            "pending": self.pending,
            "rejected": len({p.row for p in self.problems}),
            "problems": [
                {"row": p.row, "column": p.column, "reason": p.reason} for p in self.problems
            ],
        }


def progress(session: Session, provider_id: int, upload_id: str) -> UploadProgress:
    """An upload of the provider's, from the counts its chunks keep (any process shows the
    same)."""
    upload = session.get(BulkUpload, upload_id)
    if upload is None or upload.provider_id != provider_id:
        raise NotFound("upload")
    refused = (  # the rows refused while issuing (few): read only when there are some
        session.execute(
            select(BulkRow.line, BulkRow.problem).where(
                BulkRow.upload_id == upload_id, BulkRow.state == "refused"
            )
        ).all()
        if upload.rows_refused
        else []
    )
    problems = [RowProblem(p["row"], p["column"], p["reason"]) for p in upload.problems]
    problems += [
        RowProblem(line, (problem or {}).get("column", "*"), (problem or {}).get("reason", ""))
        for line, problem in refused
    ]
    problems.sort(key=lambda p: p.row)
    definition = session.get(Definition, upload.definition_id)
    return UploadProgress(
        upload,
        definition.title if definition is not None else "",
        upload.rows_pending,
        upload.rows_issued,
        upload.rows_already,
        upload.rows_refused,
        problems,
    )


def recent_uploads(
    session: Session, provider_id: int, definition_id: int, limit: int = 20
) -> list[BulkUpload]:
    """The provider's latest uploads for a definition, newest first."""
    return list(
        session.scalars(
            select(BulkUpload)
            .where(BulkUpload.provider_id == provider_id, BulkUpload.definition_id == definition_id)
            .order_by(BulkUpload.created_at.desc())
            .limit(limit)
        )
    )


def upload_as(app: App, staff_id: int, definition_id: int, data: bytes, filename: str) -> str:
    """The command line's upload: its own transaction; returns the upload's id."""
    with transaction(app.sessions) as session:
        staff = session.get(Staff, staff_id)
        assert staff is not None
        return start_upload(app, session, staff, definition_id, data, filename).id


def progress_of(app: App, upload_id: str) -> UploadProgress:
    """Any upload's progress (the command line, which acts for the platform)."""
    with transaction(app.sessions, readonly=True) as session:
        upload = session.get(BulkUpload, upload_id)
        if upload is None:
            raise NotFound("upload")
        return progress(session, upload.provider_id, upload_id)


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


_OUTCOMES = {
    "pending": N_("waiting to be issued"),
    "issued": N_("issued"),
    "already": N_("issued before (not again)"),
    "refused": N_("refused while issuing"),
    "rejected": N_("rejected: not issued"),
}


def report_csv(app: App, provider_id: int, upload_id: str) -> Iterator[str]:
    """Every row of an upload and what became of it, as CSV (header first): the rows rejected
    when the file was checked and each kept row's outcome, with the reason and the credential.
    Read in a transaction of its own while the answer streams; cells that a spreadsheet would
    run as a formula are quoted."""
    line = listing.csv_lines()
    with transaction(app.sessions, readonly=True) as session:
        upload = session.get(BulkUpload, upload_id)
        if upload is None or upload.provider_id != provider_id:
            raise NotFound("upload")
        yield line([_("row"), _("outcome"), _("name"), _("email"), _("column"), _("reason"),
                    _("credential")])  # fmt: skip
        rejected = {p["row"]: p for p in upload.problems}
        kept = session.execute(  # names from the credentials (rows forget them when done)
            select(
                BulkRow.line, BulkRow.state, BulkRow.award, BulkRow.problem,
                BulkRow.credential_id, Credential.recipient_name, Credential.recipient_email,
            )
            .outerjoin(Credential, Credential.id == BulkRow.credential_id)
            .where(BulkRow.upload_id == upload_id)
            .order_by(BulkRow.line)
        )  # fmt: skip
        rows: dict[int, list[object]] = {}
        for number, problem in rejected.items():
            rows[number] = [number, _(_OUTCOMES["rejected"]), "", "", problem.get("column", "*"),
                            _(problem.get("reason", "")), ""]  # fmt: skip
        for number, state, award, problem, credential_id, name, email in kept:
            problem = problem or {}
            rows[number] = [
                number, _(_OUTCOMES.get(state, state)), name or (award or {}).get("name", ""),
                email or (award or {}).get("email", ""), problem.get("column", ""),
                _(problem.get("reason", "")), credential_id or "",
            ]  # fmt: skip
        for number in sorted(rows):
            yield line(rows[number])
