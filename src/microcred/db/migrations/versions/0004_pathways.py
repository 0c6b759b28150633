"""Pathways (stacking rules) and their awards.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pathways",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("award_mode", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["definitions.id"]),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pathways_provider_id", "pathways", ["provider_id"])
    op.create_table(
        "pathway_awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pathway_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["learner_accounts.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["pathway_id"], ["pathways.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pathway_id", "account_id"),
    )
    op.create_index("ix_pathway_awards_pathway_id", "pathway_awards", ["pathway_id"])


def downgrade() -> None:
    op.drop_table("pathway_awards")
    op.drop_table("pathways")
