"""Versioned models: every write of an existing row is a compare-and-set.

``save()`` of an existing row is one statement,
``UPDATE ... SET ..., version = N + 1 WHERE pk = X AND version = N``; ``delete()`` is
``DELETE ... WHERE pk = X AND version = N``. When no row matches, the row is looked
up once to raise :class:`~django_etag_lock.exceptions.StaleObjectError` (or
:class:`~django_etag_lock.exceptions.ObjectDeletedError`), and the instance is left
exactly as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.db import DatabaseError, connections, models, router, transaction
from django.db.models import F
from django.db.models.signals import class_prepared
from django.utils.translation import gettext_lazy as _

from django_etag_lock import compat, fastsave, touch
from django_etag_lock.conf import conf
from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.querysets import (
    LATE_VERSION,
    VERSION_FIELD,
    VersionedManager,
    VersionedQuerySet,
    after_savepoint,
    cas_statement,
    check_version_loaded,
    forget_version,
    lock_version,
    log_unchecked_write,
    mark_version_late,
    raise_if_refused,
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

    ``excluded_fields`` names fields whose writes are not content changes
    (``last_login``, a heartbeat): a ``save(update_fields=...)`` naming only such
    fields neither checks nor bumps the version. Every other write is unchanged.
    """

    description = _("Row version for optimistic locking")

    def __init__(self, *args: Any, excluded_fields: Iterable[str] = (), **kwargs: Any) -> None:
        kwargs.setdefault("default", 1)
        kwargs.setdefault("editable", False)
        if isinstance(excluded_fields, str):
            raise TypeError(
                "VersionField(excluded_fields=...) takes a list of field names, e.g. "
                f"excluded_fields=[{excluded_fields!r}]."
            )
        self.excluded_fields = tuple(excluded_fields)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("default") == 1:
            del kwargs["default"]
        if kwargs.get("editable") is False:
            del kwargs["editable"]
        if self.excluded_fields:
            kwargs["excluded_fields"] = list(self.excluded_fields)
        return name, path, args, kwargs

    def excludes(self, update_fields: Iterable[str]) -> bool:
        """Whether a save of only ``update_fields`` is outside versioning."""
        if not self.excluded_fields or self.model is None:
            return False
        names = set(self.excluded_fields)
        opts = self.model._meta
        attnames = {getattr(opts.get_field(name), "attname", name) for name in names} | names
        fields = set(update_fields)
        return bool(fields) and fields <= attnames

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
    # The base manager of every concrete subclass (see _use_versioned_base_manager).
    _etag_lock_base_manager: ClassVar[VersionedManager] = VersionedManager()

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
            if update_fields is not None:
                update_fields = set(update_fields)
                field = self._meta.get_field(VERSION_FIELD)
                if isinstance(field, VersionField) and field.excludes(update_fields):
                    # Not a content change (VersionField(excluded_fields=...)).
                    super().save(
                        force_insert=force_insert,
                        force_update=force_update,
                        using=using,
                        update_fields=update_fields,
                    )
                    return
            if unchecked_reason() is None:
                check_version_loaded(self, "save()")
            if update_fields is not None:
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
        touching = touch.touches(type(self)) and update_fields != set()
        before = self.__dict__.copy()
        try:
            if touching or (self._meta.parents and connections[using].in_atomic_block):
                # Several tables (parent tables, or the parents this row touches): inside
                # a caller's transaction, a savepoint undoes what was written before the
                # version check failed, so their transaction lives on.
                with transaction.atomic(using=using):
                    if touching:
                        new_parents = touch.touch_for_save(self, using, update_fields)
                    super().save(
                        force_insert=force_insert,
                        force_update=force_update,
                        using=using,
                        update_fields=update_fields,
                    )
            else:
                super().save(
                    force_insert=force_insert,
                    force_update=force_update,
                    using=using,
                    update_fields=update_fields,
                )
        except StaleObjectError as error:
            if (
                self.__dict__.get(VERSION_FIELD) != before.get(VERSION_FIELD)
                and not connections[using].in_atomic_block
            ):
                # This row's UPDATE went through and is committed; the conflict came
                # later (a post_save receiver writing another row): the instance is
                # what the database holds now.
                raise
            # Leave the instance exactly as the caller had it (pre_save hooks such as
            # auto_now have already written to it), so a retry fails the same way.
            self.__dict__.clear()
            self.__dict__.update(before)
            if self._meta.parents or touching:
                raise after_savepoint(error, using) from error.__cause__
            if connections[using].in_atomic_block and not error.transaction_aborted:
                # Django marks the caller's transaction for rollback on any error in
                # save_base; a lost compare-and-set wrote nothing and broke nothing, so
                # the caller may catch the error and go on querying. (Had the
                # transaction been broken before, the UPDATE itself would have raised
                # TransactionManagementError, so this never revives a broken one.)
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
        if values and isinstance(values[0][0], VersionField):
            index: int | None = 0  # declared first, so usually first
        else:
            index = next(
                (i for i, (f, _, _) in enumerate(values) if isinstance(f, VersionField)), None
            )
        if index is None:
            return super()._do_update(
                base_qs, using, pk_val, values, update_fields, forced_update, *args, **kwargs
            )
        field, model, value = values[index]
        if not isinstance(value, _NextVersion):
            # A raw (fixture) save writes the version as given, or an unchecked()
            # save writes version + 1 in SQL; neither compares.
            fastsave.log_fallback(
                type(self), "unchecked" if hasattr(value, "resolve_expression") else "raw"
            )
            result = super()._do_update(
                base_qs, using, pk_val, values, update_fields, forced_update, *args, **kwargs
            )
            if result and hasattr(value, "resolve_expression"):
                log_unchecked_write(type(self), "save", f"pk={pk_val!r}")
                forget_version(self)
            return result
        expected = int(value) - 1
        values = [*values[:index], (field, model, int(value)), *values[index + 1 :]]
        parent_update = super()._do_update

        def django_path() -> Any:
            # The condition goes in as precompiled SQL on the queryset Django just built
            # for this UPDATE: a second filter() would clone the queryset and resolve a
            # lookup, which costs more than the rest of the save (docs/benchmarks.md).
            quote = connections[using].ops.quote_name
            condition = (
                f"{quote(field.model._meta.db_table)}.{quote(field.column or field.attname)} = %s"
            )
            compat.add_where_sql(base_qs, condition, [expected])
            return parent_update(
                base_qs, using, pk_val, values, update_fields, forced_update, *args, **kwargs
            )

        try:
            if conf.COMPILED_SAVE:
                returning = args[0] if args else kwargs.get("returning_fields")
                result = fastsave.update(
                    self, base_qs, using, pk_val, values, expected, returning, django_path
                )
            else:
                result = django_path()
        except DatabaseError as error:
            # A refusal of the statement for a concurrent update (40001, 1213) is stale.
            raise_if_refused(error, type(self), using, pk_val, expected)
            raise
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
        check_version_loaded(self, "delete()")
        using = using or router.db_for_write(type(self), instance=self)
        expected: int = getattr(self, VERSION_FIELD)
        model = type(self)
        if compat.can_fast_delete(self, using, origin=self):
            # What Django does for such a row, plus the version in the WHERE clause.
            target = model._base_manager.using(using).filter(
                pk=self.pk, **{VERSION_FIELD: expected}
            )
            with cas_statement(model, using, self.pk, expected):
                deleted = compat.raw_delete(target, using)
            if not deleted:
                raise stale_error(model, using, self.pk, expected)
            setattr(self, self._meta.pk.attname, None)
            return deleted, {self._meta.label: deleted}
        # Cascades, signal listeners or parent tables: claim the row by its version,
        # then let Django's collector delete it inside the same transaction, so
        # pre_delete/post_delete receivers run only for a write that won.
        # A savepoint inside a caller's transaction, so a lost race leaves it usable.
        try:
            with transaction.atomic(using=using):
                lock_version(model, using, self.pk, expected)
                return super().delete(using=using, keep_parents=keep_parents)
        except StaleObjectError as error:
            raise after_savepoint(error, using) from error.__cause__

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Any, values: Any, *args: Any, **kwargs: Any
    ) -> Any:
        instance = super().from_db(db, field_names, values, *args, **kwargs)
        if len(values) != len(cls._meta.concrete_fields) and VERSION_FIELD not in instance.__dict__:
            # Loaded without its version: whenever 'version' arrives (a lazy load,
            # Django 6.1's FETCH_PEERS, a partial refresh) it is later than the data.
            mark_version_late(instance)
        return instance

    def refresh_from_db(
        self, using: str | None = None, fields: Any = None, *args: Any, **kwargs: Any
    ) -> None:
        loaded = {f.attname for f in self._meta.concrete_fields if f.attname in self.__dict__}
        if fields is None:
            # Every loaded field and the version at once: it vouches for them all.
            if VERSION_FIELD not in loaded and not self._state.adding:
                fields = [*loaded, VERSION_FIELD]
            super().refresh_from_db(using, fields, *args, **kwargs)
            self.__dict__.pop(LATE_VERSION, None)
            return
        super().refresh_from_db(using, fields, *args, **kwargs)
        refreshed = set(fields)
        if VERSION_FIELD not in refreshed:
            return
        if loaded - refreshed - {VERSION_FIELD, self._meta.pk.attname}:
            mark_version_late(self)
        else:
            self.__dict__.pop(LATE_VERSION, None)


# -- Django's own writers ----------------------------------------------------------------
# Django writes related rows through the base manager: the deletion collector's SET_NULL and
# SET(value) updates, related managers' add()/remove()/clear(), generic relations' add().
# A versioned model's base manager is a VersionedManager (unfiltered, as a base manager
# must be), so those UPDATEs bump the version in the same statement. Set when the class is
# prepared, because Meta.base_manager_name of an abstract parent is lost as soon as a
# subclass declares its own Meta or puts another abstract model (AbstractBaseUser) first.
BASE_MANAGER = "_etag_lock_base_manager"


def _use_versioned_base_manager(sender: type[models.Model], **kwargs: Any) -> None:
    if issubclass(sender, VersionedModel):
        compat.use_base_manager(sender, BASE_MANAGER)


class_prepared.connect(_use_versioned_base_manager, dispatch_uid="django_etag_lock.base_manager")


# -- Django's deletion collector ---------------------------------------------------------
# SET_NULL and SET(value) are applied by the collector as one QuerySet.update() through
# the base manager (ours: it bumps in the same statement). SET_DEFAULT and SET(callable)
# fetch the rows first and write them with sql.UpdateQuery(model).update_batch(), which no
# manager sees: for those, the rows still pointing at the row being deleted are bumped in
# the collector's transaction, just before its field updates, from a pre_delete receiver.

_FETCHED_SET_RELATIONS: dict[type[models.Model], list[models.ForeignKey[Any, Any]]] = {}


def _bump_rows_set_by_collector(
    sender: type[models.Model], instance: models.Model, using: str, **kwargs: Any
) -> None:
    for field in _FETCHED_SET_RELATIONS.get(sender._meta.concrete_model or sender, ()):
        value = getattr(instance, field.target_field.attname)
        if value is None:
            continue
        referencing = field.model._base_manager.using(using).filter(**{field.attname: value})
        models.QuerySet.update(referencing, **{VERSION_FIELD: F(VERSION_FIELD) + 1})


def connect_collector_bumps() -> None:
    """Connect the receivers bumping rows Django's collector rewrites (``AppConfig.ready``)."""
    from django.apps import apps
    from django.db.models.signals import pre_delete

    _FETCHED_SET_RELATIONS.clear()
    all_models = apps.get_models(include_auto_created=True)
    for model in all_models:
        if not issubclass(model, VersionedModel) or model._meta.proxy:
            continue
        for field in model._meta.local_fields:
            if not isinstance(field, models.ForeignKey):
                continue
            if not compat.collector_writes_fetched_rows(field.remote_field.on_delete):
                continue
            target = field.remote_field.model
            _FETCHED_SET_RELATIONS.setdefault(target._meta.concrete_model or target, []).append(
                field
            )
    for model in all_models:
        if (model._meta.concrete_model or model) in _FETCHED_SET_RELATIONS:
            pre_delete.connect(
                _bump_rows_set_by_collector,
                sender=model,
                weak=False,
                dispatch_uid=f"django_etag_lock.collector:{model._meta.label}",
            )
