"""Races over HTTP against the async doors, served by uvicorn (a real ASGI server).

The same harness as tests/test_live_race.py: every client reads the row, waits at a
barrier, then writes it with the tag it read. Exactly one winner per round; every loser
a 412 problem (or a 404 once a DELETE has won), never a 5xx.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from customers.models import Customer
from requests.sessions import Session

from tests.asgi import asgi_server
from tests.factories import CustomerFactory
from tests.test_live_race import CLIENTS, assert_lost, read_then_race
from tests.utils import needs_server_db

# Fewer rounds than the DRF door's 20/10: each door and Django line adds to CI time.
ROUNDS = 12
DELETE_ROUNDS = 6

pytestmark = [pytest.mark.race, needs_server_db, pytest.mark.django_db(transaction=True)]

# The async routes of each door: {name: path prefix of /<pk>}.
DOORS = {
    "ninja-async": "/t/ninja/async/customers/{pk}",
    "adrf": "/t/async/customers/{pk}/",
}


@pytest.fixture
def server() -> Iterator[str]:
    with asgi_server() as base:
        yield base


@pytest.fixture
def sessions() -> Iterator[list[Session]]:
    opened = [Session() for _ in range(CLIENTS)]
    yield opened
    for session in opened:
        session.close()


@pytest.mark.parametrize("door", DOORS)
def test_async_patches_have_exactly_one_winner_per_round(server, sessions, door):
    customer = CustomerFactory(customer_id=f"AR{door[:6]}")
    target = server + DOORS[door].format(pk=customer.pk)
    reasons: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        bodies = [{"notes": f"client {i}"} for i in range(CLIENTS)]
        tags, outcomes = read_then_race(sessions, target, [("PATCH", b) for b in bodies])
        assert set(tags) == {f'"{1 + round_no}"'}, tags
        statuses = [outcome.status for outcome in outcomes]
        assert not [s for s in statuses if s >= 500], statuses
        winners = [i for i, outcome in enumerate(outcomes) if 200 <= outcome.status < 300]
        assert len(winners) == 1, statuses
        (winner,) = winners
        assert outcomes[winner].etag == f'"{2 + round_no}"'
        reasons.update(assert_lost(o) for i, o in enumerate(outcomes) if i != winner)
        row = Customer.objects.get(pk=customer.pk)
        assert (row.version, row.notes) == (2 + round_no, f"client {winner}")
    assert reasons.total() == ROUNDS * (CLIENTS - 1)


@pytest.mark.parametrize("door", DOORS)
def test_async_deletes_have_exactly_one_204_per_round(server, sessions, door):
    for round_no in range(DELETE_ROUNDS):
        customer = CustomerFactory(customer_id=f"AD{door[:6]}{round_no:02d}")
        target = server + DOORS[door].format(pk=customer.pk)
        _, outcomes = read_then_race(sessions, target, [("DELETE", None)] * CLIENTS)
        statuses = [outcome.status for outcome in outcomes]
        assert statuses.count(204) == 1, statuses
        for outcome in outcomes:
            if outcome.status != 204:
                assert_lost(outcome, deleted=True)
        assert not Customer.objects.filter(pk=customer.pk).exists()
