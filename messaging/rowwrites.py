"""Writing many rows, each with its own values, in one statement.

Django's ``bulk_update`` builds a ``CASE WHEN`` expression per row and field; for a few hundred rows
that costs more CPU than sending the SMS they describe, and one ``UPDATE`` per row (``executemany``)
still has the driver bind every row's statement. Here the rows travel together and are joined to the
table: on PostgreSQL as one array per column (``unnest``: the statement's text is the same for any
number of rows, so the driver parses it once), elsewhere as a ``VALUES`` list (SQLite 3.33+).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.base import ModelState

M = TypeVar("M", bound=Model)

# Well under SQLite's 32,766 parameters per statement for any of our tables.
_ROWS_PER_STATEMENT = 500


def update_each(model: type[Model], rows: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """For each ``(values, where)``: ``UPDATE table SET values WHERE where`` (every row the same keys).

    A ``where`` value may not be None (``= NULL`` matches nothing), and no two rows may match the same row.
    """
    if not rows:
        return
    db = connections[DEFAULT_DB_ALIAS]  # once: every ``connection`` attribute access is a thread-local lookup
    meta = model._meta
    first_values, first_where = rows[0]
    set_fields = [_concrete(meta.get_field(name)) for name in first_values]
    where_fields = [_concrete(meta.get_field(name)) for name in first_where]
    fields = set_fields + where_fields
    plain = [_as_is(field, db) for field in fields]  # once per call, not per row
    quote = db.ops.quote_name
    table = quote(meta.db_table)
    names = _v_columns(len(fields))
    assignments = ", ".join(
        f"{quote(str(field.column))} = v.{name}" for field, name in zip(set_fields, names, strict=False)
    )
    conditions = " AND ".join(
        f"{table}.{quote(str(field.column))} = v.{name}"
        for field, name in zip(where_fields, names[len(set_fields) :], strict=True)
    )
    with db.cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = [[*values.values(), *where.values()] for values, where in rows[start : start + _ROWS_PER_STATEMENT]]
            with_v, v, params = _rows_source(db, fields, chunk, plain)
            sql = f"{with_v}UPDATE {table} SET {assignments} FROM {v} WHERE {conditions}"  # noqa: S608  (metadata names)
            cursor.execute(sql, params)


def insert_many(objs: Sequence[Model]) -> None:
    """INSERT the (unsaved, same-model) ``objs`` in one statement and set their primary keys.

    ``bulk_create`` compiles its statement through the ORM every time; a pump inserts a batch many
    times a second. Like ``bulk_create``, this sends no signals and relies on rows coming back in order.
    """
    if not objs:
        return
    db = connections[DEFAULT_DB_ALIAS]
    model = type(objs[0])
    pk_attname = model._meta.pk.attname  # type: ignore[union-attr]
    fields, head, tail, single, as_is = _insert_statement(model, db)
    with db.cursor() as cursor:
        for start in range(0, len(objs), _ROWS_PER_STATEMENT):
            chunk = objs[start : start + _ROWS_PER_STATEMENT]
            # pre_save fills auto_now fields, as save() would.
            rows = [[field.pre_save(obj, True) for field in fields] for obj in chunk]
            if len(rows) == 1:  # the API's INSERT
                params = [
                    value if type(value) in plain and _aware(value) else field.get_db_prep_save(value, db)
                    for field, value, plain in zip(fields, rows[0], as_is, strict=True)
                ]
                cursor.execute(single, params)
            else:
                with_v, v, params = _rows_source(db, fields, rows, as_is)
                cursor.execute(f"{with_v}{head} SELECT * FROM {v} {tail}", params)  # noqa: S608  (metadata names)
            for obj, (key,) in zip(chunk, cursor.fetchall(), strict=True):
                setattr(obj, pk_attname, key)
                obj._state.adding = False


# model -> (fields, "INSERT INTO t (columns)", "RETURNING pk", the whole one-row statement, per field the
# value types it passes on unchanged); all of it depends only on the model and the database's vendor,
# and building it (or preparing each value through the field) costs more than running the statement.
_inserts: dict[tuple[type[Model], str], tuple[list[Field[Any, Any]], str, str, str, list[tuple[type, ...]]]] = {}


def _insert_statement(
    model: type[Model], db: BaseDatabaseWrapper
) -> tuple[list[Field[Any, Any]], str, str, str, list[tuple[type, ...]]]:
    found = _inserts.get((model, db.vendor))
    if found is None:
        meta = model._meta
        assert meta.pk is not None
        fields = [field for field in meta.concrete_fields if not field.primary_key]
        quote = db.ops.quote_name
        head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)})"
        tail = f"RETURNING {quote(meta.pk.column)}"
        # A lone NULL is untyped on PostgreSQL: say each column's type there.
        typed = db.vendor == "postgresql"
        values = ", ".join(f"%s::{field.db_type(db)}" if typed else "%s" for field in fields)
        as_is = [_as_is(field, db) for field in fields]
        found = _inserts[(model, db.vendor)] = (fields, head, tail, f"{head} VALUES ({values}) {tail}", as_is)
    return found


_INTEGERS = (
    models.IntegerField,
    models.SmallIntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField,
    models.AutoField,
    models.BigAutoField,
    models.SmallAutoField,
)


def _as_is(field: Field[Any, Any], db: BaseDatabaseWrapper) -> tuple[type, ...]:
    """Value types whose ``get_db_prep_save`` on ``field`` returns them unchanged (exact field classes only).

    None always; an aware datetime on PostgreSQL, whose driver adapts it (``_aware`` checks the zone).
    """
    kind = type(field.target_field) if isinstance(field, models.ForeignKey) else type(field)
    if kind in (models.CharField, models.TextField):
        return (type(None), str)
    if kind in _INTEGERS:
        return (type(None), int)
    if kind is models.BooleanField:
        return (type(None), bool)
    if kind is models.DateTimeField and db.vendor == "postgresql":
        return (type(None), datetime)
    return (type(None),) if kind in (models.UUIDField,) and db.features.has_native_uuid_field else ()


def _aware(value: Any) -> bool:
    return type(value) is not datetime or value.tzinfo is not None


def _rows_source(
    db: BaseDatabaseWrapper, fields: list[Field[Any, Any]], rows: list[list[Any]], plain: list[tuple[type, ...]]
) -> tuple[str, str, list[Any]]:
    """``(with_clause, from_item, params)``: a table ``v`` of ``rows`` with columns c0, c1, ... in ``fields`` order.

    A single row goes as plain parameters: dumping one-element arrays costs more.
    """
    if db.vendor == "postgresql" and len(rows) > 1:
        return _unnest_source(db, fields, rows, plain)
    names = ", ".join(_v_columns(len(fields)))
    columns = [_prepared(db, field, [row[i] for row in rows], plain[i]) for i, field in enumerate(fields)]
    typed = db.vendor == "postgresql"  # a lone NULL in VALUES is untyped there: say each column's type
    row = "(" + ", ".join(f"%s::{_db_type(field, db)}" if typed else "%s" for field in fields) + ")"
    params = [value for values in zip(*columns, strict=True) for value in values]
    return f"WITH v ({names}) AS (VALUES {', '.join([row] * len(rows))}) ", "v", params


def _unnest_source(
    db: BaseDatabaseWrapper, fields: list[Field[Any, Any]], rows: list[list[Any]], plain: list[tuple[type, ...]]
) -> tuple[str, str, list[Any]]:
    """``_rows_source`` on PostgreSQL: one typed array per column (a column of NULLs is typed too, which a
    VALUES list would not be), except that a column holding one value in every row goes once, as a single
    parameter. Most of a pump's batch is such columns (the outcome, blank errors, the batch's lease and
    times), and dumping them row by row, then parsing them back on the server, was most of writing a batch.
    """
    columns = [[row[i] for row in rows] for i in range(len(fields))]
    # list.count compares in C; one value in every row means the column is that value.
    same = [values.count(values[0]) == len(values) for values in columns]
    if all(same):  # identical rows: one column still says how many there are
        same[0] = False
    arrays = [
        _array_text(_prepared(db, field, values, plain[i]))
        for i, (field, values) in enumerate(zip(fields, columns, strict=True))
        if not same[i]
    ]
    names = _v_columns(len(fields))
    varying = ", ".join(name for name, constant in zip(names, same, strict=True) if not constant)
    unnest = ", ".join(f"%s::{_db_type(field, db)}[]" for i, field in enumerate(fields) if not same[i])
    if not any(same):
        return "", f"unnest({unnest}) AS v ({varying})", arrays
    singles = [
        _prepared(db, field, [values[0]], plain[i])[0]
        for i, (field, values) in enumerate(zip(fields, columns, strict=True))
        if same[i]
    ]
    select = ", ".join(
        f"%s::{_db_type(field, db)} AS {name}" if constant else f"u.{name}"
        for field, name, constant in zip(fields, names, same, strict=True)
    )
    source = f"(SELECT {select} FROM unnest({unnest}) AS u ({varying})) AS v"  # noqa: S608  (metadata names)
    return "", source, [*singles, *arrays]


# (field, vendor) -> the column's type: a foreign key builds a field of its target's type to answer, at
# every call, and a pump's writes name each column's type in every statement.
_db_types: dict[tuple[Field[Any, Any], str], str] = {}


def _db_type(field: Field[Any, Any], db: BaseDatabaseWrapper) -> str:
    key = (field, db.vendor)
    found = _db_types.get(key)
    if found is None:
        found = _db_types[key] = str(field.db_type(db))
    return found


def _array_text(values: list[Any]) -> Any:
    """``values`` as a PostgreSQL array literal (``{1,NULL,"a b"}``), or as they are if a value is of a type
    this does not know. psycopg dumps a list element by element in Python; this was 4 times faster for a
    batch of outcomes, and the server parses the text in C."""
    kinds = {type(value) for value in values}
    if kinds <= _NUMBERS:
        return "{" + ",".join(["NULL" if value is None else str(value) for value in values]) + "}"
    if not kinds <= _LITERALS:
        return values
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
            continue
        if type(value) is datetime:
            text = value.isoformat()
        elif type(value) is bool:
            text = "t" if value else "f"
        else:
            text = str(value)
        if "\\" in text or '"' in text:
            text = text.replace("\\", "\\\\").replace('"', '\\"')
        items.append(f'"{text}"')
    return "{" + ",".join(items) + "}"


# bool is not a number here: str(True) is "True", which PostgreSQL does not read as a boolean.
_NUMBERS: set[type] = {int, type(None)}
_LITERALS: set[type] = {int, str, bool, datetime, uuid.UUID, type(None)}


def _prepared(db: BaseDatabaseWrapper, field: Field[Any, Any], values: list[Any], plain: tuple[type, ...]) -> list[Any]:
    """``values`` as the driver takes them for ``field``: as they are when all are of ``plain`` types
    (``_as_is``), else each through the field. Preparing each value was a third of a pump's cost of
    writing a batch of outcomes."""
    if all(type(value) in plain and _aware(value) for value in values):
        return values
    return [field.get_db_prep_save(value, db) for value in values]


def _v_columns(count: int) -> list[str]:
    return [f"c{index}" for index in range(count)]


def fetch_models(model: type[M], sql: str, params: Sequence[Any]) -> list[M]:
    """``model`` instances from a hand-written statement that returns every concrete column, in order.

    On PostgreSQL the rows need no field converters, so they become models directly, and timestamps are
    read by psycopg's C loader: Django's own (a Python subclass that sets the zone) was a tenth of a pump's
    claim. Both give the same instants; the session's zone is UTC either way. Elsewhere ``raw()`` applies
    each field's converters (SQLite hands back text for dates and UUIDs).
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return list(model._default_manager.raw(sql, params))
    names = [field.attname for field in model._meta.concrete_fields]
    with db.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", _c_timestamptz_loader())
        cursor.execute(sql, params)
        return [build(model, dict(zip(names, row, strict=True)), db=DEFAULT_DB_ALIAS) for row in cursor.fetchall()]


def build(model: type[M], values: dict[str, Any], *, db: str | None = None) -> M:
    """A ``model`` instance holding ``values``, one per concrete field's ``attname`` (``engine_id``, not
    ``engine``); ``db`` says it was loaded from that database, else it is new (unsaved).

    ``Model.__init__`` costs 12-26 µs (each field through its descriptor, each default called), and a
    pump makes two instances per SMS. So this sets the attributes directly: no defaults, no descriptors,
    no ``pre_init``/``post_init`` signals (nothing here listens to them). Every field must be given.
    """
    assert len(values) == len(model._meta.concrete_fields), f"{model.__name__}: give every field"
    obj = model.__new__(model)
    state = obj._state = ModelState()
    if db is not None:
        state.adding, state.db = False, db
    obj.__dict__.update(values)
    return obj


@functools.cache
def _c_timestamptz_loader() -> type:
    import psycopg
    from psycopg.pq import Format

    return psycopg.adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, Format.TEXT)  # type: ignore[return-value]


def db_value(model: type[Model], name: str, value: Any) -> Any:
    """``value`` as the database takes it for ``model.name`` (for hand-written statements)."""
    return _concrete(model._meta.get_field(name)).get_db_prep_save(value, connections[DEFAULT_DB_ALIAS])


def _concrete(field: Any) -> Field[Any, Any]:
    assert isinstance(field, Field) and field.column, f"{field} is not a column"
    return field
