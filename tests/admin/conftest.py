"""Fixtures of the admin tests: two superusers (alice and bob), customer A375, a
ready-made conflict, three customers for the changelist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from customers.models import Customer
from django.contrib.auth.models import User

from tests.admin.helpers import (
    change_url,
    client_for,
    form_values,
    with_values,
)
from tests.admin.urls import RACE
from tests.factories import CustomerFactory


@pytest.fixture
def alice() -> User:
    return User.objects.create_superuser("alice", "alice@example.com", "pw")


@pytest.fixture
def bob() -> User:
    return User.objects.create_superuser("bob", "bob@example.com", "pw")


@pytest.fixture
def ada() -> Customer:
    return CustomerFactory(
        customer_id="A375",
        given_name="Ada",
        family_name="Lovelace",
        email="ada@example.com",
        notes="Prefers email.",
    )


@pytest.fixture
def conflict(alice: User, bob: User, ada: Customer) -> dict[str, Any]:
    """Both open A375; alice saves first name + family name; bob then saves first name + email."""
    url = change_url(ada)
    as_alice, as_bob = client_for(alice), client_for(bob)
    alice_form = form_values(as_alice.get(url), "customer_form")
    bob_form = form_values(as_bob.get(url), "customer_form")
    saved = as_alice.post(url, with_values(alice_form, given_name="Adeline", family_name="King"))
    assert saved.status_code == 302
    response = as_bob.post(
        url, with_values(bob_form, given_name="Augusta", email="aug@example.com")
    )
    return {"url": url, "bob": as_bob, "alice": as_alice, "response": response, "started": bob_form}


@pytest.fixture
def race() -> Iterator[list[Callable[[Any], None]]]:
    yield RACE
    RACE.clear()


@pytest.fixture
def three() -> list[Customer]:
    return [
        CustomerFactory(customer_id=f"C{i}", given_name=name, email=f"{name.lower()}@example.com")
        for i, name in enumerate(["Ada", "Grace", "Alan"])
    ]
