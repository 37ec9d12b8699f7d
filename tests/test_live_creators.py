"""Racing creators over real HTTP: the database's unique constraint picks the one winner.

Every client has its own ``requests`` session (its own connection, server thread and
database connection in pytest-django's threaded ``live_server``); in each round all wait
at a barrier, then send their request at once.

- Create-only PUT (``If-None-Match: *`` on ``/hal/customers/<id>/``): exactly one 201,
  every other client 412 (``if-none-match-failed`` when the winner had committed before
  the check, ``concurrent-create`` when the unique constraint refused the INSERT).
- POST of one ``customer_id`` to ``/api/customers/``: exactly one 201; every other client
  DRF's 400 (its unique validator saw the winner) or 409 (the constraint refused the
  INSERT after the validator passed), never a 5xx.

Runs on PostgreSQL and MariaDB, and on SQLite with a file database
(``DATABASE_URL=sqlite:////tmp/x.sqlite3``); an in-memory SQLite database is one
connection shared by every thread, so nothing could race. ``-s`` prints the counts.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from customers.models import Customer
from django.conf import settings
from django.db import connection

# requests.sessions.Session: halchemy rebinds requests.Session for the whole process.
from requests.sessions import Session

from django_etag_lock.etags import Reason
from django_etag_lock.problems import PROBLEM_TYPE_UNIQUE_CONFLICT

_TEST_NAME = settings.DATABASES["default"].get("TEST", {}).get("NAME")
pytestmark = [
    pytest.mark.race,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and not _TEST_NAME,
        reason="needs PostgreSQL, MariaDB or a file SQLite database (set DATABASE_URL)",
    ),
]

CLIENTS = 6
ROUNDS = 8
TIMEOUT = 30
HAL = "application/hal+json"


def server_request_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.endswith("(process_request_thread)")}


@pytest.fixture
def sessions() -> Iterator[list[Session]]:
    before = server_request_threads()
    opened = [Session() for _ in range(CLIENTS)]
    yield opened
    for session in opened:
        session.close()
    for thread in server_request_threads() - before:
        thread.join(timeout=TIMEOUT)
        assert not thread.is_alive(), f"{thread.name} still serves a closed session"


def race(sessions: list[Session], send: Any) -> list[tuple[int, dict[str, Any] | None]]:
    """Release every client's ``send(session, i)`` at once; their (status, JSON body)."""
    barrier = threading.Barrier(len(sessions))
    results: list[Any] = [None] * len(sessions)

    def client(i: int) -> None:
        try:
            barrier.wait(timeout=TIMEOUT)
            response = send(sessions[i], i)
            body = response.json() if response.content else None
            results[i] = (response.status_code, body)
        except BaseException as exc:
            barrier.abort()
            results[i] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=3 * TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a client is stuck"
    failures = [result for result in results if not isinstance(result, tuple)]
    assert not failures, failures
    return results


def _report(title: str, counts: Counter[str]) -> None:
    print(f"\n{title} on {connection.vendor}: {dict(sorted(counts.items()))}")


def test_racing_create_only_puts_have_one_201_and_every_other_412(live_server, sessions):
    counts: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        customer_id = f"CP{round_no:03d}"
        url = f"{live_server.url}/hal/customers/{customer_id}/"

        def send(session: Session, i: int, url: str = url) -> Any:
            return session.put(
                url,
                json={"given_name": f"client {i}", "family_name": "Racer"},
                headers={"If-None-Match": "*", "Accept": HAL},
                timeout=TIMEOUT,
            )

        results = race(sessions, send)
        statuses = [status for status, _ in results]
        counts.update(str(status) for status in statuses)
        assert statuses.count(201) == 1, results
        (winner,) = [i for i, (status, _) in enumerate(results) if status == 201]
        for status, body in results:
            if status != 201:
                assert status == 412, results
                assert body is not None
                assert body["reason"] in {Reason.IF_NONE_MATCH_FAILED, Reason.CONCURRENT_CREATE}
                counts[f"412 {body['reason']}"] += 1
        (row,) = Customer.objects.filter(customer_id=customer_id)
        assert (row.given_name, row.version) == (f"client {winner}", 1)
    _report("create-only PUT", counts)
    assert not any(status.startswith("5") for status in counts)


def test_racing_posts_of_one_unique_value_never_answer_5xx(live_server, sessions):
    counts: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        customer_id = f"UP{round_no:03d}"

        def send(session: Session, i: int, customer_id: str = customer_id) -> Any:
            return session.post(
                f"{live_server.url}/api/customers/",
                json={"customer_id": customer_id, "given_name": f"client {i}", "family_name": "R"},
                headers={"Accept": "application/json"},
                timeout=TIMEOUT,
            )

        results = race(sessions, send)
        statuses = [status for status, _ in results]
        counts.update(str(status) for status in statuses)
        assert statuses.count(201) == 1, results
        for status, body in results:
            assert body is not None
            if status == 409:
                assert body["type"] == PROBLEM_TYPE_UNIQUE_CONFLICT
                assert body["fields"] == ["customer_id"]
            elif status == 400:
                assert "customer_id" in body
            else:
                assert status == 201, results
        assert Customer.objects.filter(customer_id=customer_id).count() == 1
    _report("POST of one customer_id", counts)
    assert not any(status.startswith("5") for status in counts)
