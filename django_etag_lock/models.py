"""Versioned models: every write of an existing row is a compare-and-set.

``save()`` of an existing row is one statement,
``UPDATE ... SET ..., version = N + 1 WHERE pk = X AND version = N``; ``delete()`` is
``DELETE ... WHERE pk = X AND version = N``. When no row matches, the row is looked
up once to raise :class:`~django_etag_lock.exceptions.StaleObjectError` (or
:class:`~django_etag_lock.exceptions.ObjectDeletedError`), and the instance is left
exactly as it was.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import connections, models, router, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from django_etag_lock import compat, touch
from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.querysets import (
    VERSION_FIELD,
    VersionedManager,
    VersionedQuerySet,
    _deferred_error,
    lock_version,
    log_unchecked_write,
    stale_error,
    unchecked,
    unchecked_reason,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
__all__ = [
    "VersionField",
    "VersionedManager",
    "VersionedModel",
    "VersionedQuerySet",
    "unchecked",
]


class _NextVersion(int):
    """The value ``VersionField.pre_save`` hands to an UPDATE: ``expected + 1``.

    A distinct type so ``_do_update`` can tell a checked save from a raw (fixture)
    save, whose values are read without ``pre_save``.
    """


if TYPE_CHECKING:
    _VersionFieldBase = models.PositiveBigIntegerField[int, int]
else:
    _VersionFieldBase = models.PositiveBigIntegerField


class VersionField(_VersionFieldBase):
    """Row version: starts at 1, bumped by every write, compared by every write.

    Not editable: forms and DRF serializers never let a client set it.
    """

    description = _("Row version for optimistic locking")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", 1)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("default") == 1:
            del kwargs["default"]
        if kwargs.get("editable") is False:
            del kwargs["editable"]
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        if add:
            return getattr(model_instance, self.attname)
        if unchecked_reason() is not None:
            return F(self.attname) + 1
        return _NextVersion(getattr(model_instance, self.attname) + 1)


class VersionedModel(models.Model):
    """Abstract model adding ``version``; every write of an existing row is checked.

    Subclass it instead of ``models.Model``. Saving or deleting an instance whose
    row has moved on since it was read raises ``StaleObjectError`` and writes
    nothing; saving the same stale instance again fails again.
    """

    version = VersionField(
        _("version"),
        help_text=_("Incremented by every write; a write must name the current version."),
    )

    objects: ClassVar[VersionedManager] = VersionedManager()

    etag_lock_touch: ClassVar[tuple[str, ...]] = ()
    """Foreign keys whose target rows every write of this model touches (docs/children.md)."""

    class Meta:
        abstract = True

    def save(  # type: ignore[override]
        self,
        *,
        force_insert: bool | tuple[type[models.Model], ...] = False,
        force_update: bool = False,
        using: str | None = None,
        update_fields: Iterable[str] | None = None,
    ) -> None:
        if not self._state.adding:
            loaded = VERSION_FIELD in self.__dict__
            if not loaded and unchecked_reason() is None:
                raise _deferred_error(type(self), "save()")
            if update_fields is not None:
                update_fields = set(update_fields)
                if update_fields:
                    update_fields.add(VERSION_FIELD)
            elif not loaded:
                # Unchecked save of a partly loaded instance: write what is loaded,
                # and bump the version (Django alone would leave it out).
                update_fields = {
                    f.attname
                    for f in self._meta.concrete_fields
                    if f.attname in self.__dict__ and not f.primary_key
                } | {VERSION_FIELD}
        using = using or router.db_for_write(type(self), instance=self)
        connection = connections[using]
        already_failed = compat.needs_rollback(connection)
        # Several tables: inside a caller's transaction, a savepoint undoes a parent
        # row written before the version check failed, so their transaction lives on.
        touching = touch.touches(type(self)) and update_fields != set()
        guard = (
            transaction.atomic(using=using)
            if touching or (self._meta.parents and connection.in_atomic_block)
            else nullcontext()
        )
        before = self.__dict__.copy()
        try:
            with guard:
                if touching:
                    new_parents = touch.touch_for_save(self, using, update_fields)
                super().save(
                    force_insert=force_insert,
                    force_update=force_update,
                    using=using,
                    update_fields=update_fields,
                )
        except StaleObjectError:
            # Leave the instance exactly as the caller had it (pre_save hooks such as
            # auto_now have already written to it), so a retry fails the same way.
            self.__dict__.clear()
            self.__dict__.update(before)
            if connection.in_atomic_block and not already_failed and not self._meta.parents:
                # Django marks the caller's transaction for rollback on any error in
                # save_base; a lost compare-and-set wrote nothing and broke nothing, so
                # the caller may catch the error and go on querying.
                transaction.set_rollback(False, using=using)
            raise
        if touching:
            touch.bump_cached_parents(self, new_parents)

    save.alters_data = True  # type: ignore[attr-defined]

    def _do_update(  # type: ignore[override]
        self,
        base_qs: models.QuerySet[Any],
        using: str,
        pk_val: Any,
        values: list[tuple[models.Field[Any, Any], Any, Any]],
        update_fields: Any,
        forced_update: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        # Private Django API, pinned in compat.DO_UPDATE (6.0 added returning_fields,
        # passed on through *args). It runs once per table, so with multi-table
        # inheritance the condition lands on whichever table holds the version column.
        index = next((i for i, (f, _, _) in enumerate(values) if isinstance(f, VersionField)), None)
        if index is None:
            return super()._do_update(
                base_qs, using, pk_val, values, update_fields, forced_update, *args, **kwargs
            )
        field, model, value = values[index]
        if not isinstance(value, _NextVersion):
            # A raw (fixture) save writes the version as given, or an unchecked()
            # save writes version + 1 in SQL; neither compares.
            result = super()._do_update(
                base_qs, using, pk_val, values, update_fields, forced_update, *args, **kwargs
            )
            if result and hasattr(value, "resolve_expression"):
                log_unchecked_write(type(self), "save", f"pk={pk_val!r}")
                self.__dict__.pop(field.attname, None)
            return result
        expected = int(value) - 1
        values = [*values[:index], (field, model, int(value)), *values[index + 1 :]]
        # The condition goes in as precompiled SQL on the queryset Django just built for
        # this UPDATE: a second filter() would clone the queryset and resolve a lookup,
        # which costs more than the rest of the save (see docs/benchmarks.md).
        quote = connections[using].ops.quote_name
        condition = (
            f"{quote(field.model._meta.db_table)}.{quote(field.column or field.attname)} = %s"
        )
        compat.add_where_sql(base_qs, condition, [expected])
        result = super()._do_update(
            base_qs,
            using,
            pk_val,
            values,
            update_fields,
            forced_update,
            *args,
            **kwargs,
        )
        if result:
            setattr(self, field.attname, expected + 1)
            return result
        if self._state.adding:
            # A new instance with an explicit pk: no row matched, so Django goes on to
            # INSERT; if the pk exists at another version the INSERT fails loudly.
            return result
        raise stale_error(type(self), using, pk_val, expected)

    def delete(
        self, using: str | None = None, keep_parents: bool = False
    ) -> tuple[int, dict[str, int]]:
        if self.pk is not None and touch.touches(type(self)):
            using = using or router.db_for_write(type(self), instance=self)
            # Parents first (locks top down), in one transaction with the delete, so a
            # stale delete leaves them untouched.
            with transaction.atomic(using=using), touch.touched(self):
                touch.touch_for_delete(self, using)
                result = self._delete_checked(using, keep_parents)
            touch.bump_cached_parents(self)
            return result
        return self._delete_checked(using, keep_parents)

    delete.alters_data = True  # type: ignore[attr-defined]

    def _delete_checked(self, using: str | None, keep_parents: bool) -> tuple[int, dict[str, int]]:
        if unchecked_reason() is not None or self.pk is None:
            if self.pk is not None:
                log_unchecked_write(type(self), "delete", f"pk={self.pk!r}")
            return super().delete(using=using, keep_parents=keep_parents)
        if VERSION_FIELD not in self.__dict__:
            raise _deferred_error(type(self), "delete()")
        using = using or router.db_for_write(type(self), instance=self)
        expected: int = getattr(self, VERSION_FIELD)
        model = type(self)
        if compat.can_fast_delete(self, using, origin=self):
            # What Django does for such a row, plus the version in the WHERE clause.
            target = model._base_manager.using(using).filter(
                pk=self.pk, **{VERSION_FIELD: expected}
            )
            deleted = compat.raw_delete(target, using)
            if not deleted:
                raise stale_error(model, using, self.pk, expected)
            setattr(self, self._meta.pk.attname, None)
            return deleted, {self._meta.label: deleted}
        # Cascades, signal listeners or parent tables: claim the row by its version,
        # then let Django's collector delete it inside the same transaction, so
        # pre_delete/post_delete receivers run only for a write that won.
        # A savepoint inside a caller's transaction, so a lost race leaves it usable.
        with transaction.atomic(using=using):
            lock_version(model, using, self.pk, expected)
            return super().delete(using=using, keep_parents=keep_parents)
