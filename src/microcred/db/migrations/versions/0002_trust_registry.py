"""Trust registry: provider kinds (provider, QA body, platform) and accreditations.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("providers") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=12), nullable=False, server_default="provider")
        )
    op.create_table(
        "accreditations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("qa_body_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("framework", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("report_url", sa.String(length=500), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"]),
        sa.ForeignKeyConstraint(["qa_body_id"], ["providers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_accreditations_provider_id", "accreditations", ["provider_id"])
    op.create_index("ix_accreditations_qa_body_id", "accreditations", ["qa_body_id"])


def downgrade() -> None:
    op.drop_table("accreditations")
    with op.batch_alter_table("providers") as batch:
        batch.drop_column("kind")
