"""Recognition of prior learning: applications, evidence, decisions.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rpl_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["learner_accounts.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["definition_id"], ["definitions.id"]),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rpl_applications_account_id", "rpl_applications", ["account_id"])
    op.create_index("ix_rpl_applications_provider_id", "rpl_applications", ["provider_id"])
    op.create_table(
        "rpl_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("media_type", sa.String(length=100), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["rpl_applications.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rpl_evidence_application_id", "rpl_evidence", ["application_id"])
    op.create_table(
        "rpl_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=10), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["rpl_applications.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assessor_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rpl_decisions_application_id", "rpl_decisions", ["application_id"])


def downgrade() -> None:
    op.drop_table("rpl_decisions")
    op.drop_table("rpl_evidence")
    op.drop_table("rpl_applications")
