"""Provider sign-up (issue 14): applications to become a provider or a QA body, each with the
domain the organisation must prove it controls before an operator approves it; providers keep
their proven domain.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_applications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("legal_name", sa.String(300), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("region", sa.String(200)),
        sa.Column("website", sa.String(500), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("domain_token", sa.String(64), nullable=False),
        sa.Column("domain_verified_at", sa.DateTime(timezone=True)),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(1000)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("staff.id")),
        sa.Column("provider_id", sa.Integer(), sa.ForeignKey("providers.id")),
    )
    op.create_index("ix_provider_applications_state", "provider_applications", ["state"])
    with op.batch_alter_table("providers") as batch:
        batch.add_column(sa.Column("domain", sa.String(253)))
        batch.add_column(sa.Column("domain_verified_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("providers") as batch:
        batch.drop_column("domain_verified_at")
        batch.drop_column("domain")
    op.drop_table("provider_applications")
