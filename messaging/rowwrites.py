"""Writing many rows, each with its own values, in one round trip.

Django's ``bulk_update`` builds a ``CASE WHEN`` expression per row and field; for a few hundred rows
that costs more CPU than sending the SMS they describe. Here every row is one small ``UPDATE`` with its
own conditions, sent with ``executemany`` (psycopg pipelines it; SQLite runs it in-process).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model


def update_each(model: type[Model], rows: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """For each ``(values, where)``: ``UPDATE table SET values WHERE where`` (every row the same keys).

    A ``where`` value may not be None (``= NULL`` matches nothing).
    """
    if not rows:
        return
    meta = model._meta
    first_values, first_where = rows[0]
    set_fields = [_concrete(meta.get_field(name)) for name in first_values]
    where_fields = [_concrete(meta.get_field(name)) for name in first_where]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {}".format(  # noqa: S608  (names from model metadata, values as parameters)
        quote(meta.db_table),
        ", ".join(f"{quote(str(field.column))} = %s" for field in set_fields),
        " AND ".join(f"{quote(str(field.column))} = %s" for field in where_fields),
    )
    params = [
        [
            field.get_db_prep_save(value, connection)
            for field, value in zip(set_fields + where_fields, [*values.values(), *where.values()], strict=True)
        ]
        for values, where in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _concrete(field: Any) -> Field[Any, Any]:
    assert isinstance(field, Field) and field.column, f"{field} is not a column"
    return field
