"""Touch: writes of a child row bump its parent's version in the same transaction.

A child model declares the foreign keys whose targets it touches::

    class OrderLine(VersionedModel):
        order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
        etag_lock_touch = ("order",)

Then every write of an ``OrderLine`` row (create, save, delete, ``QuerySet.update()`` and
``delete()``, ``bulk_update()``, ``bulk_create()``, deletes cascading from elsewhere) runs
``UPDATE order SET version = version + 1 WHERE id IN (...)`` in the same transaction,
before the child's own statement, so an order's ETag changes whenever something it embeds
changes (Rails' ``belongs_to ..., touch: true``, JPA's ``OPTIMISTIC_FORCE_INCREMENT``).

Parents are touched before the child is written: every writer then takes row locks top
down (order, then line), the order of a nested write through the parent, so a line edit
and an order edit wait for each other instead of deadlocking. A parent that itself
touches its parents passes the touch up. A child moved to another parent touches both:
the old parent is found by a subquery on the child's row as the database has it.

This module is the only place that knows about touching; models.py and querysets.py call
it at a few hook points.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models
from django.db.models import F, Q, QuerySet
from django.db.models.signals import pre_delete
from django.utils import timezone

from django_etag_lock import compat

if TYPE_CHECKING:
    from django.db.models import Model

VERSION_FIELD = "version"
TOUCH_ATTRIBUTE = "etag_lock_touch"

__all__ = ["TOUCH_ATTRIBUTE", "touched_fields"]


def declared_touch(model: type[Model]) -> tuple[str, ...]:
    """The field names in ``model.etag_lock_touch``, as declared (not validated)."""
    names = getattr(model, TOUCH_ATTRIBUTE, ())
    if isinstance(names, str):
        return (names,)
    return tuple(names or ())


@cache
def touched_fields(model: type[Model]) -> tuple[models.ForeignKey[Any, Any], ...]:
    """The foreign keys of ``model`` whose target rows its writes touch.

    Names that are not a forward foreign key to a versioned model are left out here; the
    system check ``django_etag_lock.E012`` reports them.
    """
    result = []
    for name in declared_touch(model):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if not isinstance(field, models.ForeignKey):
            continue
        target = field.related_model
        if not isinstance(target, type) or not _is_versioned(target):
            continue
        result.append(field)
    return tuple(result)


def _is_versioned(model: type[Model]) -> bool:
    from django_etag_lock.models import VersionField

    try:
        return isinstance(model._meta.get_field(VERSION_FIELD), VersionField)
    except FieldDoesNotExist:
        return False


def touches(model: type[Model]) -> bool:
    """Whether writes of ``model`` touch any parent."""
    return bool(touched_fields(model))


def _bump_values(model: type[Model]) -> dict[str, Any]:
    values: dict[str, Any] = {VERSION_FIELD: F(VERSION_FIELD) + 1}
    now = None
    for field in model._meta.concrete_fields:
        # Like Rails' touch: an auto_now timestamp moves with the version, so
        # Last-Modified and the ETag of the parent agree.
        if isinstance(field, models.DateField) and getattr(field, "auto_now", False):
            now = now or timezone.now()
            values[field.attname] = now if isinstance(field, models.DateTimeField) else now.date()
    return values


def bump(model: type[Model], using: str, queryset: QuerySet[Any]) -> int:
    """Bump the version of the rows of ``queryset`` (a ``model`` queryset), ancestors first.

    One ``UPDATE`` per level; the rows' own parents are found by subquery, so no row is
    read into Python.
    """
    for field in touched_fields(model):
        parents = field.related_model._base_manager.using(using).filter(
            **{f"{_target(field)}__in": queryset.values(field.attname)}
        )
        bump(field.related_model, using, parents)
    return int(QuerySet.update(queryset, **_bump_values(model)))


# -- instance writes: precompiled SQL --------------------------------------------------
# A save or delete of one child touches with plain SQL built once per model and backend:
# building the same statement through filter() and Q would cost more than the child's
# own save (profiled: docs/children.md, "Cost"). Models with multi-table inheritance take
# the queryset path above instead.


def _simple(model: type[Model]) -> bool:
    return not model._meta.parents


def _column(field: Any) -> str:
    return str(field.column)


def _target(field: models.ForeignKey[Any, Any]) -> str:
    """The parent's field a foreign key points at (its pk, or ``to_field``)."""
    return str(field.target_field.attname)


@cache
def _update_sql(model: type[Model], using: str, where: str) -> tuple[str, tuple[str, ...]]:
    """``UPDATE <model> SET version = version + 1[, auto_now = %s] WHERE <where>``."""
    quote = connections[using].ops.quote_name
    version = quote(_column(model._meta.get_field(VERSION_FIELD)))
    sets = [f"{version} = {version} + 1"]
    stamped: list[str] = []
    for field in model._meta.concrete_fields:
        if isinstance(field, models.DateField) and getattr(field, "auto_now", False):
            sets.append(f"{quote(_column(field))} = %s")
            stamped.append(field.attname)
    return f"UPDATE {quote(model._meta.db_table)} SET {', '.join(sets)} WHERE {where}", tuple(
        stamped
    )


def _bump_sql(model: type[Model], using: str, where: str, params: list[Any]) -> None:
    """Bump the rows of ``model`` matching ``where`` (on its own columns), ancestors first."""
    connection = connections[using]
    quote = connection.ops.quote_name
    for field in touched_fields(model):
        parent = field.related_model
        if not _simple(parent):
            rows = model._base_manager.using(using).extra(where=[where], params=params)
            bump(
                parent,
                using,
                parent._base_manager.using(using).filter(
                    **{f"{_target(field)}__in": rows.values(field.attname)}
                ),
            )
            continue
        sub = (
            f"{quote(_column(field.target_field))} IN (SELECT {quote(_column(field))} FROM "
            f"{quote(model._meta.db_table)} WHERE {where})"
        )
        _bump_sql(parent, using, sub, params)
    sql, stamped = _update_sql(model, using, where)
    stamp_params: list[Any] = []
    if stamped:
        now = timezone.now()
        for attname in stamped:
            stamp = model._meta.get_field(attname)
            value = now if isinstance(stamp, models.DateTimeField) else now.date()
            stamp_params.append(
                cast("models.Field[Any, Any]", stamp).get_db_prep_save(value, connection)
            )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*stamp_params, *params])


def _touch_rows_sql(
    model: type[Model], instance_pk: Any, using: str, moved_to: Sequence[Any]
) -> None:
    """Touch, per touched field, the parent the stored row has and ``moved_to[i]``."""
    connection = connections[using]
    quote = connection.ops.quote_name
    pk_field = model._meta.pk
    pk_value = (
        pk_field.get_db_prep_value(instance_pk, connection) if instance_pk is not None else None
    )
    for field, target in zip(touched_fields(model), moved_to, strict=True):
        parent = field.related_model
        parent_pk = quote(_column(field.target_field))
        conditions: list[str] = []
        params: list[Any] = []
        if target is not None:
            conditions.append(f"{parent_pk} = %s")
            params.append(field.target_field.get_db_prep_value(target, connection))
        if pk_value is not None:
            conditions.append(
                f"{parent_pk} IN (SELECT {quote(_column(field))} FROM "
                f"{quote(model._meta.db_table)} WHERE {quote(_column(pk_field))} = %s)"
            )
            params.append(pk_value)
        if conditions:
            _bump_sql(parent, using, " OR ".join(conditions), params)


def _parents_query(
    field: models.ForeignKey[Any, Any],
    using: str,
    *,
    pks: Iterable[Any] = (),
    rows: QuerySet[Any] | None = None,
) -> QuerySet[Any] | None:
    """The parents with pk in ``pks`` or referenced by the child ``rows`` (as stored)."""
    parent_model = field.related_model
    condition = Q()
    pk_list = sorted({pk for pk in pks if pk is not None}, key=repr)
    if pk_list:
        condition |= Q(**{f"{_target(field)}__in": pk_list})
    if rows is not None:
        condition |= Q(**{f"{_target(field)}__in": rows.values(field.attname)})
    if not condition:
        return None
    return parent_model._base_manager.using(using).filter(condition)


def _touch(field: models.ForeignKey[Any, Any], using: str, query: QuerySet[Any] | None) -> int:
    if query is None:
        return 0
    return bump(field.related_model, using, query)


def touch_for_save(instance: Model, using: str, update_fields: Iterable[str] | None) -> list[Any]:
    """Touch the parents of ``instance`` before it is saved; the new parents' pks.

    An existing row touches the parent it has in the database (found by subquery) and,
    when the foreign key is written, the one it is moved to.
    """
    model = type(instance)
    adding = instance._state.adding
    written = None if update_fields is None else set(update_fields)
    new_parents: list[Any] = []
    for field in touched_fields(model):
        writes_fk = written is None or field.name in written or field.attname in written
        loaded = field.attname in instance.__dict__
        new_parents.append(getattr(instance, field.attname) if writes_fk and loaded else None)
    stored_pk = None if adding else instance.pk
    if _simple(model) and all(_simple(f.related_model) for f in touched_fields(model)):
        _touch_rows_sql(model, stored_pk, using, new_parents)
        return new_parents
    for field, target in zip(touched_fields(model), new_parents, strict=True):
        rows = None
        if stored_pk is not None:
            rows = model._base_manager.using(using).filter(pk=stored_pk)
        pks = [target] if target is not None else []
        _touch(field, using, _parents_query(field, using, pks=pks, rows=rows))
    return new_parents


def bump_cached_parents(instance: Model, new_parents: Sequence[Any] | None = None) -> None:
    """After a successful write, advance the in-memory version of cached parents.

    The parent instance a child holds (``line.order``, often the very instance a view or
    serializer is about to answer with) was bumped in the database; bumping it in memory
    keeps the difference between the two unchanged, so a fresh parent stays fresh and a
    stale one stays stale.
    """
    fields = touched_fields(type(instance))
    for index, field in enumerate(fields):
        parent = compat.cached_related(instance, field)
        if parent is None or VERSION_FIELD not in parent.__dict__:
            continue
        moved_to = new_parents[index] if new_parents is not None else None
        if moved_to is not None and moved_to != getattr(parent, field.target_field.attname):
            continue
        setattr(parent, VERSION_FIELD, getattr(parent, VERSION_FIELD) + 1)
        bump_cached_parents(parent)


def touch_for_queryset(
    queryset: QuerySet[Any], using: str, values: dict[str, Any]
) -> QuerySet[Any] | None:
    """Touch the parents of the rows ``queryset.update(**values)`` is about to write.

    Returns a queryset to touch after the update (the rows' new parents, when the update
    moves them by an expression), or ``None``.
    """
    model: type[Model] = queryset.model
    after: QuerySet[Any] | None = None
    pinned: QuerySet[Any] | None = None
    for field in touched_fields(model):
        pks: list[Any] = []
        moved_by_expression = False
        for key in (field.name, field.attname):
            if key in values:
                value = values[key]
                if hasattr(value, "resolve_expression"):
                    moved_by_expression = True
                else:
                    pks.append(getattr(value, "pk", value))
        _touch(field, using, _parents_query(field, using, pks=pks, rows=queryset))
        if moved_by_expression:
            if pinned is None:
                # The filter may stop matching once the rows move: pin them by pk.
                pk_list = list(queryset.values_list("pk", flat=True))
                pinned = model._base_manager.using(using).filter(pk__in=pk_list)
            after = pinned
    return after


def touch_after_update(model: type[Model], using: str, rows: QuerySet[Any] | None) -> None:
    if rows is None:
        return
    for field in touched_fields(model):
        _touch(field, using, _parents_query(field, using, rows=rows))


def touch_for_objects(
    model: type[Model],
    objs: Sequence[Model],
    using: str,
    fields: Iterable[str] | None,
    *,
    stored: bool,
) -> None:
    """Touch the parents of ``objs`` before a bulk write of ``fields`` (all when ``None``).

    ``stored`` objects exist in the database: their stored parents are touched too.
    """
    written = None if fields is None else set(fields)
    pk_list = [obj.pk for obj in objs if obj.pk is not None] if stored else []
    rows = model._base_manager.using(using).filter(pk__in=pk_list) if pk_list else None
    for field in touched_fields(model):
        writes_fk = written is None or field.name in written or field.attname in written
        pks = [getattr(obj, field.attname) for obj in objs] if writes_fk else []
        _touch(field, using, _parents_query(field, using, pks=pks, rows=rows))


_suppressed: ContextVar[bool] = ContextVar("django_etag_lock_touch_suppressed", default=False)


@contextmanager
def suppressed() -> Iterator[None]:
    """Within the block, ``QuerySet.update()`` leaves touching to the caller.

    ``bulk_update()`` touches the parents of all its objects itself, before it locks the
    rows, and then writes them through ``update()``.
    """
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def touches_on_update(model: type[Model]) -> bool:
    """Whether ``QuerySet.update()`` on ``model`` must touch parents here."""
    return touches(model) and not _suppressed.get()


# -- deletes ---------------------------------------------------------------------------

_already_touched: ContextVar[frozenset[tuple[type[Model], Any]]] = ContextVar(
    "django_etag_lock_touched", default=frozenset()
)


@contextmanager
def touched(instance: Model) -> Iterator[None]:
    """Within the block, the delete receiver leaves ``instance`` alone (touched already)."""
    token = _already_touched.set(_already_touched.get() | {(type(instance), instance.pk)})
    try:
        yield
    finally:
        _already_touched.reset(token)


def touch_for_delete(instance: Model, using: str) -> None:
    """Touch the parents ``instance`` has in the database, before it is deleted."""
    model = type(instance)
    fields = touched_fields(model)
    if _simple(model) and all(_simple(f.related_model) for f in fields):
        _touch_rows_sql(model, instance.pk, using, [None] * len(fields))
        return
    rows = model._base_manager.using(using).filter(pk=instance.pk)
    for field in fields:
        _touch(field, using, _parents_query(field, using, rows=rows))


def _on_delete(
    sender: type[Model], instance: Model, using: str, origin: Any = None, **_: Any
) -> None:
    if (sender, instance.pk) in _already_touched.get():
        return
    fields = touched_fields(sender)
    for field in fields:
        parent_pk = getattr(instance, field.attname, None)
        if parent_pk is None:
            continue
        if (
            isinstance(origin, models.Model)
            and isinstance(origin, field.related_model)
            and getattr(origin, field.target_field.attname) == parent_pk
        ):
            # The parent itself is being deleted (its cascade reached this child).
            continue
        parent = field.related_model
        if _simple(parent):
            _touch_rows_sql(
                sender, None, using, [parent_pk if f is field else None for f in fields]
            )
        else:
            bump(
                parent,
                using,
                parent._base_manager.using(using).filter(**{_target(field): parent_pk}),
            )
    bump_cached_parents(instance)


def connect_delete_receivers(all_models: Iterable[type[Model]]) -> None:
    """Connect the delete receiver for every model that touches a parent.

    Called from ``AppConfig.ready()``. A receiver makes Django's collector load the rows
    of deletes (``QuerySet.delete()``, cascades) and send ``pre_delete`` for each, which is
    where their parents are touched.
    """
    for model in all_models:
        if touches(model):
            pre_delete.connect(
                _on_delete, sender=model, dispatch_uid=f"django_etag_lock.touch.{model._meta.label}"
            )
