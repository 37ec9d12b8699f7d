"""A primary and a read replica: reads may come from the replica, every compare-and-set goes
to the primary, and a stale replica read ends in StaleObjectError (or 412), never a lost update.

The ``replica`` alias mirrors ``default`` (tests/settings.py) on a second connection. The
router is enabled here only. A *lagging* replica is a replica connection held in a
REPEATABLE READ transaction: it keeps answering from its snapshot while the primary moves on
(PostgreSQL and MariaDB; SQLite has no such snapshot).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from customers.models import Customer
from django.conf import settings
from django.db import connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from django_etag_lock.exceptions import ObjectDeletedError, StaleObjectError, StaleObjectsError
from tests.factories import BookFactory, ShelfFactory
from tests.routers import ROUTERS
from tests.testapp.models import Book, Shelf, ShelfItem
from tests.utils import needs_server_db

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "replica"])]


@pytest.fixture(autouse=True)
def _router() -> Iterator[None]:
    with override_settings(DATABASE_ROUTERS=ROUTERS):
        yield
    connections["replica"].close()


@contextmanager
def captured() -> Iterator[tuple[CaptureQueriesContext, CaptureQueriesContext]]:
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        yield primary, replica


def _writes(ctx: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].split()[0] in ("UPDATE", "DELETE", "INSERT")
    ]


@contextmanager
def lagging_replica() -> Iterator[None]:
    """The replica answers from a snapshot taken at its first read inside this block."""
    replica = connections["replica"]
    replica.ensure_connection()
    with replica.cursor() as cursor:
        if replica.vendor == "postgresql":
            cursor.execute(
                "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ"
            )
        else:
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    try:
        with transaction.atomic(using="replica"):
            yield
    finally:
        replica.close()  # the next use reconnects with the default isolation level


def test_the_router_is_enabled_in_this_module_only():
    assert settings.DATABASE_ROUTERS == ROUTERS
    with override_settings(DATABASE_ROUTERS=[]):
        assert Book.objects.all().db == "default"
    assert Book.objects.all().db == "replica"


def test_reads_come_from_the_replica_and_the_checked_save_goes_to_the_primary():
    book = BookFactory(title="start")
    copy = Book.objects.get(pk=book.pk)
    assert copy._state.db == "replica"
    copy.title = "mine"
    with captured() as (primary, replica):
        copy.save()
    assert _writes(replica) == []
    [update] = _writes(primary)
    assert "version" in update.split("WHERE", 1)[1]
    assert copy.version == 2
    assert Book.objects.using("default").get(pk=book.pk).title == "mine"


def test_a_stale_replica_read_raises_stale_object_error_and_keeps_the_other_write():
    book = BookFactory(title="start")
    stale = Book.objects.get(pk=book.pk)  # from the replica, at version 1
    theirs = Book.objects.using("default").get(pk=book.pk)
    theirs.title = "theirs"
    theirs.save()
    stale.title = "mine"
    with pytest.raises(StaleObjectError) as caught:
        stale.save()
    assert (caught.value.expected_version, caught.value.current_version) == (1, 2)
    assert stale.version == 1
    assert stale.title == "mine"
    row = Book.objects.using("default").get(pk=book.pk)
    assert (row.title, row.version) == ("theirs", 2)
    with pytest.raises(StaleObjectError):
        stale.save()  # a retry of the same stale object fails again


def test_deleting_a_stale_replica_read_raises_and_deletes_nothing():
    book = BookFactory(title="start")
    stale = Book.objects.get(pk=book.pk)
    Book.objects.using("default").filter(pk=book.pk).update(title="theirs")
    with captured() as (_, replica), pytest.raises(StaleObjectError):
        stale.delete()
    assert _writes(replica) == []
    assert Book.objects.using("default").get(pk=book.pk).title == "theirs"


def test_deleting_a_replica_read_with_cascades_claims_the_version_on_the_primary():
    shelf = ShelfFactory()
    ShelfItem.objects.create(shelf=shelf, label="a")
    copy = Shelf.objects.get(pk=shelf.pk)
    assert copy._state.db == "replica"
    with captured() as (primary, replica):
        copy.delete()
    assert _writes(replica) == []
    assert any(sql.startswith("DELETE") for sql in _writes(primary))
    assert not Shelf.objects.using("default").filter(pk=shelf.pk).exists()
    assert not ShelfItem.objects.using("default").exists()


def test_update_if_version_and_delete_if_version_run_on_the_primary():
    book = BookFactory(title="start")
    with captured() as (primary, replica):
        assert Book.objects.update_if_version(book.pk, 1, title="next") == 2
        with pytest.raises(StaleObjectError) as caught:
            Book.objects.update_if_version(book.pk, 1, title="lost")
        Book.objects.delete_if_version(book.pk, 2)
    assert caught.value.current_version == 2
    assert _writes(replica) == []
    assert len(_writes(primary)) == 3
    assert not Book.objects.using("default").filter(pk=book.pk).exists()


def test_bulk_update_of_replica_reads_writes_the_fresh_rows_on_the_primary_only():
    fresh_book, stale_book = BookFactory(title="a"), BookFactory(title="b")
    fresh, stale = Book.objects.order_by("pk")
    Book.objects.using("default").filter(pk=stale_book.pk).update(title="theirs")
    fresh.title, stale.title = "mine a", "mine b"
    with captured() as (primary, replica), pytest.raises(StaleObjectsError) as caught:
        Book.objects.bulk_update([fresh, stale], ["title"])
    assert _writes(replica) == []
    assert _writes(primary)
    assert caught.value.stale_objects == [stale]
    rows = dict(Book.objects.using("default").values_list("pk", "title"))
    assert rows == {fresh_book.pk: "mine a", stale_book.pk: "theirs"}


@needs_server_db
def test_a_lagging_replica_really_lags_and_its_read_cannot_overwrite_the_primary():
    book = BookFactory(title="start")
    with lagging_replica():
        stale = Book.objects.get(pk=book.pk)
        assert Book.objects.using("default").update_if_version(book.pk, 1, title="theirs") == 2
        assert Book.objects.get(pk=book.pk).version == 1  # the replica is behind
        stale.title = "mine"
        with pytest.raises(StaleObjectError) as caught:
            stale.save()
        # The error reports the primary's version, not the replica's.
        assert (caught.value.expected_version, caught.value.current_version) == (1, 2)
        with pytest.raises(StaleObjectError):
            Book.objects.update_if_version(book.pk, Book.objects.get(pk=book.pk).version, title="x")
    row = Book.objects.using("default").get(pk=book.pk)
    assert (row.title, row.version) == ("theirs", 2)


@needs_server_db
def test_a_lagging_replica_cannot_resurrect_or_delete_a_row_the_primary_deleted():
    book = BookFactory(title="start")
    with lagging_replica():
        stale = Book.objects.get(pk=book.pk)
        Book.objects.using("default").delete_if_version(book.pk, 1)
        assert Book.objects.filter(pk=book.pk).exists()  # the replica still has it
        stale.title = "mine"
        with pytest.raises(ObjectDeletedError):
            stale.save()
        with pytest.raises(ObjectDeletedError):
            stale.delete()
    assert not Book.objects.using("default").filter(pk=book.pk).exists()


@needs_server_db
def test_two_writers_reading_the_same_lagging_replica_cannot_both_win():
    book = BookFactory(title="start")
    with lagging_replica():
        first, second = Book.objects.get(pk=book.pk), Book.objects.get(pk=book.pk)
        first.title, second.title = "first", "second"
        first.save()
        assert Book.objects.get(pk=book.pk).version == 1  # the replica never saw it
        with pytest.raises(StaleObjectError):
            second.save()
    row = Book.objects.using("default").get(pk=book.pk)
    assert (row.title, row.version) == ("first", 2)


# -- the same through the API (/api/customers/<pk>/) ----------------------------------------------


def _customer(**fields: str) -> Customer:
    values = {"customer_id": "M1", "given_name": "Ada", "family_name": "Lovelace"} | fields
    return Customer.objects.create(**values)


def _patch(pk: int, if_match: str, notes: str) -> Any:
    return Client().patch(
        f"/api/customers/{pk}/",
        data={"notes": notes},
        content_type="application/json",
        headers={"If-Match": if_match},
    )


def test_the_api_reads_from_the_replica_and_writes_to_the_primary():
    customer = _customer()
    with captured() as (primary, replica):
        response = _patch(customer.pk, '"1"', "mine")
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert _writes(replica) == []
    assert any(q["sql"].startswith("SELECT") for q in replica.captured_queries)
    [update] = _writes(primary)
    assert "version" in update.split("WHERE", 1)[1]
    assert Customer.objects.using("default").get(pk=customer.pk).notes == "mine"


@needs_server_db
def test_the_api_answers_412_when_a_lagging_replica_has_not_seen_the_tag_yet():
    customer = _customer()
    with lagging_replica():
        assert Customer.objects.get(pk=customer.pk).version == 1  # the snapshot is taken
        Customer.objects.using("default").update_if_version(customer.pk, 1, notes="theirs")
        # The client read version 2 from the primary; the replica still says 1.
        response = _patch(customer.pk, '"2"', "mine")
    assert response.status_code == 412
    assert response["Content-Type"] == "application/problem+json"
    row = Customer.objects.using("default").get(pk=customer.pk)
    assert (row.notes, row.version) == ("theirs", 2)


@needs_server_db
def test_a_stale_tag_that_a_lagging_replica_still_matches_is_a_412_not_a_lost_update():
    customer = _customer()
    with lagging_replica():
        assert Customer.objects.get(pk=customer.pk).version == 1
        Customer.objects.using("default").update_if_version(customer.pk, 1, notes="theirs")
        # The precondition passes against the replica's version 1; the compare-and-set
        # on the primary finds version 2 and writes nothing.
        response = _patch(customer.pk, '"1"', "mine")
        deleted = Client().delete(f"/api/customers/{customer.pk}/", headers={"If-Match": '"1"'})
    assert response.status_code == 412
    assert response.json()["reason"] == "concurrent-write"
    # The 412 names the primary's current tag, not the replica's.
    assert response["ETag"] == '"2"'
    assert deleted.status_code == 412
    row = Customer.objects.using("default").get(pk=customer.pk)
    assert (row.notes, row.version) == ("theirs", 2)
