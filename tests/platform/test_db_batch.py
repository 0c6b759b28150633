"""``db.batch``: COPY and UPDATE ... FROM unnest on PostgreSQL, executemany on SQLite, the same
rows either way:
any text (tabs, line breaks, backslashes, quotes, any script), JSON, times in any zone, NULLs;
in the caller's transaction; rows it cannot write are refused before anything is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from microcred.db.batch import among, insert_rows, update_rows
from microcred.db.session import transaction
from microcred.db.tables import BulkRow, BulkUpload, Credential
from tests.platform.conftest import make_org, publish_definition

AWKWARD = "tab\there, line\nbreak, back\\slash \\N, quote \"' , Zoë 名前 \U0001f393, end\\"


def _upload(platform, org, definition_id: int) -> str:
    with transaction(platform.sessions) as session:
        session.add(
            BulkUpload(
                id="u1",
                provider_id=org.provider_id,
                definition_id=definition_id,
                staff_id=org.staff["issuer"],
                filename="f.csv",
                file_sha256="0" * 64,
                rows_total=0,
                problems=[],
                chunks=0,
                state="running",
                created_at=datetime.now(UTC),
                finished_at=None,
            )
        )
    return "u1"


def test_rows_written_are_the_rows_read(platform) -> None:
    org = make_org(platform, "copy")
    definition = publish_definition(platform, org)
    upload = _upload(platform, org, definition.id)
    award = {"name": AWKWARD, "nested": [1, 2.5, None, True, {"k": AWKWARD}]}
    rows = [
        {
            "upload_id": upload,
            "line": n,
            "chunk": n // 2,
            "award": award,
            "idempotency_key": f"k{n}{AWKWARD}"[:64],
            "state": "pending",
        }
        for n in range(5)
    ]
    with transaction(platform.sessions) as session:
        insert_rows(session, BulkRow, rows)
    with platform.sessions() as session:
        stored = session.scalars(select(BulkRow).order_by(BulkRow.line)).all()
        assert [(r.line, r.chunk, r.award, r.idempotency_key, r.state) for r in stored] == [
            (r["line"], r["chunk"], award, r["idempotency_key"], "pending") for r in rows
        ]
        assert all(r.status_index is None and r.problem is None for r in stored)


def test_times_in_any_zone_are_stored_as_utc_and_none_is_null(platform) -> None:
    org = make_org(platform, "copy")
    definition = publish_definition(platform, org)
    with transaction(platform.sessions) as session:
        from microcred.db.tables import Provider
        from microcred.services.status import allocate_many

        provider = session.get(Provider, org.provider_id)
        ((status_row, index),) = allocate_many(platform, session, provider, 1)
        status_list_id = status_row.id
    issued = datetime(2026, 12, 1, 10, 30, tzinfo=timezone(timedelta(hours=-5)))
    base = {
        "id": "c1",
        "provider_id": org.provider_id,
        "definition_id": definition.id,
        "learner_id": None,
        "recipient_name": AWKWARD,
        "recipient_email": "ada@example.org",
        "status_list_id": status_list_id,
        "status_index": index,
        "state": "active",
        "state_reason": None,
        "document": "{}",
        "key_fragment": "key-1",
        "issued_at": issued,
        "valid_until": None,
        "idempotency_key": None,
    }
    with transaction(platform.sessions) as session:
        insert_rows(session, Credential, [base])
    with platform.sessions() as session:
        stored = session.get(Credential, "c1")
        assert stored is not None
        assert stored.issued_at == issued
        assert stored.issued_at.utcoffset() == timedelta(0)
        assert stored.valid_until is None
        assert stored.state_reason is None
        assert stored.recipient_name == AWKWARD
    naive = {**base, "id": "c2", "status_index": index + 1, "issued_at": datetime(2026, 1, 1)}
    # SQLite's INSERT wraps the type's error in a StatementError
    with (
        pytest.raises((ValueError, StatementError), match="naive datetime"),
        transaction(platform.sessions) as session,
    ):
        insert_rows(session, Credential, [naive])


def test_rows_it_cannot_write_are_refused_and_nothing_is_written(platform) -> None:
    org = make_org(platform, "copy")
    definition = publish_definition(platform, org)
    upload = _upload(platform, org, definition.id)
    good = {
        "upload_id": upload,
        "line": 1,
        "chunk": 0,
        "award": {},
        "idempotency_key": "a",
        "state": "pending",
    }
    cases = [
        ([good, {k: v for k, v in good.items() if k != "state"}], "name different columns"),
        ([{**good, "colour": "red"}], "no column"),
        ([{**good, "award": None}], "is JSON"),
    ]
    for rows, message in cases:
        with pytest.raises(ValueError, match=message), transaction(platform.sessions) as session:
            insert_rows(session, BulkRow, rows)

    def written_then_failed() -> None:
        with transaction(platform.sessions) as session:
            insert_rows(session, BulkRow, [good])
            raise RuntimeError("the caller's transaction rolls back")

    with pytest.raises(RuntimeError):
        written_then_failed()
    with platform.sessions() as session:
        assert session.scalar(select(func.count()).select_from(BulkRow)) == 0


def test_rows_updated_by_their_keys(platform) -> None:
    org = make_org(platform, "copy")
    definition = publish_definition(platform, org)
    upload = _upload(platform, org, definition.id)
    rows = [
        {
            "upload_id": upload,
            "line": n,
            "chunk": 0,
            "award": {"n": n},
            "idempotency_key": f"k{n}",
            "state": "pending",
        }
        for n in range(6)
    ]
    with transaction(platform.sessions) as session:
        insert_rows(session, BulkRow, rows)
        update_rows(
            session,
            BulkRow,
            [
                {"upload_id": upload, "line": n, "state": "issued", "credential_id": AWKWARD[:36]}
                for n in (1, 3)
            ],
        )
        update_rows(
            session,
            BulkRow,
            [{"upload_id": upload, "line": 4, "state": "refused", "problem": {"why": AWKWARD}}],
        )
    with platform.sessions() as session:
        stored = {r.line: r for r in session.scalars(select(BulkRow))}
        assert {n: r.state for n, r in stored.items()} == {
            0: "pending",
            1: "issued",
            2: "pending",
            3: "issued",
            4: "refused",
            5: "pending",
        }
        assert stored[1].credential_id == stored[3].credential_id == AWKWARD[:36]
        assert stored[4].problem == {"why": AWKWARD}
        assert stored[0].credential_id is None
        assert stored[0].award == {"n": 0}
    refused = [
        ([{"upload_id": upload, "state": "issued"}], "need its key"),
        ([{"upload_id": upload, "line": 1}], "need its key"),
        ([{"upload_id": upload, "line": 1, "problem": None}], "is JSON"),
    ]
    for bad, message in refused:
        with pytest.raises(ValueError, match=message), transaction(platform.sessions) as session:
            update_rows(session, BulkRow, bad)
    missing = [{"upload_id": upload, "line": 99, "state": "issued"}]
    with pytest.raises(LookupError), transaction(platform.sessions) as session:
        update_rows(session, BulkRow, missing)


def test_among_finds_the_rows_whose_value_is_one_of_many(platform) -> None:
    org = make_org(platform, "copy")
    definition = publish_definition(platform, org)
    upload = _upload(platform, org, definition.id)
    keys = [f"{AWKWARD[:50]}{n}" for n in range(600)]  # more than one IN list's worth
    with transaction(platform.sessions) as session:
        insert_rows(
            session,
            BulkRow,
            [
                {
                    "upload_id": upload,
                    "line": n,
                    "chunk": 0,
                    "award": {},
                    "idempotency_key": key,
                    "state": "pending",
                }
                for n, key in enumerate(keys)
            ],
        )
    with platform.sessions() as session:

        def lines(values: list) -> list[int]:
            query = select(BulkRow.line).where(among(session, BulkRow.idempotency_key, values))
            return sorted(session.scalars(query))

        assert lines([*keys[::3], "not there"]) == list(range(0, 600, 3))
        assert lines([]) == []
        found = session.scalars(select(BulkRow.line).where(among(session, BulkRow.line, [5, 7])))
        assert sorted(found) == [5, 7]
