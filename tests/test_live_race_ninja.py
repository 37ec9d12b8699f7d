"""Real races over HTTP against the django-ninja door (tests/test_live_race.py's harness).

Every client reads the customer from ``/ninja/customers/<pk>``, waits at a barrier, then
writes it with the tag it read. Exactly one winner per round; every loser a 412 problem
(or a 404 once a DELETE has won), never a 5xx; the row holds the winner's data.
"""

from __future__ import annotations

from collections import Counter

import pytest
from customers.models import Customer

from tests.factories import CustomerFactory
from tests.test_live_race import (
    CLIENTS,
    DELETE_ROUNDS,
    ROUNDS,
    assert_lost,
    read_then_race,
    sessions,  # noqa: F401  (the fixture)
)
from tests.utils import needs_server_db

pytestmark = [pytest.mark.race, needs_server_db, pytest.mark.django_db(transaction=True)]


def target(base: str, customer: Customer) -> str:
    return f"{base}/ninja/customers/{customer.pk}"


def test_concurrent_ninja_patches_have_exactly_one_winner_per_round(live_server, sessions):  # noqa: F811
    customer = CustomerFactory(customer_id="NR100")
    reasons: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        bodies = [
            {"given_name": f"round {round_no}", "notes": f"client {i}"} for i in range(CLIENTS)
        ]
        tags, outcomes = read_then_race(
            sessions, target(live_server.url, customer), [("PATCH", body) for body in bodies]
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


def test_concurrent_ninja_deletes_have_exactly_one_204_per_round(live_server, sessions):  # noqa: F811
    for round_no in range(DELETE_ROUNDS):
        customer = CustomerFactory(customer_id=f"ND{round_no:03d}")
        _, outcomes = read_then_race(
            sessions, target(live_server.url, customer), [("DELETE", None)] * CLIENTS
        )
        statuses = [outcome.status for outcome in outcomes]
        assert statuses.count(204) == 1, statuses
        for outcome in outcomes:
            if outcome.status != 204:
                assert_lost(outcome, deleted=True)
        assert not Customer.objects.filter(pk=customer.pk).exists()
