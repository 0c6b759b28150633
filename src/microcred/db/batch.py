"""Many rows of one table in one statement on PostgreSQL: new ones by ``COPY ... FROM STDIN``,
changed ones by ``UPDATE ... FROM unnest(...)``; elsewhere SQLAlchemy's executemany (issue 13:
for a bulk upload's rows and a chunk's credentials, a pipelined statement per row cost several
times as much)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    String,
    Table,
    TypeDecorator,
    any_,
    bindparam,
    insert,
    inspect,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError


def insert_rows(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` into the table of ``model`` (a mapped class) in ``session``'s
    transaction. Every row names the same columns (the others get no value: column defaults
    are not applied); None is NULL."""
    if not rows:
        return
    table = _table(model, rows)
    names = list(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return
    dialect = session.get_bind().dialect
    convert = [_converter(table.columns[n].type, dialect) for n in names]
    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name),
        sql.SQL(", ").join(sql.Identifier(table.columns[n].name) for n in names),
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


def update_rows(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Update many rows of ``model``'s table, each found by its primary key (which every row
    gives, with the same other columns to set): on PostgreSQL one ``UPDATE ... FROM unnest``
    (one statement, not one per row), elsewhere SQLAlchemy's bulk UPDATE by primary key."""
    if not rows:
        return
    table = _table(model, rows)
    keys = [c.key for c in table.primary_key.columns]
    names = list(rows[0])  # column keys, as the rows give them
    if not set(keys) <= set(names) or len(names) == len(keys):
        raise ValueError(f"rows for {table.name} need its key ({', '.join(keys)}) and a value")
    if session.get_bind().dialect.name != "postgresql":
        try:
            session.execute(update(model), list(rows))
        except StaleDataError as exc:
            raise LookupError(f"row(s) of {table.name} not found: {exc}") from exc
        return
    dialect = session.get_bind().dialect
    columns = [table.columns[n] for n in names]
    arrays = []
    for name, column in zip(names, columns, strict=True):
        fix = _converter(column.type, dialect)
        arrays.append([None if (v := row[name]) is None else fix(v) for row in rows])
    # strings as text: a cast to varchar(n) would cut a longer value short, silently
    kinds = [
        "text" if isinstance(c.type, JSON | String) else c.type.compile(dialect) for c in columns
    ]
    statement = sql.SQL("UPDATE {t} SET {sets} FROM unnest({arrays}) AS v({names}) WHERE {match}")
    query = statement.format(
        t=sql.Identifier(table.name),
        sets=sql.SQL(", ").join(
            sql.SQL("{c} = v.{c}" + ("::json" if isinstance(c.type, JSON) else "")).format(
                c=sql.Identifier(c.name)
            )
            for c in columns
            if c.key not in keys
        ),
        arrays=sql.SQL(", ").join(
            sql.SQL("%s::{}[]").format(sql.SQL(kind))
            for kind in kinds  # type names we compiled
        ),
        names=sql.SQL(", ").join(sql.Identifier(c.name) for c in columns),
        match=sql.SQL(" AND ").join(
            sql.SQL("{t}.{c} = v.{c}").format(
                t=sql.Identifier(table.name), c=sql.Identifier(c.name)
            )
            for c in table.primary_key.columns
        ),
    )
    raw = session.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    with raw.cursor() as cursor:
        cursor.execute(query, arrays)
        if cursor.rowcount != len(rows):
            raise LookupError(f"{len(rows) - cursor.rowcount} row(s) of {table.name} not found")


def _table(model: type[Any], rows: Sequence[dict[str, Any]]) -> Table:
    """``model``'s table, once ``rows`` are checked against it: the same columns in every row,
    all of them its own, and no None for a JSON column (an INSERT would write JSON ``null``,
    COPY SQL ``NULL``)."""
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
    return table


def among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``: one parameter however
    many values, so one prepared statement serves every batch."""
    if session.get_bind().dialect.name == "postgresql":
        # strings as text[]: a cast to varchar(n)[] would cut a longer value short, silently
        kind = String() if isinstance(column.type, String) else column.type
        return column == any_(bindparam(None, list(values), type_=ARRAY(kind)))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]
