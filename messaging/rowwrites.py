"""Writing many rows, each with its own values, in one statement.

Django's ``bulk_update`` builds a ``CASE WHEN`` expression per row and field; for a few hundred rows
that costs more CPU than sending the SMS they describe, and one ``UPDATE`` per row (``executemany``)
still has the driver bind every row's statement. Here the rows travel as one ``VALUES`` list joined to
the table: ``WITH v(...) AS (VALUES ...) UPDATE t SET ... FROM v WHERE t.x = v.x``, which PostgreSQL and
SQLite (3.33+) both run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model

# Well under SQLite's 32,766 parameters per statement for any of our tables.
_ROWS_PER_STATEMENT = 500


def update_each(model: type[Model], rows: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """For each ``(values, where)``: ``UPDATE table SET values WHERE where`` (every row the same keys).

    A ``where`` value may not be None (``= NULL`` matches nothing), and no two rows may match the same row.
    """
    if not rows:
        return
    meta = model._meta
    first_values, first_where = rows[0]
    set_fields = [_concrete(meta.get_field(name)) for name in first_values]
    where_fields = [_concrete(meta.get_field(name)) for name in first_where]
    fields = set_fields + where_fields
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = [f"c{index}" for index in range(len(fields))]
    # PostgreSQL types a VALUES column from its contents, and a column of NULLs is text: say each type once.
    # (SQLite must not get these: CAST(... AS timestamp) there turns a date into a number.)
    typed = connection.vendor == "postgresql"
    first_row = "(" + ", ".join(f"CAST(%s AS {field.db_type(connection)})" if typed else "%s" for field in fields) + ")"
    other_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    assignments = ", ".join(
        f"{quote(str(field.column))} = v.{name}" for field, name in zip(set_fields, names, strict=False)
    )
    conditions = " AND ".join(
        f"{table}.{quote(str(field.column))} = v.{name}"
        for field, name in zip(where_fields, names[len(set_fields) :], strict=True)
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            values = ", ".join([first_row] + [other_row] * (len(chunk) - 1))
            params = [
                field.get_db_prep_save(value, connection)
                for row_values, row_where in chunk
                for field, value in zip(fields, [*row_values.values(), *row_where.values()], strict=True)
            ]
            cursor.execute(
                f"WITH v ({', '.join(names)}) AS (VALUES {values}) "  # noqa: S608  (names from model metadata)
                f"UPDATE {table} SET {assignments} FROM v WHERE {conditions}",
                params,
            )


def insert_many(objs: Sequence[Model]) -> None:
    """INSERT the (unsaved, same-model) ``objs`` in one statement and set their primary keys.

    ``bulk_create`` compiles its statement through the ORM every time; a pump inserts a batch many
    times a second. Like ``bulk_create``, this sends no signals and relies on rows coming back in order.
    """
    if not objs:
        return
    meta = objs[0]._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    pk = meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        for start in range(0, len(objs), _ROWS_PER_STATEMENT):
            chunk = objs[start : start + _ROWS_PER_STATEMENT]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "  # noqa: S608
                f"VALUES {', '.join([row] * len(chunk))} RETURNING {quote(pk.column)}",
                # pre_save fills auto_now fields, as save() would.
                [field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in chunk for field in fields],
            )
            for obj, (key,) in zip(chunk, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, key)
                obj._state.adding = False


def db_value(model: type[Model], name: str, value: Any) -> Any:
    """``value`` as the database takes it for ``model.name`` (for hand-written statements)."""
    return _concrete(model._meta.get_field(name)).get_db_prep_save(value, connection)


def _concrete(field: Any) -> Field[Any, Any]:
    assert isinstance(field, Field) and field.column, f"{field} is not a column"
    return field
