"""Real races over real HTTP: many clients, one If-Match, against a live server.

Each client has its own ``requests`` session (its own TCP connection, so its own server
thread and database connection in pytest-django's threaded ``live_server``). In every
round all clients read the customer, wait at a barrier, then write it with the tag they
read. The database must pick exactly one winner per round; every loser gets a 412 (or,
once a DELETE has won, a 404), never a 409 or a 5xx, and the row holds the winner's data.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from customers.models import Customer

# requests.sessions.Session, not requests.Session: importing halchemy (tests/test_halchemy.py)
# rebinds requests.Session to its own subclass for the whole process.
from requests.sessions import Session

from django_etag_lock.rest_framework import PROBLEM_TYPE_PRECONDITION_FAILED
from tests.factories import CustomerFactory
from tests.utils import needs_server_db

pytestmark = [pytest.mark.race, needs_server_db, pytest.mark.django_db(transaction=True)]

CLIENTS = 8
ROUNDS = 20
# Each DELETE round seeds a new row; fewer rounds keep the module quick on MariaDB.
DELETE_ROUNDS = 10
TIMEOUT = 30
JSON = {"Accept": "application/json"}


@dataclass
class Outcome:
    status: int
    etag: str | None
    body: Any


def server_request_threads() -> set[threading.Thread]:
    """The live server's threads, one per client connection (named after their target)."""
    return {t for t in threading.enumerate() if t.name.endswith("(process_request_thread)")}


@pytest.fixture
def sessions() -> Iterator[list[Session]]:
    before = server_request_threads()
    opened = [Session() for _ in range(CLIENTS)]
    yield opened
    # Closing the sockets ends the server's keep-alive threads; wait for them, so none
    # still holds a database connection when the test database is flushed or dropped.
    for session in opened:
        session.close()
    for thread in server_request_threads() - before:
        thread.join(timeout=TIMEOUT)
        assert not thread.is_alive(), f"{thread.name} still serves a closed session"


def url(base: str, customer: Customer) -> str:
    return f"{base}/api/customers/{customer.pk}/"


def read_then_race(
    sessions: list[Session], target: str, requests: list[tuple[str, dict[str, Any] | None]]
) -> tuple[list[str], list[Outcome]]:
    """Every client GETs ``target``; then, released together, sends its request."""
    barrier = threading.Barrier(len(sessions))
    tags: list[str] = [""] * len(sessions)
    outcomes: list[Outcome | BaseException | None] = [None] * len(sessions)

    def client(i: int) -> None:
        session = sessions[i]
        method, body = requests[i]
        try:
            read = session.get(target, headers=JSON, timeout=TIMEOUT)
            read.raise_for_status()
            tags[i] = read.headers["ETag"]
            barrier.wait(timeout=TIMEOUT)
            response = session.request(
                method, target, json=body, headers={**JSON, "If-Match": tags[i]}, timeout=TIMEOUT
            )
            content = response.json() if response.content else None
            outcomes[i] = Outcome(response.status_code, response.headers.get("ETag"), content)
        except BaseException as exc:
            barrier.abort()
            outcomes[i] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=3 * TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a client is stuck"
    failures = [outcome for outcome in outcomes if not isinstance(outcome, Outcome)]
    assert not failures, failures
    return tags, [outcome for outcome in outcomes if isinstance(outcome, Outcome)]


def assert_lost(outcome: Outcome, *, deleted: bool = False) -> str:
    """A loser's answer: a 412 problem (or a 404 once the row is deleted); its reason."""
    if deleted and outcome.status == 404:
        return "not-found"
    assert outcome.status == 412, outcome
    assert outcome.body["type"] == PROBLEM_TYPE_PRECONDITION_FAILED, outcome
    reason: str = outcome.body["reason"]
    # Lost at the check (the winner had committed) or in the UPDATE/DELETE itself.
    assert reason in {"if-match-failed", "concurrent-write", "concurrent-delete"}, outcome
    return reason


def test_concurrent_patches_with_one_tag_have_exactly_one_winner_per_round(live_server, sessions):
    customer = CustomerFactory(customer_id="R100")
    start = Customer.objects.get(pk=customer.pk).version
    target = url(live_server.url, customer)
    reasons: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        bodies = [
            {"given_name": f"round {round_no}", "notes": f"client {i}"} for i in range(CLIENTS)
        ]
        tags, outcomes = read_then_race(sessions, target, [("PATCH", body) for body in bodies])
        assert set(tags) == {f'"{start + round_no}"'}, tags

        winners = [i for i, outcome in enumerate(outcomes) if 200 <= outcome.status < 300]
        assert len(winners) == 1, [outcome.status for outcome in outcomes]
        (winner,) = winners
        assert outcomes[winner].status == 200
        assert outcomes[winner].etag == f'"{start + round_no + 1}"'
        reasons.update(assert_lost(o) for i, o in enumerate(outcomes) if i != winner)

        row = Customer.objects.get(pk=customer.pk)
        assert row.version == start + round_no + 1
        assert (row.given_name, row.notes) == (f"round {round_no}", f"client {winner}")
    assert Customer.objects.get(pk=customer.pk).version == start + ROUNDS
    assert reasons.total() == ROUNDS * (CLIENTS - 1)


def test_concurrent_deletes_with_one_tag_have_exactly_one_204_per_round(live_server, sessions):
    reasons: Counter[str] = Counter()
    for round_no in range(DELETE_ROUNDS):
        customer = CustomerFactory(customer_id=f"D{round_no:03d}")
        for _ in range(round_no % 3):  # rows at different versions
            Customer.objects.filter(pk=customer.pk).update()
        target = url(live_server.url, customer)
        tags, outcomes = read_then_race(sessions, target, [("DELETE", None)] * CLIENTS)
        assert set(tags) == {f'"{1 + round_no % 3}"'}, tags

        statuses = [outcome.status for outcome in outcomes]
        assert statuses.count(204) == 1, statuses
        reasons.update(assert_lost(o, deleted=True) for o in outcomes if o.status != 204)
        assert not Customer.objects.filter(pk=customer.pk).exists()
    assert reasons.total() == DELETE_ROUNDS * (CLIENTS - 1)


def test_patches_and_deletes_racing_on_one_tag_have_exactly_one_winner(live_server, sessions):
    for round_no in range(DELETE_ROUNDS):
        customer = CustomerFactory(customer_id=f"M{round_no:03d}")
        target = url(live_server.url, customer)
        requests: list[tuple[str, dict[str, Any] | None]] = [
            ("DELETE", None) if i % 2 else ("PATCH", {"notes": f"client {i}"})
            for i in range(CLIENTS)
        ]
        _, outcomes = read_then_race(sessions, target, requests)

        winners = [i for i, outcome in enumerate(outcomes) if 200 <= outcome.status < 300]
        assert len(winners) == 1, [outcome.status for outcome in outcomes]
        (winner,) = winners
        deleted = requests[winner][0] == "DELETE"
        for i, outcome in enumerate(outcomes):
            if i != winner:
                assert_lost(outcome, deleted=deleted)
        row = Customer.objects.filter(pk=customer.pk).first()
        if deleted:
            assert outcomes[winner].status == 204
            assert row is None
        else:
            assert outcomes[winner].status == 200
            assert row is not None
            assert (row.notes, row.version) == (f"client {winner}", 2)
