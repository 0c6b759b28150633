"""Many new rows of one table in one statement: ``COPY ... FROM STDIN`` on PostgreSQL, an
``executemany`` INSERT elsewhere (issue 13: for a bulk upload's rows and a chunk's credentials,
a pipelined INSERT per row cost several times what COPY does)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import JSON, Table, TypeDecorator, insert, inspect
from sqlalchemy.orm import Session


def insert_rows(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` into the table of ``model`` (a mapped class) in ``session``'s
    transaction. Every row names the same columns (the
    others get no value: column defaults are not applied); None is NULL, and a JSON column
    takes no None (an INSERT would write JSON ``null``, COPY SQL ``NULL``)."""
    if not rows:
        return
    table = inspect(model).local_table
    assert isinstance(table, Table)
    names = list(rows[0])
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError(f"rows for {table.name} name different columns")
    unknown = set(names) - {c.name for c in table.columns}
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(sorted(unknown))}")
    for name in names:
        if isinstance(table.columns[name].type, JSON) and any(r[name] is None for r in rows):
            raise ValueError(f"{table.name}.{name} is JSON: None is not a value for it")
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return
    dialect = session.get_bind().dialect
    convert = [_converter(table.columns[n].type, dialect) for n in names]
    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    None if (value := row[name]) is None else fix(value)
                    for name, fix in zip(names, convert, strict=True)
                ]
            )


def _converter(kind: Any, dialect: Any) -> Callable[[Any], Any]:
    """What a value of this column type becomes on its way in, as an INSERT would bind it:
    a type decorator's own processing, JSON as its text; psycopg writes the rest."""
    if isinstance(kind, TypeDecorator):
        inner = _converter(kind.impl_instance, dialect)

        def decorated(value: Any) -> Any:
            bound = kind.process_bind_param(value, dialect)
            return None if bound is None else inner(bound)

        return decorated
    if isinstance(kind, JSON):
        return lambda value: json.dumps(value, separators=(",", ":"))
    return lambda value: value
