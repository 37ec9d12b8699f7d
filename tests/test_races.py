"""Real races: K threads, each with its own database connection, write the same row
at the same version behind a barrier. Exactly one wins each round."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from django_etag_lock.exceptions import ObjectDeletedError, StaleObjectError
from tests.testapp.models import Book
from tests.utils import needs_server_db

pytestmark = [
    pytest.mark.race,
    needs_server_db,
    pytest.mark.django_db(transaction=True),
]

THREADS = 8
ROUNDS = 25


def _race(work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in THREADS threads released together; return each outcome."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[object] = [None] * THREADS

    def runner(i: int) -> None:
        try:
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


def test_racing_saves_have_exactly_one_winner_per_round_and_keep_its_data():
    book = Book.objects.create(title="start")
    for round_no in range(ROUNDS):
        version = Book.objects.get(pk=book.pk).version
        copies = [Book.objects.get(pk=book.pk) for _ in range(THREADS)]
        assert {c.version for c in copies} == {version}

        def work(i: int, copies: list[Book] = copies, round_no: int = round_no) -> str:
            copies[i].title = f"round {round_no} writer {i}"
            copies[i].save()
            return copies[i].title

        outcomes = _race(work)
        winners = [o for o in outcomes if isinstance(o, str)]
        losers = [o for o in outcomes if isinstance(o, StaleObjectError)]
        assert len(winners) == 1, outcomes
        assert len(losers) == THREADS - 1, outcomes
        assert all(e.current_version == version + 1 for e in losers)
        row = Book.objects.get(pk=book.pk)
        assert row.title == winners[0]
        assert row.version == version + 1


def test_racing_deletes_have_exactly_one_winner_per_round():
    for _ in range(ROUNDS):
        book = Book.objects.create(title="doomed")
        copies = [Book.objects.get(pk=book.pk) for _ in range(THREADS)]

        def work(i: int, copies: list[Book] = copies) -> tuple[int, dict[str, int]]:
            return copies[i].delete()

        outcomes = _race(work)
        winners = [o for o in outcomes if isinstance(o, tuple)]
        losers = [o for o in outcomes if isinstance(o, ObjectDeletedError)]
        assert winners == [(1, {"testapp.Book": 1})], outcomes
        assert len(losers) == THREADS - 1, outcomes
        assert not Book.objects.filter(pk=book.pk).exists()


def test_racing_saves_and_deletes_never_resurrect_or_lose_a_write():
    for round_no in range(ROUNDS):
        book = Book.objects.create(title="start")
        copies = [Book.objects.get(pk=book.pk) for _ in range(THREADS)]

        def work(i: int, copies: list[Book] = copies, round_no: int = round_no) -> str:
            if i % 2:
                copies[i].delete()
                return "deleted"
            copies[i].title = f"round {round_no} writer {i}"
            copies[i].save()
            return copies[i].title

        outcomes = _race(work)
        successes = [o for o in outcomes if isinstance(o, str)]
        assert len(successes) == 1, outcomes
        assert all(isinstance(o, StaleObjectError) for o in outcomes if not isinstance(o, str))
        rows = list(Book.objects.filter(pk=book.pk).values_list("title", "version"))
        if successes[0] == "deleted":
            assert rows == []
        else:
            assert rows == [(successes[0], 2)]


def test_racing_update_if_version_has_exactly_one_winner_per_round():
    book = Book.objects.create(title="start")
    for round_no in range(ROUNDS):
        version = Book.objects.get(pk=book.pk).version

        def work(i: int, version: int = version, round_no: int = round_no) -> int:
            return Book.objects.update_if_version(book.pk, version, title=f"{round_no}-{i}")

        outcomes = _race(work)
        assert [o for o in outcomes if isinstance(o, int)] == [version + 1], outcomes
        assert sum(isinstance(o, StaleObjectError) for o in outcomes) == THREADS - 1
