"""A real race over HTTP on a nested child, against a live server.

Every round, one client edits a line through the line's own endpoint while the others
PATCH the order with that line nested in the body (drf-writable-nested), each with the
tags it just read. The line touches the order, so every request conflicts with every
other: the database must pick exactly one winner per round, the line holds the winner's
quantity (no lost update), and every loser gets a 412 problem, never a 5xx.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# requests.sessions.Session, not requests.Session (tests/test_live_race.py says why).
from requests.sessions import Session

from django_etag_lock.rest_framework import PROBLEM_TYPE_PRECONDITION_FAILED
from tests.test_live_race import server_request_threads
from tests.testapp.models import Order, OrderLine
from tests.utils import needs_server_db

pytestmark = [pytest.mark.race, needs_server_db, pytest.mark.django_db(transaction=True)]

ORDER_CLIENTS = 5
ROUNDS = 25
TIMEOUT = 30
JSON = {"Accept": "application/json"}
LOSING_REASONS = {"if-match-failed", "concurrent-write", "child-precondition-failed"}


@dataclass
class Outcome:
    status: int
    body: Any


@pytest.fixture
def sessions() -> Iterator[list[Session]]:
    before = server_request_threads()
    opened = [Session() for _ in range(ORDER_CLIENTS + 1)]
    yield opened
    for session in opened:
        session.close()
    for thread in server_request_threads() - before:
        thread.join(timeout=TIMEOUT)
        assert not thread.is_alive(), f"{thread.name} still serves a closed session"


def race_round(
    sessions: list[Session], base: str, order: Order, line: OrderLine, round_no: int
) -> list[Outcome]:
    """Client 0 PATCHes the line itself; clients 1.. PATCH the order with the line nested."""
    barrier = threading.Barrier(len(sessions))
    outcomes: list[Outcome | BaseException | None] = [None] * len(sessions)
    order_url = f"{base}/t/orders/{order.pk}/"
    line_url = f"{base}/t/order-lines/{line.pk}/"

    def client(i: int) -> None:
        session = sessions[i]
        qty = round_no * 100 + i
        try:
            if i == 0:
                read = session.get(line_url, headers=JSON, timeout=TIMEOUT)
                read.raise_for_status()
                target, body, tag = line_url, {"qty": qty}, read.headers["ETag"]
            else:
                read = session.get(order_url, headers=JSON, timeout=TIMEOUT)
                read.raise_for_status()
                (item,) = read.json()["lines"]
                assert item["id"] == line.pk
                nested = {"id": item["id"], "sku": item["sku"], "qty": qty, "etag": item["etag"]}
                body = {"note": f"client {i} round {round_no}", "lines": [nested]}
                target, tag = order_url, read.headers["ETag"]
            barrier.wait(timeout=TIMEOUT)
            response = session.patch(
                target, json=body, headers={**JSON, "If-Match": tag}, timeout=TIMEOUT
            )
            content = response.json() if response.content else None
            outcomes[i] = Outcome(response.status_code, content)
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
    return [outcome for outcome in outcomes if isinstance(outcome, Outcome)]


def test_a_line_edited_through_its_endpoint_and_through_the_order_has_one_winner_per_round(
    live_server, sessions
):
    order = Order.objects.create(reference="RACE-1")
    line = OrderLine.objects.create(order=order, sku="apple", qty=0)
    winners_by_kind: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for round_no in range(1, ROUNDS + 1):
        line_before = OrderLine.objects.get(pk=line.pk)
        order_before = Order.objects.get(pk=order.pk)
        outcomes = race_round(sessions, live_server.url, order, line, round_no)

        statuses = [outcome.status for outcome in outcomes]
        assert all(status < 500 for status in statuses), outcomes
        winners = [i for i, outcome in enumerate(outcomes) if outcome.status == 200]
        assert len(winners) == 1, outcomes
        (winner,) = winners
        for i, outcome in enumerate(outcomes):
            if i == winner:
                continue
            assert outcome.status == 412, outcome
            assert outcome.body["type"] == PROBLEM_TYPE_PRECONDITION_FAILED, outcome
            assert outcome.body["reason"] in LOSING_REASONS, outcome
            reasons[outcome.body["reason"]] += 1

        stored_line = OrderLine.objects.get(pk=line.pk)
        stored_order = Order.objects.get(pk=order.pk)
        # No lost update: the line holds exactly the winner's write, one version on.
        assert stored_line.qty == round_no * 100 + winner
        assert stored_line.version == line_before.version + 1
        if winner == 0:
            winners_by_kind["line endpoint"] += 1
            assert stored_order.note == order_before.note
            assert stored_order.version == order_before.version + 1  # touched once
        else:
            winners_by_kind["order endpoint"] += 1
            assert stored_order.note == f"client {winner} round {round_no}"
            # The order's own compare-and-set, then the line's touch.
            assert stored_order.version == order_before.version + 2
    assert winners_by_kind.total() == ROUNDS
    assert reasons.total() == ROUNDS * ORDER_CLIENTS
    print(f"\nwinners: {dict(winners_by_kind)}; losers' reasons: {dict(reasons)}")
