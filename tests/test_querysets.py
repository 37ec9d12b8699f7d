"""VersionedQuerySet: bulk paths bump, compare-and-set paths check."""

from __future__ import annotations

import logging

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from django_etag_lock.exceptions import (
    ObjectDeletedError,
    StaleObjectError,
    StaleObjectsError,
    VersionFieldError,
)
from django_etag_lock.models import unchecked
from tests.factories import BookFactory, RestaurantFactory, ShelfFactory
from tests.testapp.models import Book, Restaurant, Shelf, ShelfItem

pytestmark = pytest.mark.django_db


def _versions(model, pks):
    return dict(model.objects.filter(pk__in=pks).values_list("pk", "version"))


# -- QuerySet.update() ----------------------------------------------------------------


def test_queryset_update_bumps_the_version_of_every_matched_row_in_sql():
    books = BookFactory.create_batch(3, pages=1)
    books[0].save()  # versions: 2, 1, 1
    with CaptureQueriesContext(connection) as ctx:
        updated = Book.objects.filter(pages=1).update(pages=5)
    assert updated == 3
    assert len(ctx.captured_queries) == 1
    assert _versions(Book, [b.pk for b in books]) == {
        books[0].pk: 3,
        books[1].pk: 2,
        books[2].pk: 2,
    }


def test_queryset_update_invalidates_outstanding_instances():
    book = BookFactory()
    Book.objects.filter(pk=book.pk).update(title="Bulk")
    book.title = "Stale"
    with pytest.raises(StaleObjectError):
        book.save()
    assert Book.objects.get(pk=book.pk).title == "Bulk"


def test_queryset_update_refuses_an_explicit_version():
    book = BookFactory()
    with pytest.raises(VersionFieldError, match="update_if_version"):
        Book.objects.filter(pk=book.pk).update(version=1)
    assert Book.objects.get(pk=book.pk).version == 1


def test_related_manager_updates_bump_the_version_too():
    shelf = ShelfFactory()
    Shelf.objects.filter(pk=shelf.pk).update(name="Renamed")
    assert Shelf.objects.get(pk=shelf.pk).version == 2


def test_multi_table_child_queryset_update_bumps_the_parent_version():
    restaurant = RestaurantFactory()
    Restaurant.objects.filter(pk=restaurant.pk).update(serves="tea", name="Tea room")
    row = Restaurant.objects.get(pk=restaurant.pk)
    assert (row.serves, row.name, row.version) == ("tea", "Tea room", 2)


# -- update_if_version() --------------------------------------------------------------


def test_update_if_version_is_one_statement_and_returns_the_new_version():
    book = BookFactory(title="Original")
    with CaptureQueriesContext(connection) as ctx:
        new_version = Book.objects.update_if_version(book.pk, 1, title="CAS")
    assert new_version == 2
    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"]
    assert sql.startswith("UPDATE")
    assert "version" in sql.split("WHERE", 1)[1]
    row = Book.objects.get(pk=book.pk)
    assert (row.title, row.version) == ("CAS", 2)


def test_update_if_version_at_a_stale_version_raises_and_writes_nothing():
    book = BookFactory(title="Original")
    Book.objects.update_if_version(book.pk, 1, title="First")
    with pytest.raises(StaleObjectError) as excinfo:
        Book.objects.update_if_version(book.pk, 1, title="Second")
    assert (excinfo.value.expected_version, excinfo.value.current_version) == (1, 2)
    assert Book.objects.get(pk=book.pk).title == "First"


def test_update_if_version_of_a_missing_row_raises_object_deleted():
    with pytest.raises(ObjectDeletedError):
        Book.objects.update_if_version(987654, 1, title="Ghost")
    assert not Book.objects.filter(pk=987654).exists()


def test_update_if_version_respects_the_querysets_filters():
    book = BookFactory(pages=10)
    with pytest.raises(ObjectDeletedError):
        Book.objects.filter(pages=999).update_if_version(book.pk, 1, title="Out of scope")
    assert Book.objects.get(pk=book.pk).version == 1


def test_update_if_version_refuses_version_in_values():
    book = BookFactory()
    with pytest.raises(VersionFieldError):
        Book.objects.update_if_version(book.pk, 1, version=40)


def test_update_if_version_on_a_multi_table_child_checks_the_parent_table():
    restaurant = RestaurantFactory(serves="soup")
    assert Restaurant.objects.update_if_version(restaurant.pk, 1, serves="tea", name="T") == 2
    with pytest.raises(StaleObjectError):
        Restaurant.objects.update_if_version(restaurant.pk, 1, serves="coffee")
    row = Restaurant.objects.get(pk=restaurant.pk)
    assert (row.serves, row.version) == ("tea", 2)


def test_a_lost_compare_and_set_leaves_the_callers_transaction_usable():
    book = BookFactory()
    Book.objects.update_if_version(book.pk, 1, title="First")
    with transaction.atomic():
        with pytest.raises(StaleObjectError):
            book.save()
        # The caller caught the conflict and goes on in the same transaction.
        assert Book.objects.get(pk=book.pk).title == "First"


# -- delete_if_version() --------------------------------------------------------------


def test_delete_if_version_is_one_statement_when_fresh():
    book = BookFactory()
    with CaptureQueriesContext(connection) as ctx:
        result = Book.objects.delete_if_version(book.pk, 1)
    assert result == (1, {"testapp.Book": 1})
    assert len(ctx.captured_queries) == 1
    assert not Book.objects.exists()


def test_delete_if_version_at_a_stale_version_raises_and_deletes_nothing():
    book = BookFactory()
    book.save()
    with pytest.raises(StaleObjectError):
        Book.objects.delete_if_version(book.pk, 1)
    assert Book.objects.filter(pk=book.pk).exists()


def test_delete_if_version_with_cascades_checks_and_cascades():
    shelf = ShelfFactory()
    ShelfItem.objects.create(shelf=shelf, label="x")
    shelf.save()
    with pytest.raises(StaleObjectError):
        Shelf.objects.delete_if_version(shelf.pk, 1)
    assert ShelfItem.objects.count() == 1
    deleted, _ = Shelf.objects.delete_if_version(shelf.pk, 2)
    assert deleted == 2
    assert not ShelfItem.objects.exists()


# -- bulk_update() --------------------------------------------------------------------


def test_bulk_update_of_fresh_rows_writes_them_and_bumps_each_version():
    books = BookFactory.create_batch(5, pages=1)
    for book in books:
        book.pages = 2
    assert Book.objects.bulk_update(books, ["pages"]) == 5
    assert all(book.version == 2 for book in books)
    assert set(Book.objects.values_list("pages", "version")) == {(2, 2)}


def test_bulk_update_reports_exactly_the_stale_rows_and_writes_the_fresh_ones():
    books = BookFactory.create_batch(4, pages=1)
    Book.objects.filter(pk=books[1].pk).update(pages=50)  # stale: moved to version 2
    Book.objects.filter(pk=books[3].pk).delete()  # stale: gone
    for book in books:
        book.pages = 9
    with pytest.raises(StaleObjectsError) as excinfo:
        Book.objects.bulk_update(books, ["pages"])
    error = excinfo.value
    assert error.updated == 2
    assert error.stale_objects == [books[1], books[3]]
    assert isinstance(error.stale[1], ObjectDeletedError)
    assert (error.stale[0].expected_version, error.stale[0].current_version) == (1, 2)
    # Stale objects keep their in-memory versions; fresh ones advanced.
    assert [b.version for b in books] == [2, 1, 2, 1]
    rows = dict(Book.objects.values_list("pk", "pages"))
    assert rows == {books[0].pk: 9, books[1].pk: 50, books[2].pk: 9}


def test_bulk_update_all_or_nothing_writes_nothing_when_one_row_is_stale():
    books = BookFactory.create_batch(3, pages=1)
    Book.objects.filter(pk=books[2].pk).update(pages=50)
    for book in books:
        book.pages = 9
    with pytest.raises(StaleObjectsError) as excinfo:
        Book.objects.bulk_update(books, ["pages"], all_or_nothing=True)
    assert excinfo.value.updated == 0
    assert [b.version for b in books] == [1, 1, 1]
    assert sorted(Book.objects.values_list("pages", flat=True)) == [1, 1, 50]


def test_bulk_update_in_batches_checks_every_batch():
    books = BookFactory.create_batch(7, pages=1)
    Book.objects.filter(pk=books[5].pk).update(pages=50)
    for book in books:
        book.pages = 3
    with pytest.raises(StaleObjectsError) as excinfo:
        Book.objects.bulk_update(books, ["pages"], batch_size=2)
    assert excinfo.value.stale_objects == [books[5]]
    assert excinfo.value.updated == 6


def test_bulk_update_refuses_the_version_field_duplicates_and_deferred_versions():
    books = BookFactory.create_batch(2)
    with pytest.raises(VersionFieldError):
        Book.objects.bulk_update(books, ["version"])
    with pytest.raises(ValueError, match="same pk twice"):
        Book.objects.bulk_update([books[0], Book.objects.get(pk=books[0].pk)], ["title"])
    partial = list(Book.objects.defer("version"))
    with pytest.raises(VersionFieldError, match="deferred"):
        Book.objects.bulk_update(partial, ["title"])


def test_bulk_update_of_nothing_is_zero():
    assert Book.objects.bulk_update([], ["title"]) == 0


def test_unchecked_bulk_update_writes_everything_and_bumps_versions(caplog):
    books = BookFactory.create_batch(2, pages=1)
    Book.objects.filter(pk=books[0].pk).update(pages=50)  # stale, but trusted job
    for book in books:
        book.pages = 7
    with caplog.at_level(logging.INFO, logger="django_etag_lock"), unchecked("reindex"):
        assert Book.objects.bulk_update(books, ["pages"]) == 2
    assert _versions(Book, [b.pk for b in books]) == {books[0].pk: 3, books[1].pk: 2}
    assert books[0].version == 3  # reloaded lazily
    assert any("reindex" in r.getMessage() for r in caplog.records)


def test_abulk_update_is_checked():
    from asgiref.sync import async_to_sync

    books = BookFactory.create_batch(2)
    Book.objects.filter(pk=books[0].pk).update(pages=50)
    for book in books:
        book.pages = 1

    async def run():
        await Book.objects.abulk_update(books, ["pages"], all_or_nothing=True)

    with pytest.raises(StaleObjectsError):
        async_to_sync(run)()
    assert Book.objects.get(pk=books[1].pk).version == 1
