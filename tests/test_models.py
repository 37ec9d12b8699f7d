"""VersionedModel: save() and delete() are compare-and-set writes."""

from __future__ import annotations

import copy
import logging

import pytest
from asgiref.sync import async_to_sync
from django.core import serializers
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save, pre_delete
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_etag_lock.exceptions import (
    ObjectDeletedError,
    StaleObjectError,
    VersionFieldError,
)
from django_etag_lock.models import VersionField, unchecked
from tests.factories import BookFactory, RestaurantFactory, ShelfFactory
from tests.testapp.models import Book, BookProxy, Dog, Place, PlainBook, Restaurant, ShelfItem

pytestmark = pytest.mark.django_db


def _other_copy(obj):
    """The same row loaded independently, as a second user would have it."""
    return type(obj)._base_manager.get(pk=obj.pk)


def _data_queries(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries]


# -- creation -------------------------------------------------------------------------


def test_new_rows_start_at_version_1():
    book = Book.objects.create(title="Dune")
    assert book.version == 1
    assert Book.objects.get(pk=book.pk).version == 1


def test_version_field_is_a_positive_big_integer_that_forms_cannot_edit():
    field = Book._meta.get_field("version")
    assert isinstance(field, VersionField)
    assert field.get_internal_type() == "PositiveBigIntegerField"
    assert field.editable is False
    assert field.default == 1


# -- save() ---------------------------------------------------------------------------


def test_save_is_one_update_statement_with_the_version_in_where_and_set():
    book = BookFactory()
    book.title = "Changed"
    with CaptureQueriesContext(connection) as ctx:
        book.save()
    sql = _data_queries(ctx)
    assert len(sql) == 1
    assert sql[0].startswith("UPDATE")
    where = sql[0].split("WHERE", 1)[1]
    assert "version" in where
    assert book.version == 2
    assert Book.objects.get(pk=book.pk).title == "Changed"


def test_plain_model_save_costs_the_same_one_query():
    plain = PlainBook.objects.create(title="x")
    book = BookFactory()
    with CaptureQueriesContext(connection) as plain_ctx:
        plain.save()
    with CaptureQueriesContext(connection) as ctx:
        book.save()
    assert len(ctx.captured_queries) == len(plain_ctx.captured_queries) == 1


def test_each_save_bumps_the_version_by_exactly_one():
    book = BookFactory()
    for expected in range(2, 7):
        book.save()
        assert book.version == expected
    assert Book.objects.get(pk=book.pk).version == 6


def test_stale_save_raises_and_writes_nothing():
    book = BookFactory(title="Original")
    theirs = _other_copy(book)
    theirs.title = "Theirs"
    theirs.save()

    book.title = "Mine"
    with pytest.raises(StaleObjectError) as excinfo:
        book.save()
    error = excinfo.value
    assert error.model is Book
    assert error.pk == book.pk
    assert error.expected_version == 1
    assert error.current_version == 2
    row = Book.objects.get(pk=book.pk)
    assert (row.title, row.version) == ("Theirs", 2)


def test_stale_save_costs_one_update_and_one_look():
    book = BookFactory()
    _other_copy(book).save()
    with CaptureQueriesContext(connection) as ctx, pytest.raises(StaleObjectError):
        book.save()
    sql = _data_queries(ctx)
    assert len(sql) == 2
    assert sql[0].startswith("UPDATE")
    assert sql[1].startswith("SELECT")


def test_stale_instance_is_left_exactly_as_it_was():
    book = BookFactory(title="Original")
    _other_copy(book).save()
    book.title = "Mine"
    before = copy.copy(book.__dict__)
    before.pop("_state")
    with pytest.raises(StaleObjectError):
        book.save()
    after = copy.copy(book.__dict__)
    after.pop("_state")
    assert after == before  # version, title and even auto_now's updated_at untouched


def test_saving_the_same_stale_object_again_fails_again_and_never_overwrites():
    book = BookFactory(title="Original")
    theirs = _other_copy(book)
    theirs.title = "Theirs"
    theirs.save()
    book.title = "Mine"
    for _ in range(3):
        with pytest.raises(StaleObjectError):
            book.save()
    assert Book.objects.get(pk=book.pk).title == "Theirs"


def test_save_of_a_row_deleted_meanwhile_raises_the_distinct_subclass_and_does_not_reinsert():
    book = BookFactory()
    Book.objects.filter(pk=book.pk).delete()
    book.title = "Mine"
    with pytest.raises(ObjectDeletedError) as excinfo:
        book.save()
    assert isinstance(excinfo.value, StaleObjectError)
    assert excinfo.value.current_version is None
    assert not Book.objects.filter(pk=book.pk).exists()


def test_update_fields_adds_the_version_and_is_checked():
    book = BookFactory(title="Original", pages=10)
    book.pages = 11
    with CaptureQueriesContext(connection) as ctx:
        book.save(update_fields=["pages"])
    assert len(ctx.captured_queries) == 1
    assert book.version == 2
    row = Book.objects.get(pk=book.pk)
    assert (row.pages, row.version) == (11, 2)

    stale = Book.objects.get(pk=book.pk)
    _other_copy(book).save()
    stale.pages = 99
    with pytest.raises(StaleObjectError):
        stale.save(update_fields=["pages"])
    assert Book.objects.get(pk=book.pk).pages == 11


def test_empty_update_fields_is_still_a_no_op():
    book = BookFactory()
    with CaptureQueriesContext(connection) as ctx:
        book.save(update_fields=[])
    assert ctx.captured_queries == []
    assert book.version == 1


def test_force_update_of_a_stale_row_raises_stale_not_not_updated():
    book = BookFactory()
    _other_copy(book).save()
    with pytest.raises(StaleObjectError):
        book.save(force_update=True)


def test_saving_with_the_version_deferred_raises_a_clear_error():
    book = BookFactory(title="Original")
    partial = Book.objects.defer("version").get(pk=book.pk)
    partial.title = "Mine"
    with pytest.raises(VersionFieldError, match="deferred"):
        partial.save()
    only = Book.objects.only("title").get(pk=book.pk)
    with pytest.raises(VersionFieldError, match=r"testapp\.Book"):
        only.save()
    assert Book.objects.get(pk=book.pk).title == "Original"


def test_a_partly_loaded_instance_with_the_version_loaded_is_checked():
    book = BookFactory(title="Original")
    partial = Book.objects.only("title", "version").get(pk=book.pk)
    _other_copy(book).save()
    partial.title = "Mine"
    with pytest.raises(StaleObjectError):
        partial.save()


def test_new_instance_with_an_explicit_pk_is_inserted_at_version_1():
    book = Book(pk=4242, title="Explicit")
    book.save()
    assert Book.objects.get(pk=4242).version == 1


def test_new_instance_with_the_pk_of_a_row_at_another_version_never_overwrites_it():
    from django.db import IntegrityError

    book = BookFactory(title="Original")
    book.save()  # now at version 2
    clash = Book(pk=book.pk, title="Clash")  # claims version 1
    with pytest.raises(IntegrityError), transaction.atomic():
        clash.save()
    assert Book.objects.get(pk=book.pk).title == "Original"


def test_raw_saves_from_fixtures_are_not_blocked_and_keep_the_fixture_version():
    book = BookFactory(title="Original")
    book.save()
    book.save()  # version 3
    data = serializers.serialize(
        "json", [Book(pk=book.pk, title="From fixture", version=7, updated_at=timezone.now())]
    )
    for obj in serializers.deserialize("json", data):
        obj.save()
    row = Book.objects.get(pk=book.pk)
    assert (row.title, row.version) == ("From fixture", 7)


def test_loaddata_style_insert_of_a_new_row_keeps_its_version():
    data = serializers.serialize(
        "json", [Book(pk=777, title="Imported", version=5, updated_at=timezone.now())]
    )
    for obj in serializers.deserialize("json", data):
        obj.save()
    assert Book.objects.get(pk=777).version == 5


# -- delete() -------------------------------------------------------------------------


def test_delete_is_one_delete_statement_with_the_version_in_where():
    book = BookFactory()
    with CaptureQueriesContext(connection) as ctx:
        result = book.delete()
    sql = _data_queries(ctx)
    assert len(sql) == 1
    assert sql[0].startswith("DELETE")
    assert "version" in sql[0].split("WHERE", 1)[1]
    assert result == (1, {"testapp.Book": 1})
    assert book.pk is None
    assert not Book.objects.exists()


def test_plain_model_delete_costs_the_same_one_query():
    plain = PlainBook.objects.create(title="x")
    book = BookFactory()
    with CaptureQueriesContext(connection) as plain_ctx:
        plain.delete()
    with CaptureQueriesContext(connection) as ctx:
        book.delete()
    assert len(ctx.captured_queries) == len(plain_ctx.captured_queries) == 1


def test_stale_delete_raises_and_deletes_nothing():
    book = BookFactory(title="Original")
    _other_copy(book).save()
    with pytest.raises(StaleObjectError) as excinfo:
        book.delete()
    assert excinfo.value.current_version == 2
    assert book.pk is not None
    assert Book.objects.filter(pk=book.pk).exists()


def test_delete_of_a_row_already_deleted_raises_object_deleted():
    book = BookFactory()
    _other_copy(book).delete()
    with pytest.raises(ObjectDeletedError):
        book.delete()


def test_delete_with_the_version_deferred_raises_a_clear_error():
    book = BookFactory()
    partial = Book.objects.defer("version").get(pk=book.pk)
    with pytest.raises(VersionFieldError):
        partial.delete()
    assert Book.objects.filter(pk=book.pk).exists()


def test_delete_with_cascades_is_checked_and_cascades_when_fresh():
    shelf = ShelfFactory()
    ShelfItem.objects.create(shelf=shelf, label="a")
    stale = _other_copy(shelf)
    shelf.name = "renamed"
    shelf.save()
    with pytest.raises(StaleObjectError):
        stale.delete()
    assert ShelfItem.objects.count() == 1

    deleted, per_model = shelf.delete()
    assert per_model == {"testapp.ShelfItem": 1, "testapp.Shelf": 1}
    assert deleted == 2


def test_stale_delete_fires_no_delete_signals():
    book = BookFactory()
    _other_copy(book).save()
    fired = []

    def receiver(sender, **kwargs):
        fired.append(sender)

    pre_delete.connect(receiver, sender=Book)
    post_delete.connect(receiver, sender=Book)
    try:
        with pytest.raises(StaleObjectError):
            book.delete()
        assert fired == []
        fresh = _other_copy(book)
        fresh.delete()
        assert fired == [Book, Book]
    finally:
        pre_delete.disconnect(receiver, sender=Book)
        post_delete.disconnect(receiver, sender=Book)


def test_stale_save_fires_no_post_save_signal():
    book = BookFactory()
    _other_copy(book).save()
    fired = []

    def receiver(sender, **kwargs):
        fired.append(kwargs["instance"].version)

    post_save.connect(receiver, sender=Book)
    try:
        with pytest.raises(StaleObjectError):
            book.save()
        assert fired == []
        fresh = _other_copy(book)
        fresh.save()
        assert fired == [3]  # post_save receivers see the new version
    finally:
        post_save.disconnect(receiver, sender=Book)


# -- inheritance ----------------------------------------------------------------------


def test_multi_table_child_save_is_checked_on_the_parent_table():
    restaurant = RestaurantFactory(serves="soup")
    stale = Restaurant.objects.get(pk=restaurant.pk)
    restaurant.serves = "bread"
    restaurant.save()
    assert restaurant.version == 2

    stale.serves = "pizza"
    stale.name = "Stale"
    with pytest.raises(StaleObjectError):
        stale.save()
    row = Restaurant.objects.get(pk=restaurant.pk)
    assert (row.serves, row.version) == ("bread", 2)
    assert row.name != "Stale"


def test_multi_table_child_delete_is_checked():
    restaurant = RestaurantFactory()
    stale = Restaurant.objects.get(pk=restaurant.pk)
    restaurant.save()
    with pytest.raises(StaleObjectError):
        stale.delete()
    assert Restaurant.objects.filter(pk=restaurant.pk).exists()
    restaurant.delete()
    assert not Place.objects.filter(pk=stale.pk).exists()


def test_parent_and_child_share_one_version():
    restaurant = RestaurantFactory()
    place = Place.objects.get(pk=restaurant.pk)
    place.name = "Renamed via parent"
    place.save()
    restaurant.serves = "stale write"
    with pytest.raises(StaleObjectError):
        restaurant.save()


def test_versioned_child_of_an_unversioned_parent_rolls_back_the_parent_row():
    dog = Dog.objects.create(name="Rex", breed="collie")
    stale = Dog.objects.get(pk=dog.pk)
    dog.breed = "beagle"
    dog.save()
    stale.name = "Stale name"
    stale.breed = "pug"
    with pytest.raises(StaleObjectError):
        stale.save()
    row = Dog.objects.get(pk=dog.pk)
    assert (row.name, row.breed, row.version) == ("Rex", "beagle", 2)


def test_proxy_models_are_protected():
    book = BookFactory()
    proxy = BookProxy.objects.get(pk=book.pk)
    book.save()
    proxy.title = "Stale"
    with pytest.raises(StaleObjectError) as excinfo:
        proxy.save()
    assert excinfo.value.model is BookProxy
    with pytest.raises(StaleObjectError):
        proxy.delete()


# -- async ----------------------------------------------------------------------------


def test_asave_and_adelete_are_checked():
    book = BookFactory(title="Original")
    stale = _other_copy(book)

    async def scenario():
        book.title = "Async"
        await book.asave()
        stale.title = "Stale"
        with pytest.raises(StaleObjectError):
            await stale.asave()
        with pytest.raises(StaleObjectError):
            await stale.adelete()
        await book.adelete()

    # async_to_sync runs the ORM calls on this thread, inside the test's transaction.
    async_to_sync(scenario)()
    assert not Book.objects.filter(title="Stale").exists()
    assert not Book.objects.exists()


# -- unchecked() ----------------------------------------------------------------------


def test_unchecked_save_skips_the_check_but_still_bumps_the_version_and_logs(caplog):
    book = BookFactory(title="Original")
    theirs = _other_copy(book)
    theirs.save()  # the row is at version 2, book still says 1
    book.title = "Trusted job"
    with caplog.at_level(logging.INFO, logger="django_etag_lock"), unchecked("nightly import"):
        book.save()
    row = Book.objects.get(pk=book.pk)
    assert (row.title, row.version) == ("Trusted job", 3)
    assert book.version == 3  # reloaded (RETURNING or a lazy refresh)
    assert any("nightly import" in r.getMessage() for r in caplog.records)


def test_unchecked_delete_skips_the_check_and_logs(caplog):
    book = BookFactory()
    _other_copy(book).save()
    with caplog.at_level(logging.INFO, logger="django_etag_lock"), unchecked("cleanup"):
        book.delete()
    assert not Book.objects.exists()
    assert any("cleanup" in r.getMessage() for r in caplog.records)


def test_unchecked_needs_a_reason():
    with pytest.raises(ValueError, match="reason"), unchecked(""):
        pass


def test_unchecked_is_scoped_to_the_block():
    book = BookFactory()
    with unchecked("one write"):
        pass
    _other_copy(book).save()
    with pytest.raises(StaleObjectError):
        book.save()


def test_unchecked_does_not_leak_into_other_threads():
    import threading

    book = BookFactory()
    _other_copy(book).save()
    seen = []

    def other_thread():
        from django_etag_lock.querysets import unchecked_reason

        seen.append(unchecked_reason())

    with unchecked("this thread only"):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert seen == [None]


def test_unchecked_save_of_a_partly_loaded_instance_bumps_the_version():
    book = BookFactory(title="Original")
    partial = Book.objects.only("title").get(pk=book.pk)
    partial.title = "Trusted"
    with unchecked("backfill"):
        partial.save()
    row = Book.objects.get(pk=book.pk)
    assert (row.title, row.version) == ("Trusted", 2)


# -- multiple databases ---------------------------------------------------------------


def test_stale_lookup_uses_the_instances_database(django_assert_num_queries):
    book = BookFactory()
    assert book._state.db == "default"
    _other_copy(book).save()
    with django_assert_num_queries(2, using="default"), pytest.raises(StaleObjectError):
        book.save(using="default")
