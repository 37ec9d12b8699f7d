"""Concrete models for the test suite: one per shape of write path."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models

from django_etag_lock.models import VersionedModel, VersionField


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
