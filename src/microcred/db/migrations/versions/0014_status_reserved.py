"""Status indexes in use outside the restored data (carried over by ``microcred restore``).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_reserved",
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("list_number", sa.Integer(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"]),
        sa.PrimaryKeyConstraint("provider_id", "list_number", "status_index"),
    )


def downgrade() -> None:
    op.drop_table("status_reserved")
