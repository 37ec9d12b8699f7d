"""Concrete models for the test suite: one per shape of write path."""

from __future__ import annotations

from django.db import models

from django_etag_lock.models import VersionedModel


class Book(VersionedModel):
    """No relations, no signals: every write is a single statement."""

    title = models.CharField(max_length=200)
    pages = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.title


class PlainBook(models.Model):
    """The same columns, unversioned: the baseline for query counts."""

    title = models.CharField(max_length=200)
    pages = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)


class BookProxy(Book):
    class Meta:
        proxy = True


class Shelf(VersionedModel):
    """Has cascading children, so delete() goes through Django's collector."""

    name = models.CharField(max_length=100)


class ShelfItem(models.Model):
    shelf = models.ForeignKey(Shelf, on_delete=models.CASCADE, related_name="items")
    label = models.CharField(max_length=100)


class Place(VersionedModel):
    """Multi-table inheritance: the version column lives on the parent table."""

    name = models.CharField(max_length=100)


class Restaurant(Place):
    serves = models.CharField(max_length=100, default="")


class Animal(models.Model):
    name = models.CharField(max_length=100)


class Dog(VersionedModel, Animal):  # type: ignore[misc]  # two managers named objects, by design
    """An unversioned concrete parent, a versioned child: the version is on the child."""

    breed = models.CharField(max_length=100, default="")


# -- parents and children (docs/children.md) -------------------------------------------


class Order(VersionedModel):
    """A parent whose representation embeds its lines."""

    reference = models.CharField(max_length=100)
    note = models.CharField(max_length=200, default="", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.reference


class Product(models.Model):
    """Unversioned; deleting one cascades to the lines that sell it."""

    name = models.CharField(max_length=100)


class OrderLine(VersionedModel):
    """A versioned child that touches its order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="lines", null=True, blank=True
    )
    sku = models.CharField(max_length=50)
    qty = models.IntegerField(default=1)

    etag_lock_touch = ("order",)

    def __str__(self) -> str:
        return f"{self.sku} x {self.qty}"


class LineNote(VersionedModel):
    """A grandchild: touches its line, which touches its order."""

    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="notes")
    text = models.CharField(max_length=200)

    etag_lock_touch = ("line",)


class Parcel(VersionedModel):
    """A versioned child that does NOT touch its order (the W012 situation)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="parcels")
    label = models.CharField(max_length=100)


class Account(VersionedModel):
    """A parent referenced by a non-pk unique field."""

    code = models.CharField(max_length=20, unique=True)


class Entry(VersionedModel):
    """Touches its account through a foreign key with ``to_field``."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, to_field="code", related_name="entries"
    )
    amount = models.IntegerField(default=0)

    etag_lock_touch = ("account",)
