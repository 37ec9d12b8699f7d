"""Benchmark models: one shape of row, written three ways (ours, plain, django-concurrency)."""

from __future__ import annotations

from typing import Any

from concurrency.fields import IntegerVersionField
from django.db import connections, models

from django_etag_lock.models import VersionedModel, VersionField, _NextVersion
from django_etag_lock.querysets import stale_error


class ItemFields(models.Model):
    title = models.CharField(max_length=200)
    pages = models.IntegerField(default=0)
    notes = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Item(VersionedModel, ItemFields):
    """The variant: every write of an existing row is a compare-and-set."""


class PlainItem(ItemFields):
    """The baseline: the same columns, no version."""


class ConcurrencyItem(ItemFields):
    """The anchor: django-concurrency's version field."""

    version = IntegerVersionField()


class CheapConditionItem(VersionedModel, ItemFields):
    """Experiment: the version condition added as precompiled SQL instead of ``filter()``.

    A copy of ``VersionedModel._do_update``'s checked path with the one change proposed in
    docs/benchmarks.md, so that the benchmark measures the proposal in the same run.
    """

    def _do_update(
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
        for index, (field, model, value) in enumerate(values):  # noqa: B007
            if isinstance(field, VersionField) and isinstance(value, _NextVersion):
                break
        else:
            return super()._do_update(
                base_qs, using, pk_val, values, update_fields, forced_update, *args, **kwargs
            )
        expected = int(value) - 1
        quote = connections[using].ops.quote_name
        assert field.model is not None
        condition = f"{quote(field.model._meta.db_table)}.{quote(field.column)} = %s"
        values = [*values[:index], (field, model, int(value)), *values[index + 1 :]]
        result = models.Model._do_update(  # type: ignore[attr-defined]
            self,
            base_qs.extra(where=[condition], params=[expected]),
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
        raise stale_error(type(self), using, pk_val, expected)


class GrowthSmall(VersionedModel):
    """Filled to a thousand rows (the growth benchmark)."""

    title = models.CharField(max_length=200)
    pages = models.IntegerField(default=0)


class GrowthLarge(VersionedModel):
    """Same columns, filled to a million rows (the growth benchmark)."""

    title = models.CharField(max_length=200)
    pages = models.IntegerField(default=0)


# -- touch (docs/children.md): the cost of a child write bumping its parents -------------


class TouchParent(VersionedModel):
    title = models.CharField(max_length=200)


class QuietChild(VersionedModel):
    """Baseline: a versioned child that does not touch its parent."""

    parent = models.ForeignKey(TouchParent, on_delete=models.CASCADE, related_name="quiet")
    pages = models.IntegerField(default=0)


class TouchingChild(VersionedModel):
    """Touches its parent: one more UPDATE per write, in one transaction."""

    parent = models.ForeignKey(TouchParent, on_delete=models.CASCADE, related_name="touching")
    pages = models.IntegerField(default=0)

    etag_lock_touch = ("parent",)


class TouchingGrandchild(VersionedModel):
    """Touches a child that touches its parent: two more UPDATEs per write."""

    child = models.ForeignKey(TouchingChild, on_delete=models.CASCADE, related_name="leaves")
    pages = models.IntegerField(default=0)

    etag_lock_touch = ("child",)
