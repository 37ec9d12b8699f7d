"""Real races over HTTP against the django-ninja, function-view and editing-view doors.

tests/test_live_race.py's harness: every client reads the customer (``/ninja/customers/<pk>``
or ``/json/customers/<pk>``), waits at a barrier, then writes it with the tag it read.
Exactly one winner per round; every loser a 412 problem (or a 404 once a DELETE has won),
never a 5xx; the row holds the winner's data.
"""

from __future__ import annotations

import html
import re
import threading
from collections import Counter

import pytest
from customers.models import Customer
from requests.sessions import Session

from django_etag_lock.forms import TOKEN_FIELD
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


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert match, name
    return html.unescape(match.group(1))


def _edit_round(clients: list[Session], target: str, round_no: int) -> list[tuple[int, str]]:
    """Every client opens the edit page, then all save it at once; (status, body) each."""
    barrier = threading.Barrier(len(clients))
    results: list[tuple[int, str] | BaseException | None] = [None] * len(clients)

    def client(i: int) -> None:
        session = clients[i]
        try:
            page = session.get(target, timeout=30).text
            data = {
                "csrfmiddlewaretoken": _hidden(page, "csrfmiddlewaretoken"),
                TOKEN_FIELD: _hidden(page, TOKEN_FIELD),
                "given_name": "Ada",
                "family_name": "Lovelace",
                "email": "",
                "notes": f"round {round_no} client {i}",
            }
            barrier.wait(timeout=30)
            response = session.post(
                target,
                data=data,
                headers={"Referer": target},
                allow_redirects=False,
                timeout=30,
            )
            results[i] = (response.status_code, response.text)
        except BaseException as exc:
            barrier.abort()
            results[i] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    outcomes = [r for r in results if isinstance(r, tuple)]
    assert len(outcomes) == len(clients), results
    return outcomes


def test_concurrent_edit_page_saves_have_one_winner_and_no_5xx(live_server, sessions):  # noqa: F811
    """Django's UpdateView door: the losers get the conflict page back (200), never a 500."""
    customer = CustomerFactory(customer_id="NRedit")
    target = f"{live_server.url}/customers/{customer.pk}/edit/"
    for round_no in range(DELETE_ROUNDS):
        outcomes = _edit_round(sessions, target, round_no)
        statuses = [status for status, _ in outcomes]
        assert statuses.count(302) == 1, statuses
        assert statuses.count(200) == CLIENTS - 1, statuses
        assert all('id="etag-lock-conflict"' in text for status, text in outcomes if status == 200)
        winner = statuses.index(302)
        row = Customer.objects.get(pk=customer.pk)
        assert (row.version, row.notes) == (2 + round_no, f"round {round_no} client {winner}")
