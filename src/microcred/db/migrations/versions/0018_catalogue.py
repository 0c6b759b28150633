"""The public catalogue (issue 14): one entry per published micro-credential, with the facts it
is searched and filtered by, its skills and the pathways it stacks into; full-text search by the
database's own engine (SQLite FTS5 kept in step by triggers; a generated PostgreSQL ``tsvector``
with a GIN index), over text the application folds (lower case, accents removed) so that both
find the same. Entries are filled by the application (``services/catalogue.refresh``), which
also fills them for definitions published before this migration, at start.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


_NEW = (
    "INSERT INTO catalogue_fts(rowid, title_words, body) "
    "VALUES (new.id, new.title_words, new.body);"
)
_OLD = (
    "INSERT INTO catalogue_fts(catalogue_fts, rowid, title_words, body) "
    "VALUES ('delete', old.id, old.title_words, old.body);"
)


def _entry_id() -> sa.Column[int]:
    return sa.Column(
        "entry_id",
        sa.Integer(),
        sa.ForeignKey("catalogue_entries.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "catalogue_entries",
        sa.Column("id", sa.Integer(), sa.ForeignKey("definitions.id"), primary_key=True),
        sa.Column("provider_id", sa.Integer(), sa.ForeignKey("providers.id"), nullable=False),
        sa.Column("family", sa.String(36), nullable=False, unique=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("title_words", sa.Text(), nullable=False),  # folded: lower case, no accents
        sa.Column("body", sa.Text(), nullable=False),  # folded too
        sa.Column("eqf", sa.Integer()),
        sa.Column("ects", sa.Float()),
        sa.Column("hours", sa.Integer()),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("participation", sa.String(10), nullable=False),
        sa.Column("assessment", sa.String(300), nullable=False),
        sa.Column("price", sa.Float()),
        sa.Column("currency", sa.String(3)),
        sa.Column("next_start", sa.Date()),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in ("provider_id", "eqf", "ects", "participation", "language"):
        op.create_index(f"ix_catalogue_entries_{column}", "catalogue_entries", [column])
    op.create_table(
        "catalogue_skills",
        sa.Column(
            "entry_id",
            sa.Integer(),
            sa.ForeignKey("catalogue_entries.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("uri", sa.String(200), primary_key=True),
        sa.Column("label", sa.String(300), nullable=False, server_default=""),
    )
    op.create_index("ix_catalogue_skills_uri", "catalogue_skills", ["uri"])
    op.create_table(
        "catalogue_pathways",
        sa.Column(
            "entry_id",
            sa.Integer(),
            sa.ForeignKey("catalogue_entries.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "pathway_id",
            sa.Integer(),
            sa.ForeignKey("pathways.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_catalogue_pathways_pathway_id", "catalogue_pathways", ["pathway_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE catalogue_entries ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
            "(setweight(to_tsvector('simple', title_words), 'A') || "
            "setweight(to_tsvector('simple', body), 'B')) STORED"
        )
        op.execute("CREATE INDEX ix_catalogue_entries_tsv ON catalogue_entries USING gin (tsv)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE catalogue_fts USING fts5(title_words, body, "
            "content='catalogue_entries', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        for name, event, body in (
            ("insert", "INSERT", _NEW),
            ("delete", "DELETE", _OLD),
            ("update", "UPDATE", _OLD + " " + _NEW),
        ):
            op.execute(
                f"CREATE TRIGGER catalogue_fts_{name} AFTER {event} ON catalogue_entries "
                f"BEGIN {body} END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS catalogue_fts_{name}")
        op.execute("DROP TABLE IF EXISTS catalogue_fts")
    op.drop_table("catalogue_pathways")
    op.drop_table("catalogue_skills")
    op.drop_table("catalogue_entries")
