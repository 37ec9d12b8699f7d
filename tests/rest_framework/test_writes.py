"""Writes through ETagLockMixin: the compare-and-set, atomicity, races lost after the check."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_delete, pre_save
from rest_framework.test import APIClient

from tests.factories import BookFactory, ShelfFactory
from tests.rest_framework.helpers import (
    book_url,
    bump,
    problem,
    side_by_side,
    stored,
)
from tests.testapp import views
from tests.testapp.models import Book, PlainBook, ShelfItem
from tests.utils import needs_server_db

pytestmark = pytest.mark.django_db


# -- A client-sent version never steers the check ------------------------------------


def test_version_and_etag_in_the_body_are_ignored(api):
    book = BookFactory()
    response = api.patch(
        book_url(book.pk),
        {"pages": 3, "version": 99, "etag": '"99"'},
        HTTP_IF_MATCH='"1"',
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert stored(book).version == 2


def test_writable_version_field_in_a_serializer_cannot_steer_the_check(api):
    book = BookFactory()
    bump(book)  # now at 2
    # The client matched version 2; a body naming 1 or 3 must not change what is compared.
    response = api.patch(
        book_url(book.pk, "writable-version-books"),
        {"pages": 3, "version": 1},
        HTTP_IF_MATCH='"2"',
        format="json",
    )
    assert response.status_code == 200
    assert stored(book).version == 3
    assert stored(book).pages == 3


def test_writable_version_field_cannot_turn_a_race_into_an_overwrite(api, monkeypatch):
    book = BookFactory()  # version 1
    original = views.WritableVersionBookViewSet.check_preconditions

    def check_then_lose_race(self, instance):
        original(self, instance)
        bump(instance)  # another writer commits version 2

    monkeypatch.setattr(
        views.WritableVersionBookViewSet, "check_preconditions", check_then_lose_race
    )
    # Claiming version 2 in the body would make "WHERE version = 2" succeed over the
    # other writer's change; the check must compare the version If-Match matched.
    response = api.patch(
        book_url(book.pk, "writable-version-books"),
        {"pages": 77, "version": 2},
        HTTP_IF_MATCH='"1"',
        format="json",
    )
    assert response.status_code == 412
    assert stored(book).pages != 77
    assert stored(book).version == 2


def test_version_in_a_create_body_is_ignored(api):
    response = api.post("/t/writable-version-books/", {"title": "n", "version": 50}, format="json")
    assert response.status_code == 201
    assert Book.objects.get(pk=response.json()["id"]).version == 1
    assert response["ETag"] == '"1"'


# -- A race lost between the check and the write is a 412 that wrote nothing ---------


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_race_lost_after_the_check_is_412_not_409_or_500(api, lose_race, method):
    book = BookFactory(title="keep")
    lose_race(views.BookViewSet)
    response = getattr(api, method)(
        book_url(book.pk), {"title": "mine"}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert response.status_code == 412
    body = problem(response)
    assert body["reason"] == "concurrent-write"
    assert body["current_etag"] == '"2"'
    assert response["ETag"] == '"2"'
    assert stored(book).title == "keep"
    assert stored(book).version == 2


def test_race_lost_to_a_delete_is_412_and_nothing_is_reinserted(api, lose_race):
    book = BookFactory()
    lose_race(views.BookViewSet, delete=True)
    response = api.patch(book_url(book.pk), {"pages": 3}, HTTP_IF_MATCH='"1"', format="json")
    assert response.status_code == 412
    body = problem(response)
    assert body["reason"] == "concurrent-delete"
    assert "current_etag" not in body
    assert not Book.objects.filter(pk=book.pk).exists()


def test_race_lost_rolls_back_nested_serializer_writes(api, lose_race):
    shelf = ShelfFactory()
    lose_race(views.ShelfViewSet)
    response = api.patch(
        f"/t/shelves/{shelf.pk}/",
        {"name": "mine", "items": [{"label": "a"}, {"label": "b"}]},
        HTTP_IF_MATCH='"1"',
        format="json",
    )
    assert response.status_code == 412
    assert not ShelfItem.objects.filter(shelf=shelf).exists()
    assert stored(shelf).name != "mine"


def test_nested_serializer_writes_are_kept_when_the_write_wins(api):
    shelf = ShelfFactory()
    response = api.patch(
        f"/t/shelves/{shelf.pk}/",
        {"name": "mine", "items": [{"label": "a"}]},
        HTTP_IF_MATCH='"1"',
        format="json",
    )
    assert response.status_code == 200
    assert ShelfItem.objects.filter(shelf=shelf).count() == 1


def test_race_lost_rolls_back_signal_receiver_writes(api, lose_race):
    book = BookFactory()

    def audit(sender, instance, **kwargs):
        PlainBook.objects.create(title=f"audit {instance.pk}")

    pre_save.connect(audit, sender=Book)
    try:
        lose_race(views.BookViewSet)
        response = api.patch(book_url(book.pk), {"pages": 3}, HTTP_IF_MATCH='"1"', format="json")
    finally:
        pre_save.disconnect(audit, sender=Book)
    assert response.status_code == 412
    assert not PlainBook.objects.exists()


def test_race_lost_on_a_cascading_delete_keeps_the_children(api, lose_race):
    shelf = ShelfFactory()
    ShelfItem.objects.create(shelf=shelf, label="stays")
    lose_race(views.ShelfViewSet)
    response = api.delete(f"/t/shelves/{shelf.pk}/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert ShelfItem.objects.filter(shelf=shelf).count() == 1


def test_race_lost_412_carries_the_current_representation_when_enabled(api, lose_race):
    book = BookFactory()
    lose_race(views.RepresentationBookViewSet)
    response = api.patch(
        book_url(book.pk, "rep-books"), {"pages": 3}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert response.status_code == 412
    body = problem(response)
    assert body["current"]["version"] == 2
    assert body["current"]["etag"] == body["current_etag"] == '"2"'


def test_create_runs_in_a_transaction(api):
    def fail(sender, instance, created, **kwargs):
        PlainBook.objects.create(title="side effect")
        raise RuntimeError("receiver failed")

    post_save.connect(fail, sender=Book)
    try:
        with pytest.raises(RuntimeError):
            api.post("/t/books/", {"title": "New"}, format="json")
    finally:
        post_save.disconnect(fail, sender=Book)
    assert not Book.objects.exists()
    assert not PlainBook.objects.exists()


def test_a_412_or_428_leaves_no_trace(api):
    book = BookFactory()
    bump(book)
    calls: list[str] = []

    def record(sender, **kwargs):
        calls.append(sender.__name__)

    for signal in (pre_save, post_save, pre_delete):
        signal.connect(record, sender=Book)
    try:
        responses = [
            api.patch(book_url(book.pk), {"pages": 3}, HTTP_IF_MATCH='"1"', format="json"),
            api.put(book_url(book.pk), {"title": "x"}, format="json"),
            api.delete(book_url(book.pk), HTTP_IF_MATCH='"1"'),
            api.delete(book_url(book.pk)),
        ]
    finally:
        for signal in (pre_save, post_save, pre_delete):
            signal.disconnect(record, sender=Book)
    assert [r.status_code for r in responses] == [412, 428, 412, 428]
    assert calls == []
    assert stored(book).version == 2


def test_stale_error_raised_outside_perform_hooks_is_still_412(api, lose_race):
    book = BookFactory()
    lose_race(views.BookViewSet)
    # touch() saves the book itself, outside perform_update().
    response = api.post(f"/t/books/{book.pk}/touch/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert problem(response)["reason"] == "concurrent-write"
    assert stored(book).version == 2


# -- Without the transaction (ETAG_LOCK_ATOMIC_WRITES = False) -----------------------


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_without_atomic_writes_a_lost_race_is_still_412_and_writes_nothing(
    api, lose_race, monkeypatch, method
):
    monkeypatch.setattr(views.BookViewSet, "etag_lock_atomic_writes", False)
    book = BookFactory(title="keep")
    lose_race(views.BookViewSet)
    response = getattr(api, method)(
        book_url(book.pk), {"title": "mine"}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert response.status_code == 412
    assert problem(response)["reason"] == "concurrent-write"
    assert (stored(book).title, stored(book).version) == ("keep", 2)


@pytest.mark.django_db(transaction=True)
def test_atomic_writes_setting_off_writes_with_plain_drfs_statements(api, settings):
    settings.ETAG_LOCK_ATOMIC_WRITES = False
    counts = side_by_side(api)
    for name, (ours, plain, ours_control, plain_control) in counts.items():
        assert ours == plain, (name, counts)
        assert sorted(ours_control) == sorted(plain_control), (name, counts)


# -- A real race over HTTP (PostgreSQL, MariaDB) -------------------------------------


@pytest.mark.race
@needs_server_db
@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_with_the_same_tag_have_exactly_one_winner():
    threads_count = 6
    book = BookFactory()
    for round_no in range(10):
        tag = f'"{stored(book).version}"'
        barrier = threading.Barrier(threads_count)
        statuses: list[int] = [0] * threads_count

        def work(
            i: int,
            tag: str = tag,
            round_no: int = round_no,
            barrier: threading.Barrier = barrier,
            statuses: list[int] = statuses,
        ) -> None:
            try:
                barrier.wait(timeout=30)
                response = APIClient().patch(
                    book_url(book.pk),
                    {"title": f"round {round_no} writer {i}"},
                    HTTP_IF_MATCH=tag,
                    format="json",
                )
                statuses[i] = response.status_code
            finally:
                connection.close()

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert sorted(statuses) == [200] + [412] * (threads_count - 1), statuses
        winner = statuses.index(200)
        assert stored(book).title == f"round {round_no} writer {winner}"
