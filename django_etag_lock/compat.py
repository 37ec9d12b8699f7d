"""Every use of private (or internal) Django, DRF, drf-spectacular and django-ninja API.

Each entry is a small function or name, with the versions it was checked against and a
test in ``tests/test_compat.py`` that pins its signature and behaviour on every
supported line (run by the Django-version matrix of ``.ci/run``). A new Django, DRF or
drf-spectacular release that breaks one of them fails those tests first, here, rather
than a write path somewhere else. Nothing else in the package touches a private name of
those libraries.

This module imports only Django: the DRF and drf-spectacular entries take the object
they work on, so the core (models, querysets) can import it without either installed.

Checked against: Django 5.2, 6.0, 6.1; DRF 3.15 to 3.18; drf-spectacular 0.28 to 0.30;
django-ninja 1.7 (its one entry is a name; this module does not import Ninja).
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper as _BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper as _CursorWrapper
from django.db.models import QuerySet as _QuerySet
from django.db.models.deletion import Collector
from django.db.models.manager import BaseManager
from django.db.models.query import ModelIterable as _ModelIterable
from django.db.models.sql.compiler import SQLCompiler as _SQLCompiler
from django.db.models.sql.query import Query
from django.db.models.sql.where import AND, ExtraWhere
from django.utils.asyncio import async_unsafe

_T = TypeVar("_T")

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models import Field, Model, QuerySet
    from django.http import HttpRequest
    from django.http.response import HttpResponseBase

# -- Django ORM -----------------------------------------------------------------------

_QUERYSET_UPDATE = _QuerySet._update  # type: ignore[attr-defined]
_QUERYSET_FILTER = _QuerySet.filter

DO_UPDATE = "_do_update"
"""``Model._do_update``, which ``VersionedModel`` overrides to make ``save()`` compare.

Django 5.2: ``(self, base_qs, using, pk_val, values, update_fields, forced_update)``;
6.0 and 6.1 add ``returning_fields``, which the override passes on through ``*args``.
Called once per table of the row (multi-table inheritance), with the UPDATE's queryset
already filtered by model but not yet by pk. It cannot be wrapped from here (an
override is a method of the model); its first seven parameters are pinned by the tests.
"""

DO_UPDATE_PARAMETERS = (
    "self",
    "base_qs",
    "using",
    "pk_val",
    "values",
    "update_fields",
    "forced_update",
)
"""The leading parameters of ``Model._do_update`` the override relies on, in order."""


def add_where_sql(queryset: QuerySet[Any], sql: str, params: list[Any]) -> None:
    """AND precompiled ``sql`` (with ``%s`` ``params``) into ``queryset``'s WHERE, in place.

    ``sql.where.ExtraWhere`` added to ``Query.where``: what ``QuerySet.extra(where=...)``
    does, without the clone and the ``extra()`` deprecation path. Used on the queryset
    Django just built for a save's UPDATE, where a second ``filter()`` would cost more
    than the rest of the save (docs/benchmarks.md). Django 5.2, 6.0, 6.1:
    ``ExtraWhere(sqls, params)``, ``WhereNode.add(data, conn_type)``.
    """
    queryset.query.where.add(ExtraWhere([sql], params), AND)


def raw_delete(queryset: QuerySet[Any], using: str) -> int:
    """One ``DELETE`` statement for ``queryset``: no collection, no signals.

    ``QuerySet._raw_delete(using)``, which Django's own fast delete calls; used only when
    :func:`can_fast_delete` says Django would do the same. Django 5.2, 6.0, 6.1 return
    the row count.
    """
    return int(queryset._raw_delete(using))


def can_fast_delete(objs: Model | QuerySet[Any], using: str, origin: Model | None = None) -> bool:
    """Whether Django would delete ``objs`` with one statement (no cascades, parents, signals).

    ``Collector(using, origin).can_fast_delete(objs)``: public methods of an undocumented
    class. Django 5.2: ``Collector(using, origin=None)``; 6.1 adds ``force_collection``
    (default ``False``, which is what is wanted here).
    """
    return bool(Collector(using=using, origin=origin).can_fast_delete(objs))


def write_db(queryset: QuerySet[Any]) -> str:
    """The database ``queryset`` writes to, asking the router for a write, in place.

    Sets ``QuerySet._for_write`` (what ``QuerySet.update()``/``delete()`` do first), then
    reads ``QuerySet.db``. Django 5.2, 6.0, 6.1.
    """
    queryset._for_write = True  # type: ignore[attr-defined]
    return queryset.db


def needs_rollback(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``connection``'s current atomic block is already marked for rollback.

    ``BaseDatabaseWrapper.needs_rollback``, read directly because the public
    ``transaction.get_rollback()`` raises outside an atomic block. Django 5.2, 6.0, 6.1.
    """
    return bool(connection.needs_rollback)


_MANAGER_GET_QUERYSET = BaseManager.get_queryset
_QUERYSET_USING = _QuerySet.using


def manager_queryset_using(manager: Any, alias: str | None) -> QuerySet[Any] | None:
    """``manager.get_queryset().using(alias)`` built at once, or None if it cannot be.

    ``_save_table`` asks the base manager for ``using(alias)`` on every save; Django's
    manager builds a queryset and then clones it. When neither the manager's
    ``get_queryset()`` nor its queryset's ``using()`` is overridden the result is the
    queryset ``BaseManager.get_queryset()`` builds with ``using=alias``: built here in
    one step. Reads ``BaseManager._queryset_class`` and ``_hints``: Django 5.2, 6.0, 6.1.
    """
    queryset_class = manager._queryset_class
    if type(manager).get_queryset is not _MANAGER_GET_QUERYSET or (
        queryset_class.using is not _QUERYSET_USING
    ):
        return None
    result: QuerySet[Any] = queryset_class(model=manager.model, using=alias, hints=manager._hints)
    return result


def plain_update_queryset(queryset: QuerySet[Any]) -> bool:
    """Whether Django's UPDATE of a save through ``queryset`` would add nothing to its SQL.

    For the compiled save (``fastsave``): ``queryset`` is ``Model._base_manager.using()``
    as ``_save_table`` hands it to ``_do_update``. True when its class keeps
    ``QuerySet.filter``/``QuerySet._update`` and its ``Query`` has no WHERE, ORDER BY
    (MySQL/MariaDB put it in the UPDATE), ``extra()`` or slice. Reads ``Query.where``,
    ``order_by``, ``extra``, ``is_sliced`` and ``QuerySet._update``: Django 5.2, 6.0, 6.1.
    """
    cls = type(queryset)
    query = queryset.query
    return (
        cls._update is _QUERYSET_UPDATE  # type: ignore[attr-defined]
        and cls.filter is _QUERYSET_FILTER
        and type(query) is Query
        and not query.where
        and not query.order_by
        and not query.extra
        and not query.is_sliced
    )


# What QuerySet.get(pk=...) runs, as Django defines it (a QuerySet subclass that
# overrides one of these, or a tool that patches it, reads rows another way).
_GET_PATH_QUERYSET = {
    name: getattr(_QuerySet, name)
    for name in (
        "all",
        "get",
        "filter",
        "_filter_or_exclude",
        "_filter_or_exclude_inplace",
        "order_by",
        "_chain",
        "_clone",
        "_fetch_all",
        "__len__",
        "__iter__",
        "_prefetch_related_objects",
    )
}
_GET_PATH_COMPILER = {
    name: getattr(_SQLCompiler, name)
    for name in ("execute_sql", "results_iter", "apply_converters")
}
_MODEL_ITERABLE_ITER = _ModelIterable.__iter__


def stock_get_path(queryset_class: type[Any], compiler_class: type[Any]) -> bool:
    """``queryset_class.get(pk=...)`` runs Django's own code down to the driver.

    The methods of ``QuerySet`` that ``get()`` and DRF's ``get_queryset()`` call, those of
    ``compiler_class`` (the backend's ``SQLCompiler``) that run and convert the query, and
    ``ModelIterable.__iter__`` are the ones Django defined when this module was imported:
    neither overridden by a subclass nor patched. Django 5.2, 6.0, 6.1.
    """
    return (
        all(getattr(queryset_class, name) is f for name, f in _GET_PATH_QUERYSET.items())
        and all(getattr(compiler_class, name) is f for name, f in _GET_PATH_COMPILER.items())
        and _ModelIterable.__iter__ is _MODEL_ITERABLE_ITER
    )


def row_loader(queryset: QuerySet[Any]) -> Callable[..., Any] | None:
    """What ``ModelIterable`` calls to build an instance from a row of ``queryset``.

    ``Model.from_db`` before Django 6.1; from 6.1, ``from_db`` with the queryset's fetch
    mode bound (``query._get_from_db``), or ``None`` when the fetch mode tracks peers
    (``FETCH_PEERS``: ``ModelIterable`` links the instances of one query). Reads
    ``QuerySet._fetch_mode`` and ``FetchMode.track_peers``: Django 6.1.
    """
    model = queryset.model
    fetch_mode = getattr(queryset, "_fetch_mode", None)
    if fetch_mode is None:
        from_db: Callable[..., Any] = model.from_db
        return from_db
    if getattr(fetch_mode, "track_peers", True):
        return None
    from django.db.models.query import _get_from_db  # type: ignore[attr-defined]

    loader: Callable[..., Any] = _get_from_db(model, fetch_mode)
    return loader


# What a statement run through ``connection.cursor()`` passes through: a tool that
# replaces any of them (an APM agent patching CursorWrapper.execute) observes it there.
_CURSOR = _BaseDatabaseWrapper.cursor
_CURSOR_INNER = _BaseDatabaseWrapper._cursor  # type: ignore[attr-defined]
_PREPARE_CURSOR = _BaseDatabaseWrapper._prepare_cursor  # type: ignore[attr-defined]
_MAKE_CURSOR = _BaseDatabaseWrapper.make_cursor
_WRAPPER_EXECUTE = _CursorWrapper.execute
_WRAPPER_WITH_WRAPPERS = _CursorWrapper._execute_with_wrappers  # type: ignore[attr-defined]
_WRAPPER_INNER_EXECUTE = _CursorWrapper._execute  # type: ignore[attr-defined]


def cursor_unobserved(connection: BaseDatabaseWrapper) -> bool:
    """Whether nothing would see a statement pass through ``connection.cursor()``.

    True when queries are not logged (``DEBUG``, ``CaptureQueriesContext``), no
    ``execute_wrapper()`` is installed, and neither the connection's class nor the
    instance nor ``CursorWrapper`` replaces the methods a statement runs through.
    Reads ``force_debug_cursor``, ``execute_wrappers`` and the methods of
    ``BaseDatabaseWrapper`` and ``CursorWrapper`` kept above: Django 5.2, 6.0, 6.1.
    """
    if connection.execute_wrappers or connection.force_debug_cursor or settings.DEBUG:
        return False
    instance = connection.__dict__
    if "cursor" in instance or "_cursor" in instance:
        return False
    cls = type(connection)
    return (
        cls.cursor is _CURSOR
        and cls._cursor is _CURSOR_INNER  # type: ignore[attr-defined]
        and cls._prepare_cursor is _PREPARE_CURSOR  # type: ignore[attr-defined]
        and cls.make_cursor is _MAKE_CURSOR
        and _CursorWrapper.execute is _WRAPPER_EXECUTE
        and _CursorWrapper._execute_with_wrappers is _WRAPPER_WITH_WRAPPERS  # type: ignore[attr-defined]
        and _CursorWrapper._execute is _WRAPPER_INNER_EXECUTE  # type: ignore[attr-defined]
    )


def execute_on_driver_cursor(connection: BaseDatabaseWrapper, sql: str, params: Any) -> int:
    """Run ``sql`` as ``connection.cursor().execute(sql, params)`` does; return the rowcount.

    The steps are ``_run_on_driver_cursor``'s.
    """
    return _run_on_driver_cursor(connection, sql, params, _rowcount)


def fetch_on_driver_cursor(connection: BaseDatabaseWrapper, sql: str, params: Any) -> list[Any]:
    """Run the query ``sql`` as :func:`execute_on_driver_cursor` does; return its rows.

    The rows are the driver's, as ``SQLCompiler.execute_sql`` reads them (before the
    compiler's converters): ``fetchall()`` where the compiler loops over
    ``fetchmany()``, with the same result for a query that is read to its end.
    """
    return _run_on_driver_cursor(connection, sql, params, _fetchall)


def _rowcount(cursor: Any) -> int:
    return int(cursor.rowcount)


def _fetchall(cursor: Any) -> list[Any]:
    return list(cursor.fetchall())


@async_unsafe
def _run_on_driver_cursor(
    connection: BaseDatabaseWrapper, sql: str, params: Any, read: Callable[[Any], _T]
) -> _T:
    """Run ``sql`` as ``connection.cursor().execute(sql, params)`` does; ``read`` the cursor.

    For a statement :func:`cursor_unobserved` says nobody sees on its way: the same
    steps in the same order (health check, ``ensure_connection()`` with its
    ``SynchronousOnlyOperation`` in an event loop, the backend's ``create_cursor()``,
    thread-sharing and broken-transaction checks, driver errors turned into Django's),
    without the ``CursorWrapper`` around the driver's cursor; on SQLite the statement's
    ``%s`` placeholders are converted once per statement (:func:`_qmark`). Calls
    ``close_if_health_check_failed``, ``create_cursor``, ``validate_thread_sharing``,
    ``validate_no_broken_transaction`` and ``wrap_database_errors``, as
    ``BaseDatabaseWrapper._cursor`` and ``CursorWrapper._execute`` do, after the event-loop
    check of ``connection.cursor()`` (``async_unsafe``): Django 5.2, 6.0, 6.1. A failing
    statement's error is not hidden by one from closing the cursor, as in Django 6.1's
    ``SQLCompiler.execute_sql``.
    """
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection.create_cursor()
        connection.validate_thread_sharing()
    try:
        if not apps.ready and not apps.stored_app_configs:
            warnings.warn(_CursorWrapper.APPS_NOT_READY_WARNING_MSG, RuntimeWarning, stacklevel=2)
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors:
            if connection.vendor == "sqlite" and type(cursor).execute is _sqlite()[0]:
                _sqlite()[1](cursor, _qmark(cursor, sql), params)
            else:
                cursor.execute(sql, params)
            result = read(cursor)
    except Exception as error:
        close_after_error(connection, cursor, error)
        raise
    cursor.close()
    return result


def close_after_error(connection: BaseDatabaseWrapper, cursor: Any, error: Exception) -> None:
    """Close ``cursor`` after ``error``; a database error from closing does not replace it.

    As Django 6.1's ``SQLCompiler.execute_sql`` closes a cursor whose statement failed.
    """
    from django.db import DatabaseError

    try:
        with connection.wrap_database_errors:
            cursor.close()
    except DatabaseError:
        raise error from None


@functools.cache
def _sqlite() -> tuple[Any, Any]:
    """``SQLiteCursorWrapper.execute`` and ``sqlite3.Cursor.execute`` (once SQLite is used)."""
    import sqlite3

    from django.db.backends.sqlite3.base import SQLiteCursorWrapper

    return SQLiteCursorWrapper.execute, sqlite3.Cursor.execute


_QMARK: dict[str, str] = {}


def _qmark(cursor: Any, sql: str) -> str:
    """``sql`` as ``SQLiteCursorWrapper.execute`` hands it to sqlite3, converted once.

    ``SQLiteCursorWrapper.convert_query(sql)`` (``%s`` to ``?``, ``%%`` to ``%``) runs a
    regular expression over the statement on every execute; a kept statement is converted
    by it once. Django 5.2, 6.0, 6.1: ``execute()`` converts a sequence of parameters with
    ``convert_query(query, param_names=None)``.
    """
    converted = _QMARK.get(sql)
    if converted is None:
        if len(_QMARK) >= 1024:
            _QMARK.clear()
        converted = _QMARK[sql] = cursor.convert_query(sql)
    return converted


@contextmanager
def outermost_execute_wrapper(
    connection: BaseDatabaseWrapper, wrapper: Callable[..., Any]
) -> Iterator[None]:
    """Like ``connection.execute_wrapper(wrapper)``, but outside every installed wrapper.

    ``BaseDatabaseWrapper.execute_wrappers`` is the list ``execute_wrapper()`` appends
    to; the first entry is the outermost. Django 5.2, 6.0, 6.1.
    """
    wrappers = connection.execute_wrappers
    wrappers.insert(0, wrapper)
    try:
        yield
    finally:
        wrappers.remove(wrapper)


def local_concrete_fields(model: type[Model]) -> Sequence[Field[Any, Any]]:
    """``Options.local_concrete_fields``: the columns of ``model``'s own table, in order.

    What ``_save_table`` writes (minus pk and generated fields). Django 5.2, 6.0, 6.1.
    """
    fields: Sequence[Field[Any, Any]] = model._meta.local_concrete_fields
    return fields


def set_needs_rollback(connection: BaseDatabaseWrapper) -> None:
    """Mark ``connection``'s current atomic block for rollback (it must be in one).

    What ``transaction.set_rollback(True)`` does, on a connection object rather than an
    alias. Django 5.2, 6.0, 6.1.
    """
    connection.needs_rollback = True


QUERYSET_INSERT = "_insert"
"""``QuerySet._insert``, which ``VersionedQuerySet`` overrides so an upsert bumps.

``bulk_create()`` calls it once per batch (through ``_batched_insert``) with
``on_conflict=OnConflict.UPDATE`` and ``update_fields``/``unique_fields`` as Field
objects. Django 5.2, 6.0, 6.1: the parameters below, unchanged since 4.1.
"""

QUERYSET_INSERT_PARAMETERS = (
    "self",
    "objs",
    "fields",
    "returning_fields",
    "raw",
    "using",
    "on_conflict",
    "update_fields",
    "unique_fields",
)


def insert_with_conflict_suffix(
    model: type[Model],
    using: str,
    objs: Any,
    fields: Any,
    returning_fields: Any,
    raw: bool,
    on_conflict: Any,
    update_fields: Any,
    unique_fields: Any,
    extend: Any,
) -> Any:
    """``QuerySet._insert`` for an upsert, with ``extend(suffix, connection)`` appended.

    Builds the ``sql.InsertQuery`` ``QuerySet._insert`` builds, and has its compiler's
    ``as_sql()`` append ``extend(...)`` right after the conflict clause Django wrote
    (``DatabaseOperations.on_conflict_suffix_sql()``, recomputed here with the same
    arguments as ``SQLInsertCompiler.as_sql`` passes: query fields, the update and unique
    fields' columns). ``extend`` returns the SQL to append, or raises. Returns what
    ``SQLInsertCompiler.execute_sql(returning_fields)`` returns. Django 5.2, 6.0, 6.1.
    """
    from django.db.models import sql

    query = sql.InsertQuery(
        model, on_conflict=on_conflict, update_fields=update_fields, unique_fields=unique_fields
    )
    query.insert_values(fields, objs, raw=raw)
    compiler = query.get_compiler(using=using)
    suffix = compiler.connection.ops.on_conflict_suffix_sql(
        fields,
        on_conflict,
        [f.column for f in update_fields],
        [f.column for f in unique_fields or ()],
    )
    original = compiler.as_sql

    def as_sql(*args: Any, **kwargs: Any) -> list[tuple[str, Any]]:
        statements = []
        for statement, params in original(*args, **kwargs):
            head, found, tail = statement.rpartition(suffix) if suffix else ("", "", "")
            addition = extend(suffix if found else None, compiler.connection)
            statements.append((head + suffix + addition + tail, params))
        return statements

    compiler.as_sql = as_sql
    return compiler.execute_sql(returning_fields)


def use_base_manager(model: type[Model], name: str) -> None:
    """Make the manager ``name`` the base manager of ``model`` unless one is configured.

    Sets ``Options.base_manager_name`` (what ``Meta.base_manager_name`` sets) when the
    model is prepared, and drops the cached ``Options.base_manager``. Django 5.2, 6.0,
    6.1.
    """
    if not model._meta.base_manager_name:
        model._meta.base_manager_name = name
        model._meta.__dict__.pop("base_manager", None)  # a cached_property


def collector_writes_fetched_rows(on_delete: Any) -> bool:
    """Whether the deletion collector applies ``on_delete`` to rows it fetched first.

    Django's collector applies ``SET_NULL`` and ``SET(value)`` (both flagged
    ``lazy_sub_objs``) as one ``QuerySet.update()`` on ``Collector.related_objects()``,
    a queryset of the base manager; ``SET_DEFAULT`` and ``SET(callable)`` fetch the rows
    and write them with ``sql.UpdateQuery(model).update_batch()``, which no manager sees.
    ``SET(...)`` is recognised by its ``deconstruct()``. Django 5.2, 6.0, 6.1.
    """
    from django.db.models import SET_DEFAULT

    if on_delete is SET_DEFAULT:
        return True
    deconstruct = getattr(on_delete, "deconstruct", None)
    return (
        callable(deconstruct)
        and deconstruct()[0] == "django.db.models.SET"
        and not getattr(on_delete, "lazy_sub_objs", False)
    )


def database_on_delete_operation(on_delete: Any) -> str | None:
    """The SQL action of a database-level ``on_delete`` (Django 6.1's ``DB_SET_NULL``...).

    ``DatabaseOnDelete.operation`` (``"SET NULL"``, ``"SET DEFAULT"``, ``"CASCADE"``);
    ``None`` for Django's Python-level handlers and before 6.1.
    """
    operation = getattr(on_delete, "operation", None)
    return operation if isinstance(operation, str) else None


def cached_related(instance: Model, field: Any) -> Model | None:
    """The related instance ``instance`` holds for the forward relation ``field``, if loaded.

    ``Field.is_cached(instance)`` and ``Field.get_cached_value(instance)`` of
    ``FieldCacheMixin`` (undocumented): what ``instance.order`` reads before it queries.
    Used by touch (docs/children.md) to advance the in-memory version of a parent that a
    child holds, without loading one it does not. Django 5.2, 6.0, 6.1.
    """
    if not field.is_cached(instance):
        return None
    related: Model | None = field.get_cached_value(instance)
    return related


# -- Django HTTP ----------------------------------------------------------------------


_HEADER_KEYS = {
    name: name.lower() for name in ("ETag", "Last-Modified", "Cache-Control", "Content-Location")
}


def add_missing_headers(response: HttpResponseBase, headers: Mapping[str, str]) -> None:
    """Set each of ``headers`` on ``response`` that it does not have yet.

    ``ResponseHeaders._store`` (``{name.lower(): (name, value)}``, Django 3.2 to 6.1):
    ``__setitem__`` checks a name and a value (charset, no newline) and stores exactly
    that pair, and ``in`` finds a missing name by raising ``KeyError`` in ``Mapping``.
    The validators' names are known to pass, and so does a value of printable ASCII
    (which every ETag, Cache-Control and escaped URI reference is): such a pair is
    stored directly. Any other name or value (Latin-1, a tab, a newline) goes through
    ``__setitem__``, which encodes it or raises ``BadHeaderError`` as for any header.
    """
    response_headers = response.headers
    store: dict[str, tuple[str, str]] = response_headers._store
    for name, value in headers.items():
        key = _HEADER_KEYS.get(name)
        if key is not None and type(value) is str and value.isascii() and value.isprintable():
            store.setdefault(key, (name, value))
        elif name not in response_headers:
            response_headers[name] = value


# -- DRF ------------------------------------------------------------------------------


def wrapped_request(request: Any) -> HttpRequest:
    """The Django ``HttpRequest`` a DRF ``Request`` wraps: ``Request._request``.

    Its ``method`` is the one the client sent, where the DRF request may be a clone
    under another method (metadata, browsable API forms). DRF 3.15 to 3.18.
    """
    result: HttpRequest = request._request
    return result


# -- drf-spectacular ------------------------------------------------------------------
# AutoSchema's public hooks (get_override_parameters, get_response_serializers) cannot
# add responses next to the default ones without replacing them, so the OpenAPI
# extension uses these. drf-spectacular 0.28 to 0.30.

SPECTACULAR_RESPONSE_BODIES = "_get_response_bodies"
"""``AutoSchema._get_response_bodies(self, direction='response')``, overridden by
``openapi.ETagLockSchemaMixin`` to add 304/400/404/412/428 next to the default."""


def spectacular_is_list_view(schema: Any, serializer: Any = None) -> bool:
    """``AutoSchema._is_list_view(serializer=None)``: the operation returns a list."""
    return bool(schema._is_list_view(serializer))


def spectacular_is_create_operation(schema: Any) -> bool:
    """``AutoSchema._is_create_operation()``: the operation creates (POST to a list)."""
    return bool(schema._is_create_operation())


def spectacular_response_for_code(
    schema: Any, serializer: Any, status_code: str, media_types: list[str] | None = None
) -> dict[str, Any]:
    """``AutoSchema._get_response_for_code(serializer, status_code, media_types)``.

    The response object drf-spectacular would build for ``serializer`` at
    ``status_code``, content included.
    """
    result: dict[str, Any] = schema._get_response_for_code(serializer, status_code, media_types)
    return result


# -- django-ninja ---------------------------------------------------------------------
# The one private touch of django_etag_lock.ninja. Checked: django-ninja 1.7.

NINJA_RUN_CHECKS = "_run_checks"
"""``Operation._run_checks(self, request)``: Ninja's authentication and throttling, which
``Operation.run()`` calls before it validates the request's parameters and body; it
returns ``None`` or the refusal's response (``AsyncOperation``'s is a coroutine). The
operations ``etag_lock()`` installs override it to load the row and evaluate the
preconditions right after it: 401/403 first, then 404, 304/412/428, and only then Ninja's
422. Ninja has no public hook between the two; ``decorate_view`` wraps all of ``run()``,
before authentication. The override is a method (it cannot be wrapped from here); the name,
parameters and call order are pinned by ``tests/test_compat.py``."""

NINJA_RUN_CHECKS_PARAMETERS = ("self", "request")
"""The parameters of ``Operation._run_checks`` the override relies on, in order."""


# --- admin ---
# The admin entries import django.contrib.admin lazily, so the core can import this
# module in projects without the admin. Pinned by tests/admin/test_compat.py.
# Checked against Django 5.2, 6.0 and 6.1.
#
# Not a private API but a reliance on Django's code: the list_editable save
# (admin/list_editable.py) counts on ``ModelAdmin.changelist_view()`` validating the
# changelist formset with ``is_valid()`` and then saving only the forms whose
# ``has_changed()`` is true (5.2: inline in changelist_view; 6.1: ``_save_formset()``).
# Pinned by test_changelist_view_saves_only_the_forms_that_report_a_change.

if TYPE_CHECKING:
    from django import forms
    from django.contrib.admin.helpers import AdminForm
    from django.contrib.admin.models import LogEntry
    from django.db import models
    from django.utils.safestring import SafeString

ADMIN_UNDOCUMENTED_OVERRIDES: dict[str, tuple[str, ...]] = {
    "action_checkbox": ("self", "obj"),
    "render_change_form": ("self", "request", "context", "add", "change", "form_url", "obj"),
    "render_delete_form": ("self", "request", "context"),
    "response_action": ("self", "request", "queryset"),
}
"""Undocumented ``ModelAdmin`` methods that ``VersionedAdminMixin`` overrides, with the
leading parameters the overrides rely on. Django 6.1 adds ``action_location`` to
``response_action()``, which the override passes on through ``*args``/``**kwargs``.
Checked: Django 5.2, 6.0, 6.1."""

DELETE_CONFIRMATION_ANCHOR = '<input type="hidden" name="post" value="yes">'
"""An input every ``admin/delete_confirmation.html`` form holds (Django has no block
inside that form); the version input is added right after it. Checked: Django 5.2, 6.0,
6.1."""


DELETE_LINK = re.compile(r'<a\s(?:[^>]*?\s)?href="(?P<href>[^"]*)"[^>]*?\sclass="deletelink"')
"""The change form's Delete link, as ``admin/submit_line.html`` writes it
(``<a href="..." class="deletelink">``; Django 6.1 adds ``role="button"`` first); the
version the page shows is added to its URL."""


def selected_action_input() -> Any:
    """The ``<input type="hidden" name="_selected_action" value="...">`` that
    ``admin/delete_selected_confirmation.html`` writes per selected row, as a pattern.

    Checked: Django 5.2, 6.0, 6.1.
    """
    import re

    from django.contrib.admin import helpers

    name = re.escape(helpers.ACTION_CHECKBOX_NAME)
    return re.compile(rf'<input type="hidden" name="{name}" value="[^"]*">')


def flatten_fieldsets(fieldsets: Any) -> list[str]:
    """``django.contrib.admin.utils.flatten_fieldsets`` (undocumented). Checked: 5.2, 6.0, 6.1."""
    from django.contrib.admin.utils import flatten_fieldsets as flatten

    return list(flatten(fieldsets))


def unquote(object_id: str) -> str:
    """``django.contrib.admin.utils.unquote`` (undocumented): the pk in an admin URL.

    Checked: Django 5.2, 6.0, 6.1.
    """
    from django.contrib.admin.utils import unquote as admin_unquote

    return str(admin_unquote(object_id))


def display_for_field(value: Any, field: models.Field[Any, Any], empty: str) -> Any:
    """``django.contrib.admin.utils.display_for_field`` (undocumented), as the
    changelist displays a value, without a link (``avoid_link``, Django 5.0+).

    Checked: Django 5.2, 6.0, 6.1.
    """
    from django.contrib.admin.utils import display_for_field as display

    return display(value, field, empty, avoid_link=True)


def add_hidden_fieldset(adminform: AdminForm, field_name: str) -> None:
    """Make ``helpers.AdminForm`` (undocumented) render ``field_name`` in a hidden fieldset.

    The change form renders only the fields named in ``adminform.fieldsets``, which
    ``AdminForm.__iter__`` reads when the template renders. Checked: Django 5.2, 6.0, 6.1.
    """
    hidden: Any = (None, {"fields": [field_name], "classes": ["hidden"]})
    adminform.fieldsets = [*adminform.fieldsets, hidden]


def changed_field_labels(entry: LogEntry) -> list[str]:
    """Field labels in a ``LogEntry``'s change message (its undocumented JSON format).

    ``ModelAdmin.construct_change_message()`` writes
    ``[{"changed": {"fields": ["Given name", ...]}}, ...]``; inline objects add an
    ``"object"`` key and are left out. Checked: Django 5.2, 6.0, 6.1.
    """
    import json

    try:
        parts = json.loads(entry.change_message or "[]")
    except ValueError:
        return []
    labels: list[str] = []
    for part in parts if isinstance(parts, list) else []:
        changed = part.get("changed") if isinstance(part, dict) else None
        if isinstance(changed, dict) and "object" not in changed:
            labels.extend(str(label) for label in changed.get("fields", []))
    return labels


class _CompanionRender:
    etag_lock_companion: forms.BoundField

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        from django.utils.safestring import mark_safe

        rendered = super().render(name, value, attrs, renderer)  # type: ignore[misc]
        return mark_safe(f"{rendered}{self.etag_lock_companion}")


_companion_classes: dict[type[Any], type[Any]] = {}


def render_with(widget: forms.Widget, companion: forms.BoundField) -> forms.Widget:
    """A copy of ``widget`` that renders ``companion`` right after itself.

    The changelist renders only each row form's primary key field
    (``admin_list.items_for_result()``/``result_hidden_fields()``), so a field that
    must reach the POST rides along with it. The copy's class is swapped for a
    subclass of its own (cached per widget class), so its other behaviour is
    unchanged; relies on ``Widget.render(name, value, attrs=None, renderer=None)``.
    Checked: Django 5.2, 6.0, 6.1.
    """
    import copy

    widget_class = type(widget)
    if widget_class not in _companion_classes:
        _companion_classes[widget_class] = type(
            widget_class.__name__, (_CompanionRender, widget_class), {}
        )
    clone = copy.copy(widget)
    clone.__class__ = _companion_classes[widget_class]
    clone.etag_lock_companion = companion  # type: ignore[attr-defined]
    return clone
