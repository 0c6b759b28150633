"""For people (issue 15): each account's and staff member's language (their email is written in
it); providers' branding (a logo and a colour) and uploaded artwork, kept once by digest; usage
counts per micro-credential and day (issued, claimed, shared, viewed, verified, revoked), with
no record of who did what.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("learner_accounts") as batch:
        batch.add_column(sa.Column("language", sa.String(8)))
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("language", sa.String(8)))
    op.create_table(
        "artwork",
        sa.Column("digest", sa.String(64), primary_key=True),  # sha256 of data, hex
        sa.Column("provider_id", sa.Integer(), sa.ForeignKey("providers.id"), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("providers") as batch:
        batch.add_column(sa.Column("logo", sa.String(64)))
        batch.create_foreign_key("fk_providers_logo_artwork", "artwork", ["logo"], ["digest"])
        batch.add_column(sa.Column("brand_colour", sa.String(7)))
    op.create_table(
        "usage_counts",
        sa.Column("definition_id", sa.Integer(), sa.ForeignKey("definitions.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(12), nullable=False),
        sa.Column("provider_id", sa.Integer(), sa.ForeignKey("providers.id"), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("definition_id", "day", "metric"),
    )
    op.create_index("ix_usage_counts_provider_day", "usage_counts", ["provider_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_usage_counts_provider_day", "usage_counts")
    op.drop_table("usage_counts")
    with op.batch_alter_table("providers") as batch:
        batch.drop_constraint("fk_providers_logo_artwork", type_="foreignkey")
        batch.drop_column("brand_colour")
        batch.drop_column("logo")
    op.drop_table("artwork")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("learner_accounts") as batch:
        batch.drop_column("language")
