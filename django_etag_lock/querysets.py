"""The compare-and-set primitives every write of a versioned row goes through.

This module is the one place that talks to the ORM for the guarantee. The private
Django API it needs (a single ``DELETE ... WHERE pk AND version``, the fast-delete test,
the write database of a queryset) goes through ``django_etag_lock.compat``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import DatabaseError, connections, models, transaction
from django.db.models import F, QuerySet

from django_etag_lock import compat, touch
from django_etag_lock.exceptions import (
    ObjectDeletedError,
    StaleObjectError,
    StaleObjectsError,
    VersionFieldError,
)
from django_etag_lock.signals import report_stale

if TYPE_CHECKING:
    from django.db.models import Model

VERSION_FIELD = "version"

# Importable from here as before; the private API it wraps is fenced in compat.
raw_delete = compat.raw_delete

logger = logging.getLogger("django_etag_lock")

_M = TypeVar("_M", bound="Model")

_unchecked_reason: ContextVar[str | None] = ContextVar("django_etag_lock_unchecked", default=None)


@contextmanager
def unchecked(reason: str) -> Iterator[None]:
    """Let trusted internal code write versioned rows without the version check.

    Writes inside the block still bump the version in SQL (``version = version + 1``),
    so every outstanding ETag is invalidated, and each one is logged on the
    ``django_etag_lock`` logger with ``reason``. The flag lives in a ``ContextVar``:
    it is per thread and per asyncio task, never global.
    """
    if not reason or not str(reason).strip():
        raise ValueError("unchecked() needs a reason, for the log: unchecked('nightly import').")
    token = _unchecked_reason.set(str(reason))
    try:
        yield
    finally:
        _unchecked_reason.reset(token)


def unchecked_reason() -> str | None:
    """The reason given to the innermost active :func:`unchecked` block, if any."""
    return _unchecked_reason.get()


def log_unchecked_write(model: type[Model], action: str, detail: Any) -> None:
    logger.info(
        "Unchecked %s of %s %s (reason: %s)",
        action,
        model._meta.label,
        detail,
        _unchecked_reason.get(),
    )


def version_holder(model: type[Model]) -> type[Model]:
    """The concrete model whose table holds the version column.

    With multi-table inheritance the column may live on a parent table; the
    compare-and-set must be decided on that table, in one statement.
    """
    field = model._meta.get_field(VERSION_FIELD)
    holder = field.model
    assert holder is not None
    return holder._meta.concrete_model or holder


def stale_error(
    model: type[Model],
    using: str,
    pk: Any,
    expected: int | None,
    queryset: QuerySet[Any] | None = None,
    *,
    report: bool = True,
) -> StaleObjectError:
    """Build the error for a compare-and-set that matched no row, looking once.

    Called only after the write matched nothing. Inside a transaction the look is a
    locking read, so on MySQL/MariaDB (REPEATABLE READ) it sees the latest committed
    version rather than the transaction's snapshot.
    """
    base = queryset if queryset is not None else model._base_manager.using(using)
    qs = base.filter(pk=pk)
    connection = connections[using]
    if connection.in_atomic_block and connection.features.has_select_for_update:
        qs = qs.select_for_update()
    try:
        current = next(iter(qs.values_list(VERSION_FIELD, flat=True)[:1]), None)
    except DatabaseError as error:
        # At REPEATABLE READ/SERIALIZABLE the locking read of a row changed after the
        # transaction's snapshot is refused like the write was.
        aborted = concurrency_refusal(error, using)
        if aborted is None:
            raise
        if aborted and connection.in_atomic_block:
            compat.set_needs_rollback(connection)
        found: StaleObjectError = StaleObjectError(model, pk, expected, None, aborted)
        found.__cause__ = error
    else:
        if current is None:
            found = ObjectDeletedError(model, pk, expected)
        else:
            found = StaleObjectError(model, pk, expected, current)
    return report_stale(found) if report else found


# Refusals of a statement for a concurrent update, by vendor: PostgreSQL's
# serialization_failure and deadlock_detected (both end the transaction), MySQL/MariaDB's
# ER_LOCK_DEADLOCK (rolls the transaction back) and ER_LOCK_WAIT_TIMEOUT (the statement).
_PG_REFUSALS = frozenset({"40001", "40P01"})
_MYSQL_DEADLOCK = 1213
_MYSQL_LOCK_WAIT_TIMEOUT = 1205


def concurrency_refusal(error: BaseException, using: str) -> bool | None:
    """Whether ``error`` is the database refusing a statement for a concurrent update.

    ``None`` when it is not; otherwise whether the refusal aborted the transaction.
    """
    vendor = connections[using].vendor
    if vendor == "postgresql":
        cause = error.__cause__
        code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        return True if code in _PG_REFUSALS else None
    if vendor == "mysql":
        code = error.args[0] if error.args else None
        if code == _MYSQL_DEADLOCK:
            return True
        if code == _MYSQL_LOCK_WAIT_TIMEOUT:
            return False
    return None


@contextmanager
def cas_statement(model: type[Model], using: str, pk: Any, expected: int | None) -> Iterator[None]:
    """Run one compare-and-set statement; a refusal for a concurrent update is stale.

    At ``REPEATABLE READ``/``SERIALIZABLE`` (and on MySQL/MariaDB under lock
    contention) the database may refuse the statement itself instead of letting it
    match no row: the writer lost the race all the same, so it raises
    :class:`StaleObjectError`. Outside a transaction the row's current version is
    looked up; inside one it is unknown (``current_version=None``), and when the
    refusal ended the transaction it is marked for rollback (Django's ``atomic``
    would otherwise carry on in a transaction the server already rolled back).
    """
    try:
        yield
    except DatabaseError as error:
        raise_if_refused(error, model, using, pk, expected)
        raise


def raise_if_refused(
    error: DatabaseError, model: type[Model], using: str, pk: Any, expected: int | None
) -> None:
    """Raise :class:`StaleObjectError` if ``error`` refused a compare-and-set for a
    concurrent update (see :func:`cas_statement`); return otherwise.

    The plain function behind ``cas_statement``, for the hot path of ``save()``, where
    a ``try``/``except`` costs nothing until something is raised.
    """
    aborted = concurrency_refusal(error, using)
    if aborted is None:
        return
    connection = connections[using]
    if not connection.in_atomic_block:
        # The statement was its own transaction, so the connection is usable. A
        # row still at ``expected`` means the competitor has not committed yet (a
        # deadlock or lock wait): the version it will have is unknown.
        found = stale_error(model, using, pk, expected, report=False)
        if found.current_version == expected:
            found = StaleObjectError(model, pk, expected, None)
        raise report_stale(found) from error
    if aborted:
        compat.set_needs_rollback(connection)
    raise report_stale(StaleObjectError(model, pk, expected, None, aborted)) from error


def after_savepoint(error: StaleObjectError, using: str) -> StaleObjectError:
    """``error`` restated once the ``atomic`` block it was raised in has been left.

    A refusal raised inside our own block: leaving it rolled the block back, so the
    current version can be looked up when no transaction is left, and the caller's
    transaction is aborted only if Django could not roll back to the savepoint.
    """
    if error.current_version is not None or isinstance(error, ObjectDeletedError):
        return error
    if not isinstance(error.__cause__, DatabaseError):
        return error
    connection = connections[using]
    if not connection.in_atomic_block:
        restated = stale_error(error.model, using, error.pk, error.expected_version, report=False)
    else:
        restated = StaleObjectError(
            error.model, error.pk, error.expected_version, None, compat.needs_rollback(connection)
        )
    restated.__cause__ = error.__cause__
    return restated


def lock_version(model: type[Model], using: str, pk: Any, expected: int) -> None:
    """Claim the row at ``expected`` by bumping its version, in one statement.

    Used before writes that span several statements (cascading deletes, multi-table
    inheritance): the row stays locked by this transaction until it ends, and the
    bump invalidates every outstanding tag even if the caller's later steps fail.
    """
    holder = version_holder(model)
    with cas_statement(model, using, pk, expected):
        claimed = QuerySet.update(
            holder._base_manager.using(using).filter(pk=pk, **{VERSION_FIELD: expected}),
            **{VERSION_FIELD: expected + 1},
        )
    if not claimed:
        raise stale_error(model, using, pk, expected)


class VersionedQuerySet(QuerySet[_M]):
    """QuerySet whose bulk writes never leave a version untouched."""

    def update(self, **kwargs: Any) -> int:
        """Like ``QuerySet.update()``, and bumps ``version`` of every matched row in SQL.

        No check is made (use :meth:`update_if_version` for that), but every
        outstanding ETag of the matched rows stops matching.
        """
        if VERSION_FIELD in kwargs:
            raise VersionFieldError(
                f"{self.model._meta.label}.objects.update() bumps 'version' itself; "
                "do not pass version=. Use update_if_version(pk, version, ...) for a "
                "compare-and-set, or the unchecked() context for trusted jobs."
            )
        kwargs[VERSION_FIELD] = F(VERSION_FIELD) + 1
        if not touch.touches_on_update(self.model):
            return super().update(**kwargs)
        using = self._write_db()
        with transaction.atomic(using=using):
            after = touch.touch_for_queryset(self, using, kwargs)
            updated = super().update(**kwargs)
            touch.touch_after_update(self.model, using, after)
        return updated

    update.alters_data = True  # type: ignore[attr-defined]

    def update_if_version(self, pk: Any, version: int, /, **values: Any) -> int:
        """Compare-and-set: update row ``pk`` only if it is at ``version``.

        One ``UPDATE ... SET ..., version = version + 1 WHERE pk = %s AND version = %s``.
        Returns the new version; raises :class:`StaleObjectError` (or
        :class:`ObjectDeletedError`) when the row is elsewhere, having written nothing.
        """
        if VERSION_FIELD in values:
            raise VersionFieldError(
                f"update_if_version() on {self.model._meta.label} sets 'version' itself; "
                "pass the expected version as the second argument, not version=."
            )
        version = int(version)
        using = self._write_db()
        if self.model._meta.parents:
            # Several tables: decide on the table holding the version first, then
            # write the rest while the row is held (rolled back if anything fails; a
            # savepoint inside a caller's transaction keeps theirs usable).
            try:
                with transaction.atomic(using=using):
                    lock_version(self.model, using, pk, version)
                    in_scope = (
                        QuerySet.update(self.using(using).filter(pk=pk), **values)
                        if values
                        else (self.using(using).filter(pk=pk).exists())
                    )
                    if not in_scope:
                        raise report_stale(ObjectDeletedError(self.model, pk, version))
            except StaleObjectError as error:
                raise after_savepoint(error, using) from error.__cause__
            return version + 1
        with cas_statement(self.model, using, pk, version):
            written = QuerySet.update(
                self.using(using).filter(pk=pk, **{VERSION_FIELD: version}),
                **values,
                **{VERSION_FIELD: version + 1},
            )
        if not written:
            raise stale_error(self.model, using, pk, version, queryset=self.using(using))
        return version + 1

    update_if_version.alters_data = True  # type: ignore[attr-defined]

    def delete_if_version(self, pk: Any, version: int, /) -> tuple[int, dict[str, int]]:
        """Compare-and-set delete: delete row ``pk`` only if it is at ``version``.

        Without cascades or delete signals this is one
        ``DELETE ... WHERE pk = %s AND version = %s``; otherwise the row is claimed by
        its version first and then deleted by Django's collector in one transaction.
        Returns what ``QuerySet.delete()`` returns; raises :class:`StaleObjectError`.
        """
        version = int(version)
        using = self._write_db()
        scoped = self.using(using)
        target = scoped.filter(pk=pk, **{VERSION_FIELD: version})
        # Only when Django itself would delete with one statement (no cascades,
        # parents or delete signal listeners).
        if compat.can_fast_delete(target, using):
            with cas_statement(self.model, using, pk, version):
                deleted = compat.raw_delete(target, using)
            if not deleted:
                raise stale_error(self.model, using, pk, version, queryset=scoped)
            return deleted, {self.model._meta.label: deleted}
        obj = scoped.filter(pk=pk).first()
        if obj is None:
            raise report_stale(ObjectDeletedError(self.model, pk, version))
        if getattr(obj, VERSION_FIELD) != version:
            error = StaleObjectError(self.model, pk, version, getattr(obj, VERSION_FIELD))
            raise report_stale(error)
        result: tuple[int, dict[str, int]] = obj.delete(using=using)
        return result

    delete_if_version.alters_data = True  # type: ignore[attr-defined]

    def bulk_update(
        self,
        objs: Iterable[_M],
        fields: Iterable[str],
        batch_size: int | None = None,
        *,
        all_or_nothing: bool = False,
    ) -> int:
        """``bulk_update()`` checked per row, bumping each written row's version.

        The rows are read with ``SELECT ... FOR UPDATE`` in the same transaction, so
        the versions compared are the versions written over. Fresh objects are
        written and their in-memory ``version`` advanced; stale ones are left
        untouched in the database and in memory, and reported by raising
        :class:`StaleObjectsError` once the fresh rows are written. With
        ``all_or_nothing=True`` a single stale object means nothing is written.
        Returns the number of rows written.
        """
        objs = tuple(objs)
        # 'version' among the fields is what bulk importers (django-import-export)
        # pass: it is compared and bumped either way, never written as given.
        field_names = [name for name in fields if name != VERSION_FIELD]
        if not field_names:
            raise VersionFieldError(
                f"bulk_update() on {self.model._meta.label} got only 'version' among "
                "fields: name the fields to write; the version is compared and bumped "
                "by itself."
            )
        if touch.touches(self.model) and objs:
            # Parents first, then the rows (locks top down); one transaction for both.
            using = self._write_db()
            with transaction.atomic(using=using):
                touch.touch_for_objects(self.model, objs, using, field_names, stored=True)
                with touch.suppressed():
                    try:
                        return self._bulk_update(objs, field_names, batch_size, all_or_nothing)
                    except StaleObjectsError as error:
                        if not error.updated:
                            raise
                        partial = error
            # Some rows were fresh and written: keep them and their parents' touches.
            raise partial
        return self._bulk_update(objs, field_names, batch_size, all_or_nothing)

    bulk_update.alters_data = True  # type: ignore[attr-defined]

    def _bulk_update(
        self,
        objs: tuple[_M, ...],
        field_names: list[str],
        batch_size: int | None,
        all_or_nothing: bool,
    ) -> int:
        if unchecked_reason() is not None:
            updated = super().bulk_update(objs, field_names, batch_size=batch_size)
            for obj in objs:
                # The new version was computed in SQL; loaded on next access, it is
                # later than the data (see mark_version_late).
                forget_version(obj)
            log_unchecked_write(self.model, "bulk_update", f"of {updated} row(s)")
            return int(updated)
        if not objs:
            return int(super().bulk_update(objs, field_names, batch_size=batch_size))
        if _is_set_order(self.model, objs, field_names):
            # Django's set_<model>_order() builds bare instances (pk and _order, no
            # version read): a reordering, bumped but not compared.
            return int(super().bulk_update(objs, field_names, batch_size=batch_size))
        for obj in objs:
            check_version_loaded(obj, "bulk_update()")
        pks = [obj.pk for obj in objs]
        if len(set(pks)) != len(pks):
            raise ValueError(
                f"bulk_update() on {self.model._meta.label} got the same pk twice; a "
                "versioned row can be written once per call."
            )
        using = self._write_db()
        scoped = self.using(using)
        try:
            fresh, stale, updated = self._checked_bulk_update(
                objs, field_names, batch_size, all_or_nothing, scoped, pks, using
            )
        except DatabaseError as error:
            if concurrency_refusal(error, using) is None:
                raise
            # The locking read or an UPDATE was refused for a concurrent update: the
            # block was rolled back, nothing was written.
            connection = connections[using]
            aborted = connection.in_atomic_block and compat.needs_rollback(connection)
            refused = [
                (
                    obj,
                    StaleObjectError(type(obj), obj.pk, getattr(obj, VERSION_FIELD), None, aborted),
                )
                for obj in objs
            ]
            raise StaleObjectsError(refused, 0) from error
        for obj in fresh:
            setattr(obj, VERSION_FIELD, getattr(obj, VERSION_FIELD) + 1)
        if stale:
            raise StaleObjectsError(stale, updated)
        return updated

    def _checked_bulk_update(
        self,
        objs: tuple[_M, ...],
        field_names: list[str],
        batch_size: int | None,
        all_or_nothing: bool,
        scoped: QuerySet[_M],
        pks: list[Any],
        using: str,
    ) -> tuple[list[_M], list[tuple[_M, StaleObjectError]], int]:
        with transaction.atomic(using=using):
            current = _locked_versions(scoped, pks, using)
            fresh: list[_M] = []
            stale: list[tuple[_M, StaleObjectError]] = []
            for obj in objs:
                expected = getattr(obj, VERSION_FIELD)
                now = current.get(obj.pk)
                if now == expected:
                    fresh.append(obj)
                elif now is None:
                    error: StaleObjectError = ObjectDeletedError(type(obj), obj.pk, expected)
                    stale.append((obj, report_stale(error)))
                else:
                    error = StaleObjectError(type(obj), obj.pk, expected, now)
                    stale.append((obj, report_stale(error)))
            if stale and all_or_nothing:
                raise StaleObjectsError(stale, 0)
            updated = 0
            if fresh:
                # The rows are held by this transaction since the locking read above,
                # so a plain UPDATE by pk writes over exactly the versions compared;
                # our update() adds version = version + 1.
                updated = int(super().bulk_update(fresh, field_names, batch_size=batch_size))
                if updated != len(fresh):
                    raise StaleObjectsError(stale, 0)
        return fresh, stale, updated

    async def abulk_update(
        self,
        objs: Iterable[_M],
        fields: Iterable[str],
        batch_size: int | None = None,
        *,
        all_or_nothing: bool = False,
    ) -> int:
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.bulk_update)(
            objs, fields, batch_size, all_or_nothing=all_or_nothing
        )

    abulk_update.alters_data = True  # type: ignore[attr-defined]

    def bulk_create(
        self,
        objs: Iterable[_M],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Collection[str] | None = None,
        unique_fields: Collection[str] | None = None,
    ) -> list[_M]:
        """Like ``bulk_create()``; an upsert also bumps the version of every row it updates.

        A model that touches its parents (``etag_lock_touch``) touches theirs first.

        With ``update_conflicts=True`` the conflict clause sets
        ``version = <table>.version + 1`` in the same statement, so every ETag and
        instance read before the upsert is stale. ``version`` in ``update_fields`` is
        refused. The objects' in-memory ``version`` is then unknown (inserted or
        bumped): it is dropped, and the instances must be read again before a checked
        write.
        """
        if update_conflicts and update_fields and VERSION_FIELD in update_fields:
            raise VersionFieldError(
                f"bulk_create(update_conflicts=True) on {self.model._meta.label} bumps "
                "'version' of every row it updates; leave it out of update_fields."
            )
        options: dict[str, Any] = {
            "batch_size": batch_size,
            "ignore_conflicts": ignore_conflicts,
            "update_conflicts": update_conflicts,
            "update_fields": update_fields,
            "unique_fields": unique_fields,
        }
        if touch.touches(self.model):
            # A child that touches its parents touches them first (locks top down), in
            # one transaction with the insert.
            objs = list(objs)
            using = self._write_db()
            with transaction.atomic(using=using):
                touch.touch_for_objects(self.model, objs, using, None, stored=False)
                created = super().bulk_create(objs, **options)
        else:
            created = super().bulk_create(objs, **options)
        if update_conflicts:
            for obj in created:
                forget_version(obj)
        return created

    bulk_create.alters_data = True  # type: ignore[attr-defined]

    # Private Django API, pinned in compat.QUERYSET_INSERT.
    def _insert(
        self,
        objs: Any,
        fields: Any,
        returning_fields: Any = None,
        raw: bool = False,
        using: str | None = None,
        on_conflict: Any = None,
        update_fields: Any = None,
        unique_fields: Any = None,
        **kwargs: Any,
    ) -> Any:
        if not update_fields or on_conflict is None or on_conflict.name != "UPDATE":
            return super()._insert(  # type: ignore[misc]
                objs,
                fields,
                returning_fields=returning_fields,
                raw=raw,
                using=using,
                on_conflict=on_conflict,
                update_fields=update_fields,
                unique_fields=unique_fields,
                **kwargs,
            )
        return compat.insert_with_conflict_suffix(
            self.model,
            using or compat.write_db(self),
            objs,
            fields,
            returning_fields,
            raw,
            on_conflict,
            update_fields,
            unique_fields,
            _bump_after_conflict_clause(self.model),
        )

    _insert.alters_data = True  # type: ignore[attr-defined]
    _insert.queryset_only = False  # type: ignore[attr-defined]

    def _write_db(self) -> str:
        return compat.write_db(self)


class VersionedManager(models.Manager.from_queryset(VersionedQuerySet)):  # type: ignore[misc]
    """The default manager of :class:`~django_etag_lock.models.VersionedModel`."""

    def using(self, alias: str | None) -> QuerySet[Any]:
        # What Manager.using() returns, without building a queryset only to clone it:
        # Django's save calls this on the base manager every time (docs/performance.md).
        queryset = compat.manager_queryset_using(self, alias)
        return super().using(alias) if queryset is None else queryset


_LOCK_CHUNK = 2000


def _locked_versions(scoped: QuerySet[Any], pks: Collection[Any], using: str) -> dict[Any, int]:
    """Read ``{pk: version}`` for ``pks``, locking the rows until the transaction ends."""
    connection = connections[using]
    pk_list = list(pks)
    versions: dict[Any, int] = {}
    for start in range(0, len(pk_list), _LOCK_CHUNK):
        qs = scoped.filter(pk__in=pk_list[start : start + _LOCK_CHUNK]).order_by("pk")
        if connection.features.has_select_for_update:
            qs = qs.select_for_update()
        versions.update(qs.values_list("pk", VERSION_FIELD))
    return versions


def _deferred_error(model: type[Model], action: str) -> VersionFieldError:
    return VersionFieldError(
        f"Cannot {action} {model._meta.label} with its 'version' field deferred: the "
        "write could not be checked. Load 'version' together with the data (drop it "
        "from .only()/.defer()), or call refresh_from_db() to reload every loaded field "
        "and the version at once and apply the change again. Loading the version alone "
        "afterwards (refresh_from_db(fields=['version']) or reading the attribute) does "
        "not help: a version read after the data vouches for nothing."
    )


# Set in an instance's __dict__ when its 'version' was (or will be) loaded later than
# other fields it holds; only a refresh of every loaded field at once clears it.
LATE_VERSION = "_etag_lock_version_late"


def mark_version_late(instance: Model) -> None:
    instance.__dict__[LATE_VERSION] = True


def forget_version(instance: Model) -> None:
    """Drop an instance's version whose new value the database computed."""
    instance.__dict__.pop(VERSION_FIELD, None)
    mark_version_late(instance)


def check_version_loaded(instance: Model, action: str) -> None:
    """Raise ``VersionFieldError`` unless the instance's version vouches for its data."""
    if VERSION_FIELD not in instance.__dict__:
        raise _deferred_error(type(instance), action)
    if instance.__dict__.get(LATE_VERSION):
        label = type(instance)._meta.label
        raise VersionFieldError(
            f"Cannot {action} {label} pk={instance.pk!r}: its 'version' was loaded "
            "after its other fields (refresh_from_db(fields=[...]) or a deferred load), "
            "so it vouches for nothing they hold and the write could not be checked. "
            "Call refresh_from_db() to reload every field at once and apply the change "
            "again, or load the row with its version (drop 'version' from "
            ".only()/.defer())."
        )


def _is_set_order(model: type[Model], objs: Iterable[Model], field_names: list[str]) -> bool:
    return (
        model._meta.order_with_respect_to is not None
        and field_names == ["_order"]
        and all(obj._state.adding and obj.__dict__.get(VERSION_FIELD) == 1 for obj in objs)
    )


def _bump_after_conflict_clause(model: type[Model]) -> Any:
    """The ``extend`` of :func:`compat.insert_with_conflict_suffix`: bump the version."""

    def extend(suffix: str | None, connection: Any) -> str:
        if suffix is None:
            raise VersionFieldError(
                f"bulk_create(update_conflicts=True) on {model._meta.label}: the "
                f"{connection.vendor} backend's conflict clause could not be made to "
                "bump 'version', so the upsert was refused. Write the rows with "
                "update_or_create(), or bulk_update() the existing ones and "
                "bulk_create() the new ones."
            )
        ops = connection.ops
        column = ops.quote_name(model._meta.get_field(VERSION_FIELD).column)  # type: ignore[union-attr]
        if connection.vendor == "mysql":
            # Inside ON DUPLICATE KEY UPDATE a bare column is the existing row's value.
            return f", {column} = {column} + 1"
        return f", {column} = {ops.quote_name(model._meta.db_table)}.{column} + 1"

    return extend
