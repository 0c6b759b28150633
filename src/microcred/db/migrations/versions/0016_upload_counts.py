"""Bulk uploads keep their rows' counts by state (issue 13): each chunk moves them in its own
transaction, under the upload's row lock, so progress and "is it done?" read one row instead
of counting up to 200,000 (at every chunk's end, and at every progress poll). The index on the
rows' state goes, and on PostgreSQL its pages keep room: a chunk's updates then change no
indexed column and can stay on their page (HOT updates).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

STATES = ("pending", "issued", "already", "refused")


def upgrade() -> None:
    with op.batch_alter_table("bulk_uploads") as batch:
        for state in STATES:
            batch.add_column(
                sa.Column(f"rows_{state}", sa.Integer(), nullable=False, server_default="0")
            )
    for state in STATES:  # uploads already there: counted once from their rows
        op.execute(
            f"UPDATE bulk_uploads SET rows_{state} = (SELECT count(*) FROM bulk_rows "  # noqa: S608 - fixed names
            f"WHERE bulk_rows.upload_id = bulk_uploads.id AND bulk_rows.state = '{state}')"
        )
    op.drop_index("ix_bulk_rows_state", table_name="bulk_rows")
    # provider_id alone is the first column of unique keys on both tables: one index fewer to
    # write per credential, and the planner no longer picks it over the unique key (issue 13)
    with op.batch_alter_table("credentials") as batch:
        batch.drop_index("ix_credentials_provider_id")
    with op.batch_alter_table("learners") as batch:
        batch.drop_index("ix_learners_provider_id")
    if op.get_bind().dialect.name == "postgresql":  # room on each page for the updated rows
        op.execute("ALTER TABLE bulk_rows SET (fillfactor = 70)")


def downgrade() -> None:
    with op.batch_alter_table("learners") as batch:
        batch.create_index("ix_learners_provider_id", ["provider_id"])
    with op.batch_alter_table("credentials") as batch:
        batch.create_index("ix_credentials_provider_id", ["provider_id"])
    op.create_index("ix_bulk_rows_state", "bulk_rows", ["upload_id", "state"])
    with op.batch_alter_table("bulk_uploads") as batch:
        for state in STATES:
            batch.drop_column(f"rows_{state}")
