"""django-import-export with versioned models: a row changed since the export fails, row
by row and with use_bulk=True, and is reported as an error of that row, never as updated."""

from __future__ import annotations

import pytest
import tablib
from import_export import resources
from import_export.results import RowResult

from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.import_export import VersionedResourceMixin
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)


class BookResource(VersionedResourceMixin, resources.ModelResource):
    class Meta:
        model = Book
        fields = ("id", "version", "title", "pages")


class BulkBookResource(BookResource):
    class Meta(BookResource.Meta):
        use_bulk = True
        batch_size = 2


class PlainBulkBookResource(resources.ModelResource):
    """Without the mixin: what import-export does on its own."""

    class Meta:
        model = Book
        fields = ("id", "version", "title", "pages")
        use_bulk = True


def _export_then_change_one() -> tuple[tablib.Dataset, list[Book]]:
    books = [Book.objects.create(title=f"book {i}") for i in range(5)]
    dataset = BookResource().export()
    Book.objects.filter(pk=books[2].pk).update(title="changed since the export")
    for i in range(len(dataset)):
        row = list(dataset[i])
        row[dataset.headers.index("pages")] = 100 + i
        dataset[i] = row
    return dataset, books


def _types(result) -> list[str]:
    return [row.import_type for row in result.rows]


@pytest.mark.parametrize("resource", [BookResource, BulkBookResource], ids=["rows", "bulk"])
def test_import_of_a_row_changed_since_the_export_fails_that_row(resource):
    dataset, books = _export_then_change_one()
    result = resource().import_data(dataset, use_transactions=False)
    assert _types(result) == ["update", "update", "error", "update", "update"]
    assert result.totals[RowResult.IMPORT_TYPE_UPDATE] == 4
    assert result.totals[RowResult.IMPORT_TYPE_ERROR] == 1
    (error,) = result.rows[2].errors
    assert isinstance(error.error, StaleObjectError)
    assert error.error.pk == books[2].pk
    assert [r.number for r in result.error_rows] == [3]
    rows = dict(Book.objects.values_list("pk", "pages"))
    assert [rows[b.pk] for b in books] == [100, 101, 0, 103, 104]
    changed = Book.objects.get(pk=books[2].pk)
    assert (changed.title, changed.version) == ("changed since the export", 2)
    assert [Book.objects.get(pk=b.pk).version for b in books] == [2, 2, 2, 2, 2]


@pytest.mark.parametrize("resource", [BookResource, BulkBookResource], ids=["rows", "bulk"])
def test_import_with_transactions_writes_nothing_when_a_row_is_stale(resource):
    dataset, _ = _export_then_change_one()
    result = resource().import_data(dataset, use_transactions=True)
    assert result.has_errors()
    assert sorted(Book.objects.values_list("pages", flat=True)) == [0] * 5


def test_import_of_a_fresh_export_updates_every_row_and_bumps_it():
    books = [Book.objects.create(title=f"book {i}") for i in range(3)]
    dataset = BulkBookResource().export()
    result = BulkBookResource().import_data(dataset, use_transactions=False)
    assert not result.has_errors()
    assert _types(result) == ["update"] * 3
    assert [Book.objects.get(pk=b.pk).version for b in books] == [2, 2, 2]


def test_bulk_import_without_the_mixin_still_fails_the_stale_row_but_per_batch():
    dataset, books = _export_then_change_one()
    result = PlainBulkBookResource().import_data(dataset, use_transactions=False)
    assert result.base_errors  # one error for the batch, not for the row
    assert Book.objects.get(pk=books[2].pk).pages == 0
    assert Book.objects.get(pk=books[0].pk).pages == 100


def test_import_of_a_row_without_a_version_is_invalid_not_an_overwrite():
    book = Book.objects.create(title="x")
    dataset = tablib.Dataset(headers=["id", "version", "title", "pages"])
    dataset.append([book.pk, "", "y", 1])
    result = BookResource().import_data(dataset, use_transactions=False)
    assert _types(result) == ["invalid"]
    assert "no version" in str(result.invalid_rows[0].error)
    assert Book.objects.get(pk=book.pk).title == "x"


def test_import_of_a_file_without_the_version_column_is_invalid():
    book = Book.objects.create(title="x")
    dataset = tablib.Dataset(headers=["id", "title", "pages"])
    dataset.append([book.pk, "y", 1])
    result = BookResource().import_data(dataset, use_transactions=False)
    assert _types(result) == ["invalid"]
    assert Book.objects.get(pk=book.pk).title == "x"


def test_import_of_new_rows_inserts_them_at_version_1():
    dataset = tablib.Dataset(headers=["id", "version", "title", "pages"])
    dataset.append(["", "", "new", 1])
    result = BulkBookResource().import_data(dataset, use_transactions=False)
    assert _types(result) == ["new"]
    assert Book.objects.get(title="new").version == 1
