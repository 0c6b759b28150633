"""Signed status-list credentials kept in the database: every web process serves the same bytes,
and nothing grows in a process's memory. Re-signed when the bits, the issuer or its key change.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_status_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status_list_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["status_list_id"], ["status_lists.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("status_list_id", "purpose"),
    )


def downgrade() -> None:
    op.drop_table("published_status_lists")
