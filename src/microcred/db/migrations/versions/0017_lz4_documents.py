"""On PostgreSQL, signed documents are compressed with LZ4 rather than pglz (issue 13): each
credential's 7 KB of JSON is compressed as it is stored, and pglz cost 84-127 µs a row against
LZ4's 36-47 µs, for the same size (3,000 platform credentials, 8.5 MiB either way). Rows already
stored keep their compression until rewritten; PostgreSQL reads both. Skipped where the server
was built without LZ4, and on SQLite (which does not compress).

Revision ID: 0017
Revises: 0016
"""

from alembic import op
from sqlalchemy import text

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

COLUMNS = (
    ("credentials", "document"),
    ("wallet_items", "document"),
    ("published_status_lists", "document"),
    ("accreditations", "document"),
)


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    values = bind.execute(
        text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    return values is not None and "lz4" in values


def _set(method: str) -> None:
    if not _lz4_available():
        return
    for table, column in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("pglz")
