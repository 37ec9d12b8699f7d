"""The compiled compare-and-set of a plain versioned ``save()``.

Django builds and compiles the ``UPDATE`` of every ``save()`` anew: a ``filter(pk=...)``
queryset, an ``UpdateQuery``, a compiler, the SQL text. For a versioned row the text only
depends on the table, the backend, the columns written and (before Django 6.1) which of
them are NULL, so it is compiled once per such key, by Django itself, and reused:

- The first save of a key runs Django's own path under an execute wrapper (the
  outermost one), which records the statement Django ran. The statement is kept only if
  it was a single one and its parameters are exactly the ones this module prepares
  (``Field.get_db_prep_save`` for the values, the ``exact`` lookup's preparation for the
  primary key); otherwise the key stays on Django's path for good.
- Later saves of the key prepare the values as Django would and run the kept statement
  through :func:`execute_compare_and_set`, on the connection's cursor, so query logging,
  ``CaptureQueriesContext`` and ``connection.execute_wrapper()`` see it as before.
- Anything that is not plain takes Django's path every time (see :data:`FALLBACKS`);
  each such save is logged at DEBUG on the ``django_etag_lock.fastsave`` logger, with
  the reason. ``ETAG_LOCK_COMPILED_SAVE = False`` turns the whole module off.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import django
from django.db import connections

from django_etag_lock import compat

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models import Field, Model, QuerySet

logger = logging.getLogger("django_etag_lock.fastsave")

#: Why a save takes Django's path; the values are the reasons logged.
FALLBACKS = {
    "adding": "a new instance with an explicit primary key (UPDATE, then maybe INSERT)",
    "backend": "not one of Django's built-in SQLite, PostgreSQL and MySQL/MariaDB backends",
    "base_manager": "the base manager's queryset filters, orders or is not a plain QuerySet",
    "composite_pk": "composite primary key",
    "custom_placeholder": "a field with get_placeholder()/get_placeholder_sql()",
    "db_default": "a written field has db_default",
    "db_returning": "a written field is db_returning",
    "expression": "a value is an expression or a model instance",
    "generated": "the model has a GeneratedField",
    "mismatch": "Django's statement could not be reproduced (several statements, other params)",
    "multi_table": "multi-table inheritance",
    "raw": "a raw (fixture) save: the version is written as given, not compared",
    "relation_pk": "the primary key is a relation",
    "returning": "Django asks for returned columns",
    "select_on_save": "Meta.select_on_save",
    "unchecked": "inside unchecked(): version = version + 1 in SQL, not compared",
}

BUILTIN_BACKENDS = frozenset(
    {
        "django.db.backends.sqlite3.base",
        "django.db.backends.postgresql.base",
        "django.db.backends.mysql.base",
    }
)

# Django before 6.1 writes None as a NULL literal in the SET clause, 6.1 as a parameter.
_NULL_IS_LITERAL = django.VERSION < (6, 1)
# From 6.0, _do_update returns the rows of returned columns instead of a bool.
_RETURNS_ROWS = django.VERSION >= (6, 0)
_MAX_KEYS = 1024

# Values of these exact types are never expressions, model instances or compilable.
_PLAIN_TYPES = frozenset(
    {
        str,
        int,
        float,
        bool,
        type(None),
        bytes,
        decimal.Decimal,
        datetime.datetime,
        datetime.date,
        datetime.time,
        datetime.timedelta,
        uuid.UUID,
    }
)


class _Refused(str):
    """A cache entry for a key that stays on Django's path (the reason's key)."""


_models: dict[tuple[type[Any], type[Any], type[Any]], str | None] = {}
_statements: dict[tuple[Any, ...], str] = {}


def reset() -> None:
    """Forget every compiled statement and model verdict (tests use it)."""
    _models.clear()
    _statements.clear()


def execute_compare_and_set(
    connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any]
) -> int:
    """Run one compiled compare-and-set statement; return the number of rows it matched.

    The only place the compiled statement meets the database: wrap this function to
    change how its errors surface.
    """
    if compat.cursor_unobserved(connection):
        return compat.execute_on_driver_cursor(connection, sql, params)
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def log_fallback(model: type[Model], reason: str) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s.save() took Django's path: %s (%s)",
            model._meta.label,
            reason,
            FALLBACKS[reason],
            extra={"fallback": reason},
        )


def _model_reason(
    instance_model: type[Model], model: type[Model], connection: BaseDatabaseWrapper
) -> str | None:
    key = (instance_model, model, type(connection))
    try:
        return _models[key]
    except KeyError:
        pass
    meta = model._meta
    reason: str | None = None
    if type(connection).__module__ not in BUILTIN_BACKENDS:
        reason = "backend"
    elif meta.select_on_save:
        reason = "select_on_save"
    elif meta.parents or instance_model._meta.concrete_model._meta.parents:  # type: ignore[union-attr]
        reason = "multi_table"
    elif len(getattr(meta, "pk_fields", ())) > 1:
        reason = "composite_pk"
    elif meta.pk is None or meta.pk.remote_field is not None:
        reason = "relation_pk"
    elif any(getattr(f, "generated", False) for f in compat.local_concrete_fields(model)):
        reason = "generated"
    _models[key] = reason
    return reason


def _column_reason(fields: Sequence[Field[Any, Any]]) -> str | None:
    for field in fields:
        if hasattr(field, "get_placeholder") or hasattr(field, "get_placeholder_sql"):
            return "custom_placeholder"
        if field.has_db_default():
            return "db_default"
        if getattr(field, "db_returning", False):
            return "db_returning"
    return None


def update(
    instance: Model,
    base_qs: QuerySet[Any],
    using: str,
    pk_val: Any,
    values: list[tuple[Field[Any, Any], Any, Any]],
    expected: int,
    returning_fields: Sequence[Any] | None,
    django_path: Callable[[], Any],
) -> Any:
    """The result ``Model._do_update`` would return, from the compiled statement if it can.

    ``values`` already hold the new version as a plain int; ``django_path`` runs Django's
    own ``_do_update`` with the version condition (the fallback, and the first save of a
    key, whose statement is recorded).
    """
    model = base_qs.model
    connection = connections[using]
    reason = _model_reason(type(instance), model, connection)
    if reason is None:
        if instance._state.adding:
            reason = "adding"
        elif returning_fields:
            reason = "returning"
        elif not compat.plain_update_queryset(base_qs):
            reason = "base_manager"
    if reason is not None:
        log_fallback(type(instance), reason)
        return django_path()

    plain = _PLAIN_TYPES
    params: list[Any] = []
    names: list[str] = []
    nulls: list[bool] | None = [] if _NULL_IS_LITERAL else None
    for field, _model, value in values:
        if type(value) not in plain and (
            hasattr(value, "resolve_expression") or hasattr(value, "prepare_database_save")
        ):
            log_fallback(type(instance), "expression")
            return django_path()
        prepared = field.get_db_prep_save(value, connection=connection)
        if type(prepared) not in plain and hasattr(prepared, "as_sql"):
            log_fallback(type(instance), "expression")
            return django_path()
        names.append(field.attname)
        if nulls is None:
            params.append(prepared)
        elif prepared is None:
            nulls.append(True)
        else:
            nulls.append(False)
            params.append(prepared)
    pk = model._meta.pk
    assert pk is not None
    params.append(expected)
    params.append(pk.get_db_prep_value(pk.get_prep_value(pk_val), connection, prepared=True))

    key = (type(connection), model, tuple(names), tuple(nulls) if nulls is not None else ())
    sql = _statements.get(key)
    if sql is None:
        return _compile(instance, key, connection, [f for f, _, _ in values], params, django_path)
    if isinstance(sql, _Refused):
        log_fallback(type(instance), str(sql))
        return django_path()
    # A tuple, as Django's compiler hands its parameters to the cursor.
    rows = execute_compare_and_set(connection, sql, tuple(params))
    if _RETURNS_ROWS:
        return [()] * rows
    return rows > 0


def _compile(
    instance: Model,
    key: tuple[Any, ...],
    connection: BaseDatabaseWrapper,
    fields: Sequence[Field[Any, Any]],
    params: list[Any],
    django_path: Callable[[], Any],
) -> Any:
    """Run Django's path once for ``key``, keeping its statement if it can be reused."""
    reason = _column_reason(fields)
    if reason is not None:
        _remember(key, _Refused(reason))
        log_fallback(type(instance), reason)
        return django_path()
    ran: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, sql_params: Any, many: bool, context: Any) -> Any:
        ran.append((sql, sql_params))
        return execute(sql, sql_params, many, context)

    # Outermost, so it records the statement as Django made it, before wrappers of the
    # application (a SQL commenter, say) rewrite it; those run again on every reuse.
    with compat.outermost_execute_wrapper(connection, record):
        result = django_path()
    if len(ran) == 1 and list(ran[0][1] or ()) == params:
        _remember(key, ran[0][0])
    else:
        _remember(key, _Refused("mismatch"))
        log_fallback(type(instance), "mismatch")
    return result


def _remember(key: tuple[Any, ...], sql: str) -> None:
    if len(_statements) >= _MAX_KEYS:
        _statements.clear()
    _statements[key] = sql


def compiled_statement(
    model: type[Model], using: str, fields: Sequence[str], nulls: Sequence[bool] = ()
) -> str | None:
    """The statement kept for ``model``'s save writing ``fields`` (attnames), if any.

    ``nulls`` says which of them are NULL (only part of the key before Django 6.1).
    """
    connection = connections[using]
    mask = (tuple(nulls) or (False,) * len(fields)) if _NULL_IS_LITERAL else ()
    key = (type(connection), model._meta.concrete_model, tuple(fields), mask)
    sql = _statements.get(key)
    return None if sql is None or isinstance(sql, _Refused) else sql
