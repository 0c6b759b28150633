"""Verification results and fetched documents shared by every process (ADR 0022): each
provider's ``verify_epoch`` moves on with every change that can change a verdict on its
credentials. Jobs get a priority (email before bulk chunks).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:  # email before bulk chunks (issue 13)
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("wallet_items") as batch:
        batch.add_column(sa.Column("content_digest", sa.String(length=64), nullable=True))
    with op.batch_alter_table("providers") as batch:
        batch.add_column(
            sa.Column("verify_epoch", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "verification_results",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("epochs", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_verification_results_expires_at", "verification_results", ["expires_at"])
    op.create_table(
        "fetched_documents",
        sa.Column("url_digest", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url_digest"),
    )


def downgrade() -> None:
    op.drop_table("fetched_documents")
    op.drop_index("ix_verification_results_expires_at", "verification_results")
    op.drop_table("verification_results")
    with op.batch_alter_table("providers") as batch:
        batch.drop_column("verify_epoch")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("priority")
    with op.batch_alter_table("wallet_items") as batch:
        batch.drop_column("content_digest")
