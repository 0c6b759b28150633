"""Learners' further identities (emails and DIDs they prove) for holder binding.

The sign-up email stays the account's own identity once confirmed (``email_verified_at``); this
table holds the others. A verified identity belongs to one account at a time.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learner_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["learner_accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["token_id"], ["account_tokens.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_learner_identities_account_id", "learner_identities", ["account_id"])
    op.create_index(
        "uq_learner_identities_verified",
        "learner_identities",
        ["kind", "value"],
        unique=True,
        sqlite_where=sa.text("verified_at IS NOT NULL"),
        postgresql_where=sa.text("verified_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_learner_identities_verified", table_name="learner_identities")
    op.drop_index("ix_learner_identities_account_id", table_name="learner_identities")
    op.drop_table("learner_identities")
