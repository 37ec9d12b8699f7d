"""Concrete models for the test suite: one per shape of write path."""

from __future__ import annotations

import uuid
from typing import Any

import django
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models

from django_etag_lock.models import VersionedManager, VersionedModel, VersionField


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


class Author(models.Model):
    """Unversioned, referenced by versioned rows with every SET on_delete."""

    name = models.CharField(max_length=100)


def no_author() -> None:
    """``on_delete=SET(callable)``: the collector fetches the rows, then updates them."""
    return None


class Article(VersionedModel):
    """Versioned rows that Django's deletion collector and related managers rewrite."""

    title = models.CharField(max_length=100)
    editor = models.ForeignKey(
        Author, models.SET_NULL, null=True, blank=True, related_name="edited"
    )
    reviewer = models.ForeignKey(
        Author, models.SET_DEFAULT, null=True, default=None, related_name="reviewed"
    )
    translator = models.ForeignKey(Author, models.SET(None), null=True, related_name="translated")
    illustrator = models.ForeignKey(
        Author, models.SET(no_author), null=True, related_name="illustrated"
    )
    labels: models.ManyToManyField[Label, ArticleLabel] = models.ManyToManyField(
        "Label", through="ArticleLabel", related_name="articles"
    )
    tags: models.ManyToManyField[Label, Any] = models.ManyToManyField(
        "Label", related_name="tagged"
    )
    comments = GenericRelation("Comment")


class Comment(VersionedModel):
    """Versioned rows of a generic relation: its add() writes through the base manager."""

    # testapp has no migrations, so its tables exist before contenttypes' are migrated.
    content_type = models.ForeignKey(ContentType, models.CASCADE, null=True, db_constraint=False)
    object_id = models.PositiveBigIntegerField(null=True)
    target = GenericForeignKey("content_type", "object_id")
    text = models.CharField(max_length=50)


class Label(VersionedModel):
    name = models.CharField(max_length=50)


class ArticleLabel(VersionedModel):
    """A versioned explicit m2m through model."""

    article = models.ForeignKey(Article, models.CASCADE)
    label = models.ForeignKey(Label, models.CASCADE)
    note = models.CharField(max_length=50, default="")


class Chapter(VersionedModel):
    """order_with_respect_to: Django's set_<model>_order() writes _order in bulk."""

    shelf = models.ForeignKey(Shelf, models.CASCADE, related_name="chapters")
    title = models.CharField(max_length=100)

    class Meta:
        order_with_respect_to = "shelf"


class Member(AbstractBaseUser, VersionedModel):
    """A versioned user model that excludes last_login (the login write)."""

    username = models.CharField(max_length=50, unique=True)
    version = VersionField(excluded_fields=["last_login"])

    USERNAME_FIELD = "username"


class Device(VersionedModel):
    """A heartbeat column excluded from versioning."""

    name = models.CharField(max_length=50)
    last_seen = models.DateTimeField(null=True)
    version = VersionField(excluded_fields=["last_seen"])


class Seat(VersionedModel):
    """Unique constraints of both kinds: a unique field and a two-column constraint."""

    code = models.CharField(max_length=20, unique=True)
    row = models.CharField(max_length=2)
    number = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["row", "number"], name="testapp_seat_row_number")
        ]


# -- the compiled save (tests/test_fastsave.py): plain shapes and every fallback ------


class Publisher(models.Model):
    """Unversioned, the target of the relations below (PlainBook stays relation-free)."""

    name = models.CharField(max_length=100)


class Ledger(VersionedModel):
    """Many column types, nullable ones included: the compiled save's plain case."""

    title = models.CharField(max_length=200)
    count = models.IntegerField(null=True)
    amount = models.DecimalField(max_digits=9, decimal_places=2, null=True)
    ratio = models.FloatField(null=True)
    active = models.BooleanField(default=True)
    day = models.DateField(null=True)
    at = models.DateTimeField(null=True)
    token = models.UUIDField(null=True)
    publisher = models.ForeignKey(Publisher, null=True, on_delete=models.SET_NULL)


class UUIDLedger(VersionedModel):
    """A primary key whose database value is not the Python value (SQLite, MySQL: text)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    title = models.CharField(max_length=200)


class SelectOnSaveBook(VersionedModel):
    title = models.CharField(max_length=200)

    class Meta:
        select_on_save = True


class UpperCharField(models.CharField):  # type: ignore[type-arg]
    """Writes its value through ``UPPER(%s)``: a custom placeholder."""

    if django.VERSION >= (6, 1):

        def get_placeholder_sql(self, value: Any, compiler: Any, connection: Any) -> Any:
            return "UPPER(%s)", [value]

    else:

        def get_placeholder(self, value: Any, compiler: Any, connection: Any) -> str:
            return "UPPER(%s)"


class ShoutedBook(VersionedModel):
    title = UpperCharField(max_length=200)


class DbDefaultBook(VersionedModel):
    title = models.CharField(max_length=200)
    pages = models.IntegerField(db_default=100)


class GeneratedBook(VersionedModel):
    pages = models.IntegerField(default=0)
    double = models.GeneratedField(
        expression=models.F("pages") * 2, output_field=models.IntegerField(), db_persist=True
    )


class BookCover(VersionedModel):
    """The primary key is a relation."""

    publisher = models.OneToOneField(Publisher, primary_key=True, on_delete=models.CASCADE)
    colour = models.CharField(max_length=20)


class ShelfSlot(VersionedModel):
    """A composite primary key."""

    pk = models.CompositePrimaryKey("shelf_no", "slot")
    shelf_no = models.IntegerField()
    slot = models.IntegerField()
    label = models.CharField(max_length=20)


class LiveManager(VersionedManager):
    def get_queryset(self) -> models.QuerySet[ArchivableBook]:
        queryset: models.QuerySet[ArchivableBook] = super().get_queryset()
        return queryset.filter(archived=False)


class ArchivableBook(VersionedModel):
    """The base manager filters: its condition must stay in every UPDATE."""

    title = models.CharField(max_length=200)
    archived = models.BooleanField(default=False)

    live = LiveManager()

    class Meta:
        base_manager_name = "live"


class SavingBook(Book):
    """Overrides save() and delete(): a DRF write of it may be several statements."""

    class Meta:
        proxy = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return super().delete(*args, **kwargs)


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
