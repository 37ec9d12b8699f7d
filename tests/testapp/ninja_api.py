"""django-ninja routes for tests/test_ninja.py, mounted under ``/t/ninja/``.

The demo's API (testproject/customers/ninja_api.py) is the main subject; these add the
configurations it does not show: a plain Ninja baseline, async views, authentication,
per-route options, a scoped queryset, ``update_if_version`` and writes besides the row.
"""

from __future__ import annotations

from customers.models import Customer
from customers.ninja_api import CustomerOut, CustomerPatch
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Schema
from ninja.responses import Status
from ninja.security import APIKeyHeader

from django_etag_lock.ninja import ETagSchema, etag_lock
from tests.testapp.models import Book, Shelf, ShelfItem

api = NinjaAPI(urls_namespace="test-ninja", title="tests")


class BookOut(ETagSchema):
    id: int
    title: str
    pages: int


class BookPatch(Schema):
    title: str | None = None
    pages: int | None = None


class ShelfPatch(Schema):
    name: str
    item: str


class Key(APIKeyHeader):
    param_name = "X-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> str | None:
        return key if key == "secret" else None


# -- plain Ninja, the query-count baseline ------------------------------------------------


@api.get("/plain/customers/{pk}", response=CustomerOut)
def plain_get(request: HttpRequest, pk: int) -> object:
    return get_object_or_404(Customer, pk=pk)


@api.patch("/plain/customers/{pk}", response=CustomerOut)
def plain_patch(request: HttpRequest, pk: int, payload: CustomerPatch) -> object:
    customer = get_object_or_404(Customer, pk=pk)
    for name, value in payload.dict(exclude_unset=True).items():
        setattr(customer, name, value)
    customer.save()
    return customer


@api.delete("/plain/customers/{pk}", response={204: None})
def plain_delete(request: HttpRequest, pk: int) -> object:
    get_object_or_404(Customer, pk=pk).delete()
    return Status(204, None)


# -- async views ----------------------------------------------------------------------


@api.get("/async/customers/{pk}", response=CustomerOut)
@etag_lock(Customer)
async def async_get(request: HttpRequest, pk: int, customer: Customer) -> object:
    return customer


@api.patch("/async/customers/{pk}", response=CustomerOut)
@etag_lock(Customer)
async def async_patch(
    request: HttpRequest, pk: int, payload: CustomerPatch, customer: Customer
) -> object:
    for name, value in payload.dict(exclude_unset=True).items():
        setattr(customer, name, value)
    await customer.asave()
    return customer


@api.delete("/async/customers/{pk}", response={204: None})
@etag_lock(Customer)
async def async_delete(request: HttpRequest, pk: int, customer: Customer) -> object:
    await customer.adelete()
    return Status(204, None)


# -- authentication first, per-route options -------------------------------------------


@api.patch("/auth/customers/{pk}", response=CustomerOut, auth=Key())
@etag_lock(Customer)
def auth_patch(request: HttpRequest, pk: int, payload: CustomerPatch, customer: Customer) -> object:
    customer.notes = payload.notes or ""
    customer.save()
    return customer


@api.patch("/optional/customers/{pk}", response=CustomerOut)
@etag_lock(Customer, require_if_match=False, allow_star=False)
def optional_patch(
    request: HttpRequest, pk: int, payload: CustomerPatch, customer: Customer
) -> object:
    customer.notes = payload.notes or ""
    customer.save()
    return customer


# -- Book: a scoped queryset, update_if_version, a custom lookup ----------------------------


def long_books(request: HttpRequest) -> QuerySet[Book]:
    return Book.objects.filter(pages__gte=10)


@api.get("/books/{book_id}", response=BookOut)
@etag_lock(long_books, model=Book, path_param="book_id", param="book")
def get_book(request: HttpRequest, book_id: int, book: Book) -> object:
    return book


@api.patch("/books/{book_id}", response=BookOut)
@etag_lock(long_books, model=Book, path_param="book_id", param="book")
def patch_book(request: HttpRequest, book_id: int, payload: BookPatch, book: Book) -> object:
    Book.objects.update_if_version(book.pk, book.version, **payload.dict(exclude_unset=True))
    return Book.objects.get(pk=book.pk)


@api.delete("/books/{book_id}", response={204: None})
@etag_lock(long_books, model=Book, path_param="book_id", param="book")
def delete_book(request: HttpRequest, book_id: int, book: Book) -> object:
    Book.objects.delete_if_version(book.pk, book.version)
    return Status(204, None)


@api.get("/books", response=list[BookOut])
def list_books(request: HttpRequest) -> object:
    return Book.objects.order_by("pk")


# -- a write besides the row: rolled back with a lost race ------------------------------------


@api.patch("/shelves/{pk}", response={200: None})
@etag_lock(Shelf)
def patch_shelf(request: HttpRequest, pk: int, payload: ShelfPatch, shelf: Shelf) -> object:
    ShelfItem.objects.create(shelf=shelf, label=payload.item)
    shelf.name = payload.name
    shelf.save()
    return shelf
