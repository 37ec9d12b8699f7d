"""Strict isolation loses as stale: when the database refuses a compare-and-set for a
concurrent update (PostgreSQL 40001, MariaDB 1213 / lock wait timeout), the writer gets
StaleObjectError, never an OperationalError. Deterministic cases with a second connection,
then real races at READ COMMITTED, REPEATABLE READ and SERIALIZABLE."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction

from django_etag_lock.exceptions import (
    ObjectDeletedError,
    StaleObjectError,
    StaleObjectsError,
)
from tests.testapp.models import Book, Place, Restaurant
from tests.utils import needs_server_db

pytestmark = [needs_server_db, pytest.mark.django_db(transaction=True)]

LEVELS = ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"]
THREADS = 8
ROUNDS = 10


def _begin(level: str) -> None:
    """PostgreSQL: the isolation level of the transaction just begun (its first statement)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET TRANSACTION ISOLATION LEVEL {level}")


def _set_isolation(conn: Any, level: str) -> None:
    """For the session: autocommit statements and every later transaction."""
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(f"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {level}")
        else:
            cursor.execute(f"SET SESSION TRANSACTION ISOLATION LEVEL {level}")


@pytest.fixture
def other() -> Iterator[Any]:
    """A second connection to the test database, autocommit, as another process has."""
    conn = connections.create_connection("default")
    conn.ensure_connection()
    try:
        yield conn
    finally:
        conn.close()


def _bump_elsewhere(conn: Any, book: Book, title: str = "theirs") -> None:
    with conn.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Book._meta.db_table} SET title = %s, version = version + 1 WHERE id = %s",
            [title, book.pk],
        )


pg_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL")
mysql_only = pytest.mark.skipif("connection.vendor != 'mysql'", reason="MariaDB/MySQL")


# -- deterministic: PostgreSQL REPEATABLE READ -------------------------------------------


@pg_only
@pytest.mark.parametrize("level", ["REPEATABLE READ", "SERIALIZABLE"])
def test_serialization_failure_of_save_is_stale_and_marks_the_transaction_aborted(other, level):
    book = Book.objects.create(title="start")
    with transaction.atomic():
        _begin(level)
        mine = Book.objects.get(pk=book.pk)  # the snapshot
        _bump_elsewhere(other, book)
        mine.title = "mine"
        with pytest.raises(StaleObjectError) as info:
            mine.save()
        assert connection.needs_rollback  # the server aborted it: no set_rollback(False)
    error = info.value
    assert not isinstance(error, ObjectDeletedError)
    assert (error.expected_version, error.current_version) == (1, None)
    assert error.transaction_aborted
    assert "roll it back" in str(error)
    assert (mine.title, mine.version) == ("mine", 1)
    assert Book.objects.get(pk=book.pk).title == "theirs"


@pg_only
def test_refused_lookup_of_the_current_version_after_a_lost_write_is_stale(other):
    book = Book.objects.create(title="start")
    mine = Book.objects.get(pk=book.pk)  # version 1
    _bump_elsewhere(other, book)  # 2: mine is stale before the transaction starts
    with transaction.atomic():
        _begin("REPEATABLE READ")
        assert Book.objects.get(pk=book.pk).version == 2  # the snapshot
        _bump_elsewhere(other, book)  # 3, after the snapshot
        mine.title = "mine"
        with pytest.raises(StaleObjectError) as info:
            mine.save()  # matches no row; the locking look-up of the version is refused
        assert connection.needs_rollback
    assert (info.value.current_version, info.value.transaction_aborted) == (None, True)
    assert Book.objects.get(pk=book.pk).version == 3


@pg_only
def test_serialization_failure_inside_a_savepoint_leaves_the_outer_transaction_usable(other):
    book = Book.objects.create(title="start")
    with transaction.atomic():
        _begin("REPEATABLE READ")
        mine = Book.objects.get(pk=book.pk)
        _bump_elsewhere(other, book)
        with pytest.raises(StaleObjectError), transaction.atomic():
            Book.objects.update_if_version(book.pk, 1, title="mine")
        assert not connection.needs_rollback
        assert Book.objects.filter(pk=book.pk).exists()  # still querying (its snapshot)
    assert mine.version == 1


@pg_only
@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda b: Book.objects.update_if_version(b.pk, 1, title="x"), id="update_if"),
        pytest.param(lambda b: Book.objects.delete_if_version(b.pk, 1), id="delete_if"),
        pytest.param(lambda b: b.delete(), id="delete"),
    ],
)
def test_serialization_failure_of_every_compare_and_set_is_stale(other, write):
    book = Book.objects.create(title="start")
    with transaction.atomic():
        _begin("REPEATABLE READ")
        mine = Book.objects.get(pk=book.pk)
        _bump_elsewhere(other, book)
        with pytest.raises(StaleObjectError) as info:
            write(mine)
    assert info.value.current_version is None
    assert Book.objects.get(pk=book.pk).version == 2


@pg_only
def test_serialization_failure_of_bulk_update_reports_every_object_stale(other):
    books = [Book.objects.create(title=str(i)) for i in range(3)]
    with transaction.atomic():
        _begin("REPEATABLE READ")
        mine = list(Book.objects.order_by("pk"))
        _bump_elsewhere(other, books[1])
        for book in mine:
            book.pages = 9
        with pytest.raises(StaleObjectsError) as info:
            Book.objects.bulk_update(mine, ["pages"])
        # bulk_update's own savepoint was rolled back: the caller's transaction lives on
        assert not info.value.stale[0].transaction_aborted
        assert Book.objects.count() == 3
    assert info.value.updated == 0
    assert [e.pk for e in info.value.stale] == [b.pk for b in books]
    assert sorted(Book.objects.values_list("pages", flat=True)) == [0, 0, 0]


@pg_only
def test_serialization_failure_of_a_multi_table_save_is_stale(other):
    place = Restaurant.objects.create(name="p", serves="x")
    with transaction.atomic():
        _begin("REPEATABLE READ")
        mine = Restaurant.objects.get(pk=place.pk)
        with other.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Place._meta.db_table} SET version = version + 1 WHERE id = %s",
                [place.pk],
            )
        mine.serves = "y"
        with pytest.raises(StaleObjectError) as info:
            mine.save()
        assert not info.value.transaction_aborted  # our savepoint took the refusal
        assert not connection.needs_rollback
    assert Restaurant.objects.get(pk=place.pk).serves == "x"


# -- deterministic: MariaDB lock wait on our own statement -------------------------------


@mysql_only
@pytest.mark.parametrize("atomic", [False, True], ids=["autocommit", "atomic"])
def test_lock_wait_timeout_on_the_compare_and_set_is_stale(other, atomic):
    book = Book.objects.create(title="start")
    mine = Book.objects.get(pk=book.pk)
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
    other.set_autocommit(False)
    try:
        _bump_elsewhere(other, book)  # holds the row lock, not committed
        mine.title = "mine"
        with (
            pytest.raises(StaleObjectError) as info,
            transaction.atomic(durable=False) if atomic else nullcontext(),
        ):
            mine.save()
    finally:
        other.rollback()
        other.set_autocommit(True)
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = DEFAULT")
    assert info.value.current_version is None
    assert not info.value.transaction_aborted  # only the statement was rolled back
    assert Book.objects.get(pk=book.pk).title == "start"


# -- races at each isolation level -------------------------------------------------------

TALLY: Counter[tuple[str, str, str]] = Counter()


def _race(level: str, work: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(THREADS)
    outcomes: list[object] = [None] * THREADS

    def runner(i: int) -> None:
        try:
            _set_isolation(connection, level)
            barrier.wait(timeout=30)
            outcomes[i] = work(i)
        except Exception as exc:  # recorded and asserted on by the caller
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def _kind(outcome: object) -> str:
    """How a loser lost: its statement matched no row, or the database refused it."""
    if isinstance(outcome, ObjectDeletedError):
        return "row deleted"
    cause = getattr(outcome, "__cause__", None)
    if isinstance(cause, DatabaseError):
        code = getattr(cause.__cause__, "sqlstate", None) or (cause.args or ["?"])[0]
        return f"refused {code}"
    return "no row matched"


def _check_round(test: str, level: str, outcomes: list[object], won: type) -> object:
    winners = [o for o in outcomes if isinstance(o, won)]
    assert len(winners) == 1, outcomes
    losers = [o for o in outcomes if not isinstance(o, won)]
    assert all(isinstance(o, StaleObjectError) for o in losers), outcomes
    for loser in losers:
        TALLY[(connection.vendor, level, test, _kind(loser))] += 1  # type: ignore[index]
    return winners[0]


@pytest.fixture(scope="module", autouse=True)
def _print_tally() -> Iterator[None]:
    yield
    for key, count in sorted(TALLY.items()):
        print("race losers", *key, count)


@pytest.mark.race
@pytest.mark.parametrize("level", LEVELS)
def test_racing_saves_in_transactions_lose_as_stale_at_every_isolation_level(level):
    book = Book.objects.create(title="start")
    for round_no in range(ROUNDS):
        version = Book.objects.get(pk=book.pk).version
        copies = [Book.objects.get(pk=book.pk) for _ in range(THREADS)]

        def work(i: int, copies: list[Book] = copies, round_no: int = round_no) -> str:
            with transaction.atomic():
                Book.objects.filter(pk=book.pk).exists()  # a read first: the snapshot
                copies[i].title = f"{round_no}-{i}"
                copies[i].save()
            return copies[i].title

        winner = _check_round("save", level, _race(level, work), str)
        row = Book.objects.get(pk=book.pk)
        assert (row.title, row.version) == (winner, version + 1)


@pytest.mark.race
@pytest.mark.parametrize("level", LEVELS)
def test_racing_update_if_version_loses_as_stale_at_every_isolation_level(level):
    book = Book.objects.create(title="start")
    for round_no in range(ROUNDS):
        version = Book.objects.get(pk=book.pk).version

        def work(i: int, version: int = version, round_no: int = round_no) -> int:
            with transaction.atomic():
                Book.objects.filter(pk=book.pk).exists()
                return Book.objects.update_if_version(book.pk, version, title=f"{round_no}-{i}")

        assert _check_round("update_if_version", level, _race(level, work), int) == version + 1
        assert Book.objects.get(pk=book.pk).version == version + 1


@pytest.mark.race
@pytest.mark.parametrize("level", LEVELS)
def test_racing_saves_and_deletes_lose_as_stale_at_every_isolation_level(level):
    for round_no in range(ROUNDS):
        book = Book.objects.create(title="start")
        copies = [Book.objects.get(pk=book.pk) for _ in range(THREADS)]

        def work(
            i: int, copies: list[Book] = copies, round_no: int = round_no, pk: int = book.pk
        ) -> str:
            with transaction.atomic():
                Book.objects.filter(pk=pk).exists()
                if i % 2:
                    copies[i].delete()
                    return "deleted"
                copies[i].title = f"{round_no}-{i}"
                copies[i].save()
                return copies[i].title

        winner = _check_round("save+delete", level, _race(level, work), str)
        rows = list(Book.objects.filter(pk=book.pk).values_list("title", "version"))
        assert rows == ([] if winner == "deleted" else [(winner, 2)])
