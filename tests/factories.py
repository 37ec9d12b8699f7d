from __future__ import annotations

import factory
from customers.models import Customer

from tests.testapp.models import Book, Place, PlainBook, Restaurant, Shelf


class BookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Book

    title = factory.Sequence(lambda n: f"Book {n}")
    pages = 100


class PlainBookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlainBook

    title = factory.Sequence(lambda n: f"Plain book {n}")
    pages = 100


class ShelfFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shelf

    name = factory.Sequence(lambda n: f"Shelf {n}")


class PlaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Place

    name = factory.Sequence(lambda n: f"Place {n}")


class RestaurantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Restaurant

    name = factory.Sequence(lambda n: f"Restaurant {n}")
    serves = "soup"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ("customer_id",)

    customer_id = factory.Sequence(lambda n: f"T{n:03d}")
    given_name = "Ada"
    family_name = "Lovelace"
    email = factory.LazyAttribute(lambda o: f"{o.customer_id.lower()}@example.com")
