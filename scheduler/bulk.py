"""Statements over many rows at once, written so PostgreSQL gets each as one short text.

The daemon reads and writes posts a batch at a time. Written plainly, ``id IN (...)``
has one placeholder per id and an ``executemany`` sends each row on its own: the
statement's text changes with the batch's size, so neither psycopg nor PostgreSQL can
keep it prepared, and every row costs a round of parameter handling. On PostgreSQL the
helpers here pass one array per column instead (``id = ANY(:ids)``, ``unnest``), which
gives the same text for any batch. SQLite gets the plain forms (its driver runs
``executemany`` in C and parses statements cheaply).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

#: For each field of a row, the column whose type its values have.
Fields = Mapping[str, sa.ColumnElement[Any]]
#: The fields of "the row at hand" inside a statement: column expressions.
RowRefs = Mapping[str, sa.ColumnElement[Any]]


def dialect_of(session: Session) -> str:
    """The name of the database the session talks to (``sqlite``, ``postgresql``)."""
    return session.get_bind().dialect.name


def one_of(
    column: sa.ColumnElement[Any], values: Sequence[Any], dialect: str
) -> sa.ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:values)``, one array."""
    if dialect == "postgresql":
        array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == sa.any_(array)
    return column.in_(list(values))


def _unnested(fields: Fields, rows: Sequence[Mapping[str, Any]]) -> sa.Subquery:
    """PostgreSQL: ``rows`` as a table, each field an array unnested in step."""
    return sa.select(
        *[
            sa.func.unnest(
                sa.bindparam(
                    f"_rows_{name}",
                    [row[name] for row in rows],
                    type_=postgresql.ARRAY(column.type),
                )
            ).label(name)
            for name, column in fields.items()
        ]
    ).subquery("_rows")


def update_rows(
    session: Session,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    fields: Fields,
    *,
    where: Callable[[RowRefs], Sequence[sa.ColumnElement[bool]]],
    values: Callable[[RowRefs], Mapping[str, Any]],
) -> None:
    """``UPDATE table`` once for each of ``rows``, in one statement.

    ``fields`` names the rows' fields (each with the column whose type it has);
    ``where`` and ``values`` build the row's condition and new values from references
    to those fields, e.g. ``where=lambda r: [t.c.id == r["id"]]``.
    """
    if not rows:
        return
    if dialect_of(session) == "postgresql":
        source = _unnested(fields, rows)
        refs: RowRefs = {name: source.c[name] for name in fields}
        session.execute(
            sa.update(table)
            .where(*where(refs))
            .values(**values(refs))
            .execution_options(synchronize_session=False)
        )
        return
    refs = {
        name: sa.bindparam(f"_rows_{name}", type_=column.type) for name, column in fields.items()
    }
    session.execute(
        sa.update(table)
        .where(*where(refs))
        .values(**values(refs))
        .execution_options(synchronize_session=False),
        [{f"_rows_{name}": row[name] for name in fields} for row in rows],
    )


def insert_rows(
    session: Session,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    returning: Sequence[sa.ColumnElement[Any]] = (),
) -> list[sa.Row[Any]]:
    """``INSERT`` ``rows`` (all with the same keys, named after ``table``'s columns) in
    one statement; returns the ``returning`` columns of the new rows (in no set order)."""
    if not rows:
        return []
    names = list(rows[0])
    if dialect_of(session) == "postgresql":
        source = _unnested({name: table.c[name] for name in names}, rows)
        statement = sa.insert(table).from_select(names, sa.select(*[source.c[n] for n in names]))
        if returning:
            return list(session.execute(statement.returning(*returning)).all())
        session.execute(statement)
        return []
    if returning:
        return list(session.execute(sa.insert(table).returning(*returning), list(rows)).all())
    session.execute(sa.insert(table), list(rows))
    return []
