"""Backup → wipe → restore (issue 12, acceptance 4), on SQLite and PostgreSQL: credentials still
verify, and status indexes of credentials issued after the backup are never drawn again."""

from __future__ import annotations

import json
import random

import pytest
from sqlalchemy import create_engine, select, text

from microcred.db.session import transaction
from microcred.db.tables import Credential, StatusList
from microcred.services import backup, status
from microcred.services.app import App
from microcred.vc.verify import verify
from tests.platform.conftest import POSTGRES, issue_to, make_org, make_settings, publish_definition


def _indexes(platform: App, ids: list[str]) -> set[tuple[int, int]]:
    with transaction(platform.sessions, readonly=True) as session:
        rows = session.execute(
            select(StatusList.number, Credential.status_index)
            .join(StatusList, StatusList.id == Credential.status_list_id)
            .where(Credential.id.in_(ids))
        ).all()
    return {(number, index) for number, index in rows}


def _wipe(platform: App, database_url: str) -> None:
    platform.engine.dispose()
    if database_url.startswith("sqlite"):
        path = backup._sqlite_path(database_url)
        for suffix in ("", "-wal", "-shm"):
            (path.parent / f"{path.name}{suffix}").unlink(missing_ok=True)
        return
    _libpq, schema = backup._pg(database_url)
    admin = create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()


@pytest.mark.parametrize("database_lost", [True, False], ids=["wiped", "replaced"])
def test_backup_wipe_restore_keeps_credentials_and_never_redraws_an_index(
    platform, database_url, tmp_path, verifier, monkeypatch, database_lost
):
    draws = random.Random(7)  # noqa: S311 - the allocator made deterministic, on demand
    monkeypatch.setattr(status.secrets, "randbelow", draws.randrange)
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    before = [issue_to(platform, org, row, f"before{i}@example.org") for i in range(3)]
    saved = backup.backup(platform, tmp_path / "microcred.backup")
    at_backup = draws.getstate()
    after = [issue_to(platform, org, row, f"after{i}@example.org") for i in range(3)]
    lost = _indexes(platform, [c.id for c in after])
    used_file = tmp_path / "used.jsonl"
    used_file.write_text(
        "".join(json.dumps(u.to_json()) + "\n" for u in backup.used_indexes(platform.engine))
    )

    if database_lost:
        _wipe(platform, database_url)
        extra = backup.read_used(used_file)  # the export kept with the backups
    else:
        extra = []  # restoring over the live database: it is read before being replaced
    reserved = backup.restore(platform, saved, extra)
    assert reserved >= len(lost)

    restored = App.start(make_settings(database_url, tmp_path))
    try:
        with transaction(restored.sessions, readonly=True) as session:
            ids = set(session.scalars(select(Credential.id)))
        assert ids == {c.id for c in before}  # the backup's state: the later three are gone
        for credential in before:
            assert verify(credential.document, verifier).verified
        draws.setstate(at_backup)  # the next draws are exactly the lost credentials' draws
        again = [issue_to(restored, org, row, f"again{i}@example.org") for i in range(3)]
        drawn = _indexes(restored, [c.id for c in again])
        assert len(drawn) == 3
        assert drawn.isdisjoint(lost), (drawn, lost)
    finally:
        restored.engine.dispose()


def test_a_backup_never_overwrites_and_a_bad_file_is_refused(platform, tmp_path):
    from microcred.domain.errors import DomainError

    target = tmp_path / "one.backup"
    backup.backup(platform, target)
    with pytest.raises(DomainError) as caught:
        backup.backup(platform, target)
    assert caught.value.code == "backup.exists"
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(DomainError) as caught:
        backup.restore(platform, junk)
    assert caught.value.code in ("restore.corrupt", "backup.failed")


def test_a_restore_ends_every_session_in_the_backup(platform, database_url, tmp_path):
    from microcred.services import sessions

    make_org(platform, "acme")
    with transaction(platform.sessions) as session:
        token = sessions.start(platform, session, "staff", 1)
    saved = backup.backup(platform, tmp_path / "s.backup")
    with transaction(platform.sessions) as session:
        sessions.end(platform, session, token)  # signed out after the backup was taken
    backup.restore(platform, saved)
    restored = App.start(make_settings(database_url, tmp_path))
    try:
        with transaction(restored.sessions, readonly=True) as session:
            assert sessions.subject(restored, session, "staff", token) is None
    finally:
        restored.engine.dispose()


def test_a_restore_without_the_replaced_database_needs_the_used_indexes(
    platform, database_url, tmp_path
):
    from microcred.domain.errors import DomainError

    saved = backup.backup(platform, tmp_path / "u.backup")
    _wipe(platform, database_url)
    if database_url.startswith("sqlite"):  # a directory where the database file was
        backup._sqlite_path(database_url).mkdir()
    else:
        pytest.skip("an empty PostgreSQL schema reads as no indexes in use")
    with pytest.raises(DomainError) as caught:
        backup.restore(platform, saved)
    assert caught.value.code == "restore.used_unknown"
