"""The compare-and-set primitives every write of a versioned row goes through.

This module is the one place that talks to the ORM for the guarantee. The private
Django API it needs (a single ``DELETE ... WHERE pk AND version``, the fast-delete test,
the write database of a queryset) goes through :mod:`django_etag_lock.compat`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connections, models, transaction
from django.db.models import F, QuerySet

from django_etag_lock import compat, touch
from django_etag_lock.exceptions import (
    ObjectDeletedError,
    StaleObjectError,
    StaleObjectsError,
    VersionFieldError,
)

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
    current = next(iter(qs.values_list(VERSION_FIELD, flat=True)[:1]), None)
    if current is None:
        return ObjectDeletedError(model, pk, expected)
    return StaleObjectError(model, pk, expected, current)


def lock_version(model: type[Model], using: str, pk: Any, expected: int) -> None:
    """Claim the row at ``expected`` by bumping its version, in one statement.

    Used before writes that span several statements (cascading deletes, multi-table
    inheritance): the row stays locked by this transaction until it ends, and the
    bump invalidates every outstanding tag even if the caller's later steps fail.
    """
    holder = version_holder(model)
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
            with transaction.atomic(using=using):
                lock_version(self.model, using, pk, version)
                in_scope = (
                    QuerySet.update(self.using(using).filter(pk=pk), **values)
                    if values
                    else (self.using(using).filter(pk=pk).exists())
                )
                if not in_scope:
                    raise ObjectDeletedError(self.model, pk, version)
            return version + 1
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
            deleted = compat.raw_delete(target, using)
            if not deleted:
                raise stale_error(self.model, using, pk, version, queryset=scoped)
            return deleted, {self.model._meta.label: deleted}
        obj = scoped.filter(pk=pk).first()
        if obj is None:
            raise ObjectDeletedError(self.model, pk, version)
        if getattr(obj, VERSION_FIELD) != version:
            raise StaleObjectError(self.model, pk, version, getattr(obj, VERSION_FIELD))
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
        field_names = list(fields)
        if VERSION_FIELD in field_names:
            raise VersionFieldError(
                f"bulk_update() on {self.model._meta.label} bumps 'version' itself; "
                "leave it out of fields."
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
                # The new version was computed in SQL; reload it on next access.
                obj.__dict__.pop(VERSION_FIELD, None)
            log_unchecked_write(self.model, "bulk_update", f"of {updated} row(s)")
            return int(updated)
        if not objs:
            return int(super().bulk_update(objs, field_names, batch_size=batch_size))
        for obj in objs:
            if VERSION_FIELD not in obj.__dict__:
                raise _deferred_error(type(obj), "bulk_update()")
        pks = [obj.pk for obj in objs]
        if len(set(pks)) != len(pks):
            raise ValueError(
                f"bulk_update() on {self.model._meta.label} got the same pk twice; a "
                "versioned row can be written once per call."
            )
        using = self._write_db()
        scoped = self.using(using)
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
                    stale.append((obj, ObjectDeletedError(type(obj), obj.pk, expected)))
                else:
                    stale.append((obj, StaleObjectError(type(obj), obj.pk, expected, now)))
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
        for obj in fresh:
            setattr(obj, VERSION_FIELD, getattr(obj, VERSION_FIELD) + 1)
        if stale:
            raise StaleObjectsError(stale, updated)
        return updated

    def bulk_create(self, objs: Iterable[_M], *args: Any, **kwargs: Any) -> list[_M]:
        """Django's ``bulk_create()``; a model that touches parents touches theirs first."""
        if not touch.touches(self.model):
            return super().bulk_create(objs, *args, **kwargs)
        objs = list(objs)
        using = self._write_db()
        with transaction.atomic(using=using):
            touch.touch_for_objects(self.model, objs, using, None, stored=False)
            return super().bulk_create(objs, *args, **kwargs)

    bulk_create.alters_data = True  # type: ignore[attr-defined]

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

    def _write_db(self) -> str:
        return compat.write_db(self)


class VersionedManager(models.Manager.from_queryset(VersionedQuerySet)):  # type: ignore[misc]
    """The default manager of :class:`~django_etag_lock.models.VersionedModel`."""


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
        "write could not be checked. Load it (drop it from .only()/.defer()) or call "
        "refresh_from_db(fields=['version']) first."
    )
