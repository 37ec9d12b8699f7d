"""Strict isolation and conflicts after the commit, over DRF.

A write the database refuses for a concurrent transaction (PostgreSQL 40001, MariaDB
1213) is a 412 that offers no tag, never a 500, also under ATOMIC_REQUESTS where the
transaction is already aborted; racing writers at READ COMMITTED, REPEATABLE READ and
SERIALIZABLE have one winner and 412s for the rest. A conflict raised after the write
committed is not reported as "nothing was written".
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.db.models.signals import post_save
from rest_framework.test import APIClient

from django_etag_lock.exceptions import StaleObjectError
from tests.factories import BookFactory
from tests.rest_framework.helpers import book_url, bump, problem, stored
from tests.testapp.models import Book
from tests.testapp.views import BookViewSet
from tests.utils import needs_server_db

LEVELS = ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"]


@pytest.fixture
def atomic_requests(monkeypatch) -> None:
    """ATOMIC_REQUESTS for the default database, as Django's handler reads it."""
    monkeypatch.setitem(connections.settings["default"], "ATOMIC_REQUESTS", True)


@pytest.fixture
def other() -> Iterator[Any]:
    conn = connections.create_connection("default")
    conn.ensure_connection()
    try:
        yield conn
    finally:
        conn.close()


# -- conflicts after the commit ----------------------------------------------------------


@pytest.fixture
def stale_write_after_commit() -> Iterator[Book]:
    """A post_save receiver of Book whose on_commit callback saves a stale other row."""
    other_book = BookFactory(title="other")
    stale = Book.objects.get(pk=other_book.pk)
    bump(other_book)

    def receiver(sender: Any, instance: Book, **kwargs: Any) -> None:
        if instance.pk != other_book.pk and not kwargs["created"]:
            transaction.on_commit(stale.save)

    post_save.connect(receiver, sender=Book, dispatch_uid="test-after-commit")
    try:
        yield other_book
    finally:
        post_save.disconnect(sender=Book, dispatch_uid="test-after-commit")


@pytest.mark.django_db(transaction=True)
def test_conflict_in_an_on_commit_callback_says_the_write_is_in(api, stale_write_after_commit):
    book = BookFactory(title="before")
    response = api.patch(book_url(book.pk), {"title": "after"}, HTTP_IF_MATCH='"1"')
    body = problem(response)
    assert response.status_code == 500
    assert body["reason"] == "written-then-failed"
    assert body["type"] == "urn:django-etag-lock:problem:written-then-failed"
    assert "Your change was saved" in body["detail"]
    assert "nothing was written" not in body["detail"]
    assert response["ETag"] == '"2"'
    assert body["written_etag"] == '"2"'
    row = stored(book)
    assert (row.title, row.version) == ("after", 2)


@pytest.mark.django_db(transaction=True)
def test_conflict_after_an_unguarded_write_committed_says_the_write_is_in(api, settings):
    settings.ETAG_LOCK_ATOMIC_WRITES = False
    other_book = BookFactory(title="other")
    stale = Book.objects.get(pk=other_book.pk)
    bump(other_book)

    def receiver(sender: Any, instance: Book, **kwargs: Any) -> None:
        if instance.pk != other_book.pk and not kwargs["created"]:
            stale.save()  # no transaction: this book's UPDATE is already committed

    post_save.connect(receiver, sender=Book, dispatch_uid="test-unguarded")
    try:
        book = BookFactory(title="before")
        response = api.patch(book_url(book.pk), {"title": "after"}, HTTP_IF_MATCH='"1"')
    finally:
        post_save.disconnect(sender=Book, dispatch_uid="test-unguarded")
    assert response.status_code == 500
    assert problem(response)["reason"] == "written-then-failed"
    assert response["ETag"] == '"2"'
    assert stored(book).title == "after"


@pytest.mark.django_db(transaction=True)
def test_conflict_before_the_commit_is_still_a_412_and_writes_nothing(api):
    other_book = BookFactory(title="other")
    stale = Book.objects.get(pk=other_book.pk)
    bump(other_book)

    def receiver(sender: Any, instance: Book, **kwargs: Any) -> None:
        if instance.pk != other_book.pk and not kwargs["created"]:
            stale.save()  # inside the view's transaction: everything is rolled back

    post_save.connect(receiver, sender=Book, dispatch_uid="test-before-commit")
    try:
        book = BookFactory(title="before")
        response = api.patch(book_url(book.pk), {"title": "after"}, HTTP_IF_MATCH='"1"')
    finally:
        post_save.disconnect(sender=Book, dispatch_uid="test-before-commit")
    assert response.status_code == 412
    assert "nothing was written" in problem(response)["detail"]
    assert (stored(book).title, stored(book).version) == ("before", 1)


# -- refusals for a concurrent transaction -----------------------------------------------


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("level", ["REPEATABLE READ", "SERIALIZABLE"])
def test_refused_write_under_atomic_requests_is_a_412_without_a_tag(
    api, atomic_requests, other, monkeypatch, level
):
    book = BookFactory(title="before")
    initial, check = BookViewSet.initial, BookViewSet.check_preconditions

    def begin_strict(self, request, *args, **kwargs):
        with connection.cursor() as cursor:  # the request transaction's first statement
            cursor.execute(f"SET TRANSACTION ISOLATION LEVEL {level}")
        return initial(self, request, *args, **kwargs)

    def check_then_lose(self, instance):
        check(self, instance)
        with other.cursor() as cursor:  # another request commits after our snapshot
            cursor.execute(
                "UPDATE testapp_book SET title = 'theirs', version = version + 1 WHERE id = %s",
                [instance.pk],
            )

    monkeypatch.setattr(BookViewSet, "initial", begin_strict)
    monkeypatch.setattr(BookViewSet, "check_preconditions", check_then_lose)
    response = api.patch(book_url(book.pk), {"title": "mine"}, HTTP_IF_MATCH='"1"')
    body = problem(response)
    assert response.status_code == 412
    assert body["reason"] == "concurrent-write"
    assert "refused" in body["detail"]
    assert "ETag" not in response
    assert "current_etag" not in body
    row = stored(book)
    assert (row.title, row.version) == ("theirs", 2)


@needs_server_db
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("refused", ["get_object", "is_valid"])
def test_refusal_of_another_statement_of_a_write_is_a_412(api, monkeypatch, refused):
    """SERIALIZABLE may refuse a read of the request (get_object(), a unique check)."""
    book = BookFactory(title="before")

    class Refusal(Exception):
        sqlstate = "40001"  # psycopg

    error = OperationalError(1213, "Deadlock found when trying to get lock")  # MariaDB
    error.__cause__ = Refusal()

    def refuse(self, *args, **kwargs):
        raise error

    owner = BookViewSet if refused == "get_object" else BookViewSet.serializer_class
    monkeypatch.setattr(owner, refused, refuse)
    response = api.patch(book_url(book.pk), {"title": "mine"}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert problem(response)["reason"] == "concurrent-write"
    assert stored(book).title == "before"


# -- races at each isolation level -------------------------------------------------------


@pytest.mark.race
@needs_server_db
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("atomic", [False, True], ids=["", "atomic-requests"])
@pytest.mark.parametrize("level", LEVELS)
def test_racing_patches_lose_as_412s_at_every_isolation_level(monkeypatch, level, atomic):
    if atomic:
        monkeypatch.setitem(connections.settings["default"], "ATOMIC_REQUESTS", True)
    threads_count, rounds = 6, 5
    book = BookFactory()
    reasons: Counter[str] = Counter()
    for round_no in range(rounds):
        tag = f'"{stored(book).version}"'
        barrier = threading.Barrier(threads_count)
        answers: list[Any] = [None] * threads_count

        def work(
            i: int,
            tag: str = tag,
            round_no: int = round_no,
            barrier: Any = barrier,
            answers: list[Any] = answers,
        ) -> None:
            try:
                with connection.cursor() as cursor:
                    statement = (
                        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL"
                        if connection.vendor == "postgresql"
                        else "SET SESSION TRANSACTION ISOLATION LEVEL"
                    )
                    cursor.execute(f"{statement} {level}")
                barrier.wait(timeout=30)
                answers[i] = APIClient().patch(
                    book_url(book.pk),
                    {"title": f"{round_no}-{i}"},
                    HTTP_IF_MATCH=tag,
                    format="json",
                )
            except Exception as exc:  # asserted below
                answers[i] = exc
            finally:
                connection.close()

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        statuses = [getattr(a, "status_code", a) for a in answers]
        assert sorted(statuses, key=str) == [200] + [412] * (threads_count - 1), statuses
        reasons.update(problem(a)["reason"] for a in answers if a.status_code == 412)
        winner = statuses.index(200)
        assert stored(book).title == f"{round_no}-{winner}"
    assert stored(book).version == 1 + rounds
    assert set(reasons) <= {"if-match-failed", "concurrent-write"}


def test_stale_object_error_knows_whether_the_transaction_was_aborted():
    error = StaleObjectError(Book, 1, 2, None, True)
    assert error.transaction_aborted
    assert "roll it back" in str(error)


@pytest.mark.django_db(transaction=True)
def test_conflict_after_the_commit_answers_in_german(api, stale_write_after_commit):
    book = BookFactory(title="before")
    response = api.patch(
        book_url(book.pk), {"title": "after"}, HTTP_IF_MATCH='"1"', HTTP_ACCEPT_LANGUAGE="de"
    )
    body = problem(response)
    assert body["title"] == "Gespeichert, dann schlug ein späterer Schritt fehl"
    assert body["detail"].startswith("Ihre Änderung wurde gespeichert")
