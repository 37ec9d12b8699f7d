"""Benchmark models: one shape of row written three ways (ours, plain, django-concurrency),
the same at 1 and 20 columns, and two tables for the growth benchmark."""

from __future__ import annotations

from typing import Any

from concurrency.fields import IntegerVersionField
from django.db import models

from django_etag_lock.models import VersionedModel


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


def _wide_fields(count: int) -> dict[str, Any]:
    return {f"f{n:02d}": models.IntegerField(default=0) for n in range(count)}


WideOnePlain = type("WideOnePlain", (models.Model,), {"__module__": __name__, **_wide_fields(1)})
WideOne = type("WideOne", (VersionedModel,), {"__module__": __name__, **_wide_fields(1)})
WideTwentyPlain = type(
    "WideTwentyPlain", (models.Model,), {"__module__": __name__, **_wide_fields(20)}
)
WideTwenty = type("WideTwenty", (VersionedModel,), {"__module__": __name__, **_wide_fields(20)})


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
