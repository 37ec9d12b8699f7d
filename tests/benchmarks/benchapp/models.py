"""Benchmark models: one shape of row, written three ways (ours, plain, django-concurrency)."""

from __future__ import annotations

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


class GrowthSmall(VersionedModel):
    """Filled to a thousand rows (the growth benchmark)."""

    title = models.CharField(max_length=200)
    pages = models.IntegerField(default=0)


class GrowthLarge(VersionedModel):
    """Same columns, filled to a million rows (the growth benchmark)."""

    title = models.CharField(max_length=200)
    pages = models.IntegerField(default=0)
