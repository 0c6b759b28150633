"""Forward-only migrations (issue 12): a database left at any earlier revision, holding data,
upgrades to head and the platform then works on it (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from microcred.db.session import MIGRATIONS, make_engine, transaction
from microcred.db.tables import Provider
from microcred.services import demo, jobs
from microcred.services.app import App
from tests.platform.conftest import make_settings


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


REVISIONS = [
    s.revision for s in reversed(list(ScriptDirectory.from_config(_config()).walk_revisions()))
]


def _upgrade(engine, revision: str) -> None:
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@pytest.mark.parametrize("revision", REVISIONS[:-1])
def test_an_earlier_schema_with_data_upgrades_to_head(database_url, tmp_path, revision):
    engine = make_engine(database_url)
    _upgrade(engine, revision)
    with engine.begin() as connection:  # a provider as that revision knew it
        connection.execute(
            text(
                "INSERT INTO providers (slug, legal_name, country_code, created_at) "
                "VALUES ('older', 'Older Institute', 'IE', :at)"
            ),
            {"at": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    engine.dispose()
    app = App.start(make_settings(database_url, tmp_path))  # upgrades to head
    try:
        with app.engine.connect() as connection:
            assert (
                connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                == (REVISIONS[-1])
            )
        with transaction(app.sessions, readonly=True) as session:
            older = session.scalar(select(Provider).where(Provider.slug == "older"))
            assert older is not None
            assert older.legal_name == "Older Institute"
        login = demo.ensure_demo(app)  # issuing, wallets, pathways, RPL: all on the upgraded schema
        assert login.slug
        jobs.drain(app)
        assert jobs.state(app).failed == 0
    finally:
        app.engine.dispose()


def test_signed_documents_are_compressed_with_lz4_on_postgresql(platform):
    """0017: LZ4 rather than pglz for the documents stored as they are signed (issue 13)."""
    if platform.engine.dialect.name != "postgresql":
        pytest.skip("TOAST compression is PostgreSQL's")
    with platform.engine.connect() as connection:
        methods = dict(
            connection.execute(
                text(
                    "SELECT attrelid::regclass::text, attcompression FROM pg_attribute "
                    "WHERE attname = 'document' AND attrelid::regclass::text IN "
                    "('credentials', 'wallet_items', 'published_status_lists', 'accreditations')"
                )
            ).all()
        )
    assert methods == dict.fromkeys(
        ("credentials", "wallet_items", "published_status_lists", "accreditations"), "l"
    )
