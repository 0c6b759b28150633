"""Backups and restores (issue 12).

- ``backup``: SQLite through its online backup API (a consistent copy while the platform runs);
  PostgreSQL through ``pg_dump --format=custom``. Signing keys stay as stored: sealed with the
  KEK, which is not in the database and so not in the backup. Keep the KEK apart from backups.
- ``restore``: the backup replaces the database, then the migrations bring it to this version.
  A backup is older than the data it replaces: credentials issued after it are lost from the
  database but not from their holders, and their status indexes must never be handed out again
  (one bit would then revoke two credentials). So before replacing anything, ``restore`` reads
  every status index in use from the database being replaced, and after it records them in
  ``status_reserved``, which the allocator skips; a list number in use is never reopened either.
  When that database is gone, ``used_indexes`` exported earlier (``microcred status used``, a
  small file to keep with the backups) does the same.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from microcred.db.session import make_engine, migrate, transaction
from microcred.db.tables import (
    BulkRow,
    Credential,
    Provider,
    StatusList,
    StatusReserved,
    WebSession,
)
from microcred.domain.errors import DomainError
from microcred.services.app import App


@dataclass(frozen=True, slots=True)
class UsedIndex:
    provider_slug: str
    list_number: int
    status_index: int

    def to_json(self) -> dict[str, object]:
        return {
            "provider": self.provider_slug,
            "list": self.list_number,
            "index": self.status_index,
        }


def _sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[-1])


def _pg(url: str) -> tuple[str, str | None]:
    """A libpq URL without our ``options`` search path, and that schema (tests use one)."""
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    query = parse_qs(parts.query)
    schema = None
    for option in query.pop("options", []):
        text = unquote(option)
        if text.startswith("-csearch_path="):
            schema = text.split("=", 1)[1]
    rest = "&".join(f"{k}={v[0]}" for k, v in query.items())
    return parts._replace(query=rest).geturl(), schema


def backup(app: App, destination: Path) -> Path:
    """Write a backup of the database to ``destination`` (refuses to overwrite a file)."""
    if destination.exists():
        raise DomainError("backup.exists", f"{destination} exists: choose a new file")
    url = app.settings.database_url
    if url.startswith("sqlite"):
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(destination)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        return destination
    libpq, schema = _pg(url)
    command = ["pg_dump", "--format=custom", "--no-owner", f"--file={destination}"]
    if schema:
        command.append(f"--schema={schema}")
    _run([*command, libpq], "pg_dump")
    return destination


def used_indexes(engine: Engine) -> list[UsedIndex]:
    """Every status index in use in a database: its credentials', the indexes held for bulk
    rows, and those it had reserved itself (after an earlier restore)."""
    from sqlalchemy.orm import Session

    found: set[UsedIndex] = set()
    with Session(engine) as session:
        lists = {
            row.id: (row.provider_id, row.number) for row in session.scalars(select(StatusList))
        }
        slugs = dict(session.execute(select(Provider.id, Provider.slug)).all())
        for list_id, index in session.execute(
            select(Credential.status_list_id, Credential.status_index)
        ).all():
            if list_id in lists and index is not None:
                provider_id, number = lists[list_id]
                found.add(UsedIndex(slugs[provider_id], number, int(index)))
        for held_list, held in session.execute(
            select(BulkRow.status_list_id, BulkRow.status_index).where(
                BulkRow.status_index.is_not(None)
            )
        ).all():
            if held_list in lists and held is not None:
                provider_id, number = lists[held_list]
                found.add(UsedIndex(slugs[provider_id], number, int(held)))
        for provider_id, number, index in session.execute(
            select(
                StatusReserved.provider_id, StatusReserved.list_number, StatusReserved.status_index
            )
        ).all():
            found.add(UsedIndex(slugs[provider_id], number, index))
    return sorted(found, key=lambda u: (u.provider_slug, u.list_number, u.status_index))


def read_used(path: Path) -> list[UsedIndex]:
    """A file written by ``microcred status used`` (JSON lines)."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            out.append(UsedIndex(str(data["provider"]), int(data["list"]), int(data["index"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise DomainError("restore.used_malformed", f"{path}, line {n}: {exc}") from exc
    return out


def restore(app: App, source: Path, extra_used: Iterable[UsedIndex] = ()) -> int:
    """Replace the database with the backup at ``source``, bring it to this version, and
    reserve every status index the replaced database (and ``extra_used``) had in use.
    The platform must be stopped. Returns how many indexes are reserved."""
    if not source.is_file():
        raise DomainError("restore.missing", f"no backup at {source}")
    url = app.settings.database_url
    extra = list(extra_used)
    try:
        before = used_indexes(app.engine)
    except Exception as exc:
        if not extra:  # refuse to restore blind: lost credentials' bits could be handed out
            raise DomainError(
                "restore.used_unknown",
                "cannot read the status indexes in use from the database being replaced "
                f"({type(exc).__name__}); give them with --used (from `microcred status used`)",
            ) from exc
        before = []
    app.engine.dispose()
    if url.startswith("sqlite"):
        _restore_sqlite(_sqlite_path(url), source)
    else:
        libpq, schema = _pg(url)
        command = ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={libpq}"]
        if schema:
            command.append(f"--schema={schema}")
        _run([*command, str(source)], "pg_restore")
    engine = make_engine(url)
    try:
        migrate(engine)
        _end_sessions(app, engine)
        return _reserve(app, engine, [*before, *extra])
    finally:
        engine.dispose()


def _end_sessions(app: App, engine: Engine) -> None:
    """Every session in the backup ends: sign-outs made since it was taken must hold."""
    from sqlalchemy import update
    from sqlalchemy.orm import sessionmaker

    with transaction(sessionmaker(engine)) as session:
        session.execute(
            update(WebSession).where(WebSession.ended_at.is_(None)).values(ended_at=app.now())
        )


def _restore_sqlite(database: Path, source: Path) -> None:
    check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        if check.execute("PRAGMA integrity_check").fetchone() != ("ok",):
            raise DomainError("restore.corrupt", f"{source} is not an intact SQLite database")
    except sqlite3.DatabaseError as exc:
        raise DomainError("restore.corrupt", f"{source} is not a SQLite database: {exc}") from exc
    finally:
        check.close()
    database.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=database.parent, delete=False) as handle:
        staged = Path(handle.name)
    shutil.copyfile(source, staged)
    for suffix in ("-wal", "-shm"):  # the replaced database's journal must not be replayed
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    staged.replace(database)


def _reserve(app: App, engine: Engine, used: list[UsedIndex]) -> int:
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(engine)
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    with transaction(factory) as session:
        ids = dict(session.execute(select(Provider.slug, Provider.id)).all())
        rows = [
            {
                "provider_id": ids[u.provider_slug],
                "list_number": u.list_number,
                "status_index": u.status_index,
            }
            for u in used
            if u.provider_slug in ids
        ]
        for start in range(0, len(rows), 5000):
            session.execute(
                insert(StatusReserved).on_conflict_do_nothing(), rows[start : start + 5000]
            )
    return len(rows)


def _run(command: list[str], tool: str) -> None:
    try:
        # the command is ours: a PostgreSQL tool and the configured database URL, no shell
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=3600, check=False
        )
    except FileNotFoundError as exc:
        raise DomainError("backup.tool_missing", f"{tool} is not installed on this host") from exc
    if done.returncode != 0:
        raise DomainError("backup.failed", f"{tool} failed: {done.stderr.strip()[:500]}")
