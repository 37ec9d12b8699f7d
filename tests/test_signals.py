"""The write_refused signal, ORM part: one signal per refused compare-and-set."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from django_etag_lock.etags import Reason
from django_etag_lock.exceptions import ObjectDeletedError, StaleObjectError, StaleObjectsError
from django_etag_lock.signals import Source, reported_by, write_refused
from tests.factories import BookFactory, RestaurantFactory, ShelfFactory
from tests.testapp.models import Book, Restaurant, Shelf

pytestmark = pytest.mark.django_db


@pytest.fixture
def refused() -> Iterator[list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal")
        sent.append({"sender": sender, **kwargs})

    write_refused.connect(receiver, weak=False)
    try:
        yield sent
    finally:
        write_refused.disconnect(receiver)


def _stale_copy(model: type[Any], pk: Any) -> Any:
    """A copy of the row read now, made stale by a write through another copy."""
    mine = model.objects.get(pk=pk)
    theirs = model.objects.get(pk=pk)
    theirs.save()
    return mine


def test_stale_save_sends_one_signal_with_model_pk_and_versions(
    refused: list[dict[str, Any]],
) -> None:
    book = BookFactory()
    mine = _stale_copy(Book, book.pk)
    with pytest.raises(StaleObjectError):
        mine.save()
    assert refused == [
        {
            "sender": Book,
            "source": Source.ORM,
            "model": Book,
            "pk": book.pk,
            "reason": Reason.CONCURRENT_WRITE,
            "expected_version": 1,
            "current_version": 2,
            "request": None,
        }
    ]


def test_save_of_a_deleted_row_reports_concurrent_delete(refused: list[dict[str, Any]]) -> None:
    book = BookFactory()
    mine = Book.objects.get(pk=book.pk)
    Book.objects.filter(pk=book.pk).delete()
    with pytest.raises(ObjectDeletedError):
        mine.save()
    assert [(s["reason"], s["current_version"]) for s in refused] == [
        (Reason.CONCURRENT_DELETE, None)
    ]


def test_successful_writes_send_nothing(refused: list[dict[str, Any]]) -> None:
    book = BookFactory()
    book.save()
    Book.objects.update_if_version(book.pk, book.version, pages=3)
    Book.objects.get(pk=book.pk).delete()
    assert refused == []


@pytest.mark.parametrize("factory", [BookFactory, ShelfFactory])
def test_stale_delete_sends_one_signal(refused: list[dict[str, Any]], factory: Any) -> None:
    row = factory()
    mine = _stale_copy(type(row), row.pk)
    with pytest.raises(StaleObjectError):
        mine.delete()
    assert [(s["model"], s["pk"], s["expected_version"]) for s in refused] == [
        (type(row), row.pk, 1)
    ]


def test_multi_table_stale_save_sends_one_signal(refused: list[dict[str, Any]]) -> None:
    restaurant = RestaurantFactory()
    mine = _stale_copy(Restaurant, restaurant.pk)
    with pytest.raises(StaleObjectError):
        mine.save()
    assert len(refused) == 1
    assert (refused[0]["expected_version"], refused[0]["current_version"]) == (1, 2)


def test_update_if_version_and_delete_if_version_report(refused: list[dict[str, Any]]) -> None:
    book = BookFactory()
    shelf = ShelfFactory()
    shelf.save()
    with pytest.raises(StaleObjectError):
        Book.objects.update_if_version(book.pk, 7, pages=1)
    with pytest.raises(StaleObjectError):
        Book.objects.delete_if_version(book.pk, 7)
    with pytest.raises(StaleObjectError):
        Shelf.objects.delete_if_version(shelf.pk, 1)  # the collector path
    with pytest.raises(ObjectDeletedError):
        Shelf.objects.delete_if_version(shelf.pk + 1000, 1)
    assert [
        (s["model"], s["reason"], s["expected_version"], s["current_version"]) for s in refused
    ] == [
        (Book, Reason.CONCURRENT_WRITE, 7, 1),
        (Book, Reason.CONCURRENT_WRITE, 7, 1),
        (Shelf, Reason.CONCURRENT_WRITE, 1, 2),
        (Shelf, Reason.CONCURRENT_DELETE, 1, None),
    ]


def test_bulk_update_sends_one_signal_per_stale_row(refused: list[dict[str, Any]]) -> None:
    fresh, stale, gone = BookFactory(), BookFactory(), BookFactory()
    objs = list(Book.objects.filter(pk__in=[fresh.pk, stale.pk, gone.pk]).order_by("pk"))
    Book.objects.get(pk=stale.pk).save()
    Book.objects.filter(pk=gone.pk).delete()
    for obj in objs:
        obj.pages = 5
    with pytest.raises(StaleObjectsError):
        Book.objects.bulk_update(objs, ["pages"])
    assert [(s["pk"], s["reason"]) for s in refused] == [
        (stale.pk, Reason.CONCURRENT_WRITE),
        (gone.pk, Reason.CONCURRENT_DELETE),
    ]


def test_a_door_reporting_the_conflict_silences_the_orm_signal(
    refused: list[dict[str, Any]],
) -> None:
    book = BookFactory()
    mine = _stale_copy(Book, book.pk)
    with reported_by(Source.REST_FRAMEWORK), pytest.raises(StaleObjectError):
        mine.save()
    assert refused == []
    with pytest.raises(StaleObjectError):
        mine.save()
    assert len(refused) == 1


def test_signal_is_sent_only_for_the_model_a_receiver_listens_to() -> None:
    books: list[Any] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        books.append(kwargs["pk"])

    write_refused.connect(receiver, sender=Shelf, weak=False)
    try:
        book = BookFactory()
        with pytest.raises(StaleObjectError):
            _stale_copy(Book, book.pk).save()
        shelf = ShelfFactory()
        with pytest.raises(StaleObjectError):
            _stale_copy(Shelf, shelf.pk).save()
    finally:
        write_refused.disconnect(receiver, sender=Shelf)
    assert books == [shelf.pk]
