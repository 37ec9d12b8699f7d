"""Real races over HTTP against the django-ninja door and the function-view door.

tests/test_live_race.py's harness: every client reads the customer (``/ninja/customers/<pk>``
or ``/json/customers/<pk>``), waits at a barrier, then writes it with the tag it read.
Exactly one winner per round; every loser a 412 problem (or a 404 once a DELETE has won),
never a 5xx; the row holds the winner's data.
"""

from __future__ import annotations

from collections import Counter

import pytest
from customers.models import Customer

from tests.factories import CustomerFactory
from tests.test_live_race import (
    CLIENTS,
    assert_lost,
    read_then_race,
    sessions,  # noqa: F401  (the fixture)
)
from tests.utils import needs_server_db

# Fewer rounds than the DRF door's 20/10: each door and Django line adds to CI time.
ROUNDS = 12
DELETE_ROUNDS = 6

pytestmark = [pytest.mark.race, needs_server_db, pytest.mark.django_db(transaction=True)]


DOORS = {"ninja": "/ninja/customers/{pk}", "function-view": "/json/customers/{pk}"}


def target(base: str, customer: Customer, door: str) -> str:
    return base + DOORS[door].format(pk=customer.pk)


@pytest.mark.parametrize("door", DOORS)
def test_concurrent_patches_have_exactly_one_winner_per_round(live_server, sessions, door):  # noqa: F811
    customer = CustomerFactory(customer_id=f"NR{door[:5]}")
    reasons: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        bodies = [
            {"given_name": f"round {round_no}", "notes": f"client {i}"} for i in range(CLIENTS)
        ]
        tags, outcomes = read_then_race(
            sessions, target(live_server.url, customer, door), [("PATCH", body) for body in bodies]
        )
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
def test_concurrent_deletes_have_exactly_one_204_per_round(live_server, sessions, door):  # noqa: F811
    for round_no in range(DELETE_ROUNDS):
        customer = CustomerFactory(customer_id=f"ND{door[:5]}{round_no:02d}")
        _, outcomes = read_then_race(
            sessions, target(live_server.url, customer, door), [("DELETE", None)] * CLIENTS
        )
        statuses = [outcome.status for outcome in outcomes]
        assert statuses.count(204) == 1, statuses
        for outcome in outcomes:
            if outcome.status != 204:
                assert_lost(outcome, deleted=True)
        assert not Customer.objects.filter(pk=customer.pk).exists()
