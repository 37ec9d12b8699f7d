"""The compiled fetch of one row by primary key: ``queryset.get(pk=value)``, compiled once.

A detail view reads its row with ``queryset.get(pk=value)`` on every request (DRF's
``get_object()``): Django clones the queryset twice, builds a ``WHERE`` from a ``Q``,
compiles a ``SELECT ... LIMIT 21`` and iterates it, which costs several times what the
database takes to answer. When the queryset is the model's plain one, the statement
depends only on the model and the connection, so it is compiled once, by Django:

- The first fetch of a queryset on a connection compiles the query ``get()`` would run,
  with Django's compiler, and the same query of the model's bare ``QuerySet``. The
  statement is kept only if the two are the same SQL, with one parameter, equal to the
  value as this module prepares it (the field's ``get_prep_value``, the integer range
  check of Django's ``exact`` lookup on integer fields, ``get_db_prep_value``), and the
  compiler selects the model's columns alone.
- Later fetches prepare the value as Django does, run the kept statement on the
  connection's cursor (query logging, ``CaptureQueriesContext`` and
  ``connection.execute_wrapper()`` see it as before), convert the columns with the
  converters Django's compiler chose, and build the instance as ``ModelIterable`` does
  (``Model.from_db``, with Django 6.1's fetch mode).
- Anything that is not plain takes Django's path every time (see :data:`FALLBACKS`),
  logged at DEBUG on the ``django_etag_lock.fastfetch`` logger with the reason.
  ``ETAG_LOCK_COMPILED_FETCH = False`` turns the module off.

The result is exactly ``queryset.get(pk=value)``'s: the same instance, or the same
exception (``DoesNotExist`` and ``MultipleObjectsReturned`` with Django's messages, the
field's ``ValueError`` or ``ValidationError`` for a value it cannot take).
"""

from __future__ import annotations

import functools
import logging
import uuid
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.signals import setting_changed
from django.db import connections
from django.db.models import QuerySet
from django.db.models.lookups import Exact, IntegerFieldExact
from django.db.models.query import MAX_GET_RESULTS, ModelIterable
from django.db.models.sql.query import Query

from django_etag_lock import compat
from django_etag_lock.conf import conf
from django_etag_lock.fastsave import BUILTIN_BACKENDS

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models import Model

logger = logging.getLogger("django_etag_lock.fastfetch")

#: Why a fetch takes Django's path; the values are the reasons logged.
FALLBACKS = {
    "backend": "not one of Django's built-in SQLite, PostgreSQL and MySQL/MariaDB backends",
    "fetch_mode": "Django 6.1's FETCH_PEERS links the instances of one query",
    "iterable": "values(), values_list() or another iterable class",
    "mismatch": "Django's statement could not be reproduced (other SQL, params or columns)",
    "pk": "the primary key is a relation or composite, or its exact lookup is custom",
    "prefetch": "prefetch_related() or known related objects",
    "queryset": "the queryset is not the model's plain one (it filters, joins, annotates, "
    "defers, locks, slices or combines)",
    "overridden": "a method get() runs (of QuerySet, ModelIterable or the SQL compiler) is "
    "overridden by a subclass or patched (a caching or profiling tool, say)",
    "value": "the value is not a str, int or UUID, or prepares to None",
}

_VALUE_TYPES = frozenset({str, int, uuid.UUID})
_P = TypeVar("_P", "_Plan", "_Refused")
_MAX_KEYS = 1024


class _Refused(str):
    """A cache entry for a queryset that stays on Django's path (the reason's key)."""


class _Plan:
    """A kept statement and what turns its row into the instance ``get()`` returns."""

    __slots__ = ("compiler_class", "converters", "init_list", "load", "range", "sql")

    def __init__(
        self,
        sql: str,
        init_list: list[str],
        converters: list[tuple[int, list[Callable[..., Any]], Any]],
        load: Callable[..., Any],
        int_range: tuple[int | None, int | None] | None,
        compiler_class: type[Any],
    ) -> None:
        self.compiler_class = compiler_class
        self.sql = sql
        self.init_list = init_list
        self.converters = converters
        self.load = load
        self.range = int_range


# Per connection object (its converters are bound to it), then per queryset object.
_plans: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[QuerySet[Any], _Plan | _Refused]]
_plans = weakref.WeakKeyDictionary()


def reset(**kwargs: Any) -> None:
    """Forget every kept statement (on ``setting_changed``, and in tests).

    A Django setting can change what a statement's columns are converted with
    (``USE_TZ`` on MySQL, say), so a change of any setting but this package's own
    ``ETAG_LOCK_*`` ones forgets them; they are compiled again on the next fetch.
    """
    if not str(kwargs.get("setting") or "").startswith("ETAG_LOCK_"):
        _plans.clear()


setting_changed.connect(reset, dispatch_uid="django_etag_lock.fastfetch.reset")


def log_fallback(model: type[Model], reason: str) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s fetch by primary key took Django's path: %s (%s)",
            model._meta.label,
            reason,
            FALLBACKS[reason],
            extra={"fallback": reason},
        )


def get(queryset: QuerySet[Any], value: Any, django_path: Callable[[], Any] | None = None) -> Any:
    """``queryset.get(pk=value)``, from the kept statement when the queryset is plain.

    ``queryset`` should be long-lived (a view's class attribute): statements are kept
    per queryset object and connection. ``django_path`` is what runs instead whenever the
    fast path does not apply (``queryset.get(pk=value)`` if not given): the caller's own
    way to the same row, such as DRF's ``queryset.all().get(...)``.
    """
    if django_path is None:
        django_path = functools.partial(queryset.get, pk=value)
    if not conf.COMPILED_FETCH:
        return django_path()
    model = queryset.model
    db = queryset.db
    connection = connections[db]
    plans = _plans.get(connection)
    if plans is None:
        plans = _plans[connection] = {}
    plan = plans.get(queryset)
    if plan is None:
        reason = _queryset_reason(queryset, connection)
        if reason is not None:
            plan = _remember(plans, queryset, _Refused(reason))
        elif type(value) in _VALUE_TYPES:
            plan = _compile(plans, queryset, connection, db, value)
            if plan is None:
                return django_path()  # an integer out of range, say: decide later
    if isinstance(plan, _Refused):
        log_fallback(model, str(plan))
        return django_path()
    if plan is None or type(value) not in _VALUE_TYPES:
        log_fallback(model, "value")
        return django_path()
    if not compat.stock_get_path(type(queryset), plan.compiler_class):
        # Patched since the statement was kept: that code runs from now on.
        log_fallback(model, "overridden")
        return django_path()

    pk = model._meta.pk
    assert pk is not None
    prepared = pk.get_prep_value(value)
    if prepared is None:
        log_fallback(model, "value")
        return django_path()
    bounds = plan.range
    if bounds is not None and isinstance(prepared, int):
        low, high = bounds
        if (low is not None and prepared < low) or (high is not None and prepared > high):
            # IntegerFieldExact: no row can match (EmptyResultSet), so no query runs.
            raise _does_not_exist(model)
    params = (pk.get_db_prep_value(prepared, connection, prepared=True),)
    rows = _fetch(connection, plan.sql, params)
    if len(rows) != 1:
        if not rows:
            raise _does_not_exist(model)
        raise _multiple_objects_returned(model, len(rows))
    row = rows[0]
    if plan.converters:
        row = list(row)
        for position, functions, expression in plan.converters:
            converted = row[position]
            for function in functions:
                converted = function(converted, expression, connection)
            row[position] = converted
    return plan.load(db, plan.init_list, row)


def _does_not_exist(model: type[Model]) -> Exception:
    error: Exception = model.DoesNotExist(  # type: ignore[attr-defined]
        f"{model._meta.object_name} matching query does not exist."
    )
    return error


def _multiple_objects_returned(model: type[Model], count: int) -> Exception:
    """``get()``'s error for more than one row (``count`` of at most ``MAX_GET_RESULTS``)."""
    shown = count if count < MAX_GET_RESULTS else f"more than {MAX_GET_RESULTS - 1}"
    error: Exception = model.MultipleObjectsReturned(  # type: ignore[attr-defined]
        f"get() returned more than one {model._meta.object_name} -- it returned {shown}!"
    )
    return error


def _fetch(connection: BaseDatabaseWrapper, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """The rows of the kept statement, read as ``SQLCompiler.execute_sql`` reads them."""
    if compat.cursor_unobserved(connection):
        return compat.fetch_on_driver_cursor(connection, sql, params)
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        rows = list(cursor.fetchall())
    except Exception as error:
        compat.close_after_error(connection, cursor, error)
        raise
    cursor.close()
    return rows


def _queryset_reason(queryset: QuerySet[Any], connection: BaseDatabaseWrapper) -> str | None:
    """Why ``queryset``'s ``get(pk=...)`` cannot be kept, from what Python can see."""
    model = queryset.model
    meta = model._meta
    pk = meta.pk
    if type(connection).__module__ not in BUILTIN_BACKENDS:
        return "backend"
    if (
        pk is None
        or pk.remote_field is not None
        or len(getattr(meta, "pk_fields", ())) > 1
        or pk.get_lookup("exact") not in (Exact, IntegerFieldExact)
    ):
        return "pk"
    if not compat.stock_get_path(type(queryset), connection.ops.compiler("SQLCompiler")):
        return "overridden"
    if queryset._iterable_class is not ModelIterable or queryset._fields is not None:  # type: ignore[attr-defined]
        return "iterable"
    if queryset._prefetch_related_lookups or queryset._known_related_objects:  # type: ignore[attr-defined]
        return "prefetch"
    query = queryset.query
    if (
        type(query) is not Query
        or query.combinator
        or query.select_for_update
        or queryset._sticky_filter  # type: ignore[attr-defined]
        or queryset._defer_next_filter  # type: ignore[attr-defined]
        or queryset._deferred_filter is not None  # type: ignore[attr-defined]
    ):
        return "queryset"
    if compat.row_loader(queryset) is None:
        return "fetch_mode"
    return None


def _get_query(queryset: QuerySet[Any], db: str, value: Any) -> Any:
    """The compiler of the query ``queryset.get(pk=value)`` runs, after ``as_sql()``."""
    clone = queryset.filter(pk=value).order_by()
    clone.query.set_limits(high=MAX_GET_RESULTS)
    compiler = clone.query.get_compiler(using=db)
    return compiler, *compiler.as_sql()


def _compile(
    plans: dict[QuerySet[Any], _Plan | _Refused],
    queryset: QuerySet[Any],
    connection: BaseDatabaseWrapper,
    db: str,
    value: Any,
) -> _Plan | _Refused | None:
    """Check ``queryset``'s statement against the bare queryset's; keep it or refuse it.

    ``None``: nothing to decide on with this value (Django compiles no statement for it).
    """
    from django.core.exceptions import EmptyResultSet

    model = queryset.model
    pk = model._meta.pk
    assert pk is not None
    # Raises as get() would for a value the field cannot take.
    prepared = pk.get_prep_value(value)
    try:
        compiler, sql, params = _get_query(queryset, db, value)
        _bare, bare_sql, bare_params = _get_query(QuerySet(model=model, using=db), db, value)
    except EmptyResultSet:
        return None
    reason = None
    if sql != bare_sql or list(params) != list(bare_params):
        reason = "queryset"
    elif prepared is None or list(params) != [
        pk.get_db_prep_value(prepared, connection, prepared=True)
    ]:
        reason = "mismatch"
    else:
        klass_info = compiler.klass_info or {}
        select_fields = klass_info.get("select_fields") or []
        if (
            compiler.annotation_col_map
            or klass_info.get("related_klass_infos")
            or list(select_fields) != list(range(compiler.col_count))
        ):
            reason = "mismatch"
    if reason is not None:
        return _remember(plans, queryset, _Refused(reason))
    load = compat.row_loader(queryset)
    assert load is not None  # FETCH_PEERS was refused by _queryset_reason()
    select = compiler.select[0 : compiler.col_count]
    expressions = [column[0] for column in select]
    converters = [
        (position, functions, expression)
        for position, (functions, expression) in compiler.get_converters(expressions).items()
    ]
    int_range = (
        connection.ops.integer_field_range(pk.get_internal_type())
        if pk.get_lookup("exact") is IntegerFieldExact
        else None
    )
    init_list = [expression.target.attname for expression in expressions]
    plan = _Plan(sql, init_list, converters, load, int_range, type(compiler))
    return _remember(plans, queryset, plan)


def _remember(
    plans: dict[QuerySet[Any], _Plan | _Refused], queryset: QuerySet[Any], plan: _P
) -> _P:
    if len(plans) >= _MAX_KEYS:
        plans.clear()
    plans[queryset] = plan
    return plan


def compiled_statement(queryset: QuerySet[Any]) -> str | None:
    """The statement kept for ``queryset.get(pk=...)`` on its database, if any."""
    plans = _plans.get(connections[queryset.db]) or {}
    plan = plans.get(queryset)
    return plan.sql if isinstance(plan, _Plan) else None
