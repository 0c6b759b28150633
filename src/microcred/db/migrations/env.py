"""Alembic environment: runs on the connection handed in by ``microcred.db.session.migrate``."""

from __future__ import annotations

from alembic import context

from microcred.db.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through migrate()
    raise RuntimeError("run migrations through microcred.db.session.migrate()")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
