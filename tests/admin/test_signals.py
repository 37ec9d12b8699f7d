"""write_refused from the admin: one signal per conflict, sent as the admin's, with the request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from customers.models import Customer
from django.contrib.auth.models import User

from django_etag_lock.etags import Reason
from django_etag_lock.signals import Source, write_refused
from tests.admin.helpers import (
    change_url,
    changelist_url,
    client_for,
    delete_url,
    edit_rows,
    form_values,
    select,
    with_values,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def refused() -> Iterator[list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal")
        sent.append(kwargs)

    write_refused.connect(receiver, weak=False)
    try:
        yield sent
    finally:
        write_refused.disconnect(receiver)


def _summary(sent: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (s["source"], s["model"], s["pk"], s["reason"], s["expected_version"], s["current_version"])
        for s in sent
    ]


def test_a_stale_change_form_save_is_one_admin_signal(
    refused: list[dict[str, Any]], alice: User, bob: User, ada: Customer
) -> None:
    url = change_url(ada)
    as_alice, as_bob = client_for(alice), client_for(bob)
    bob_form = form_values(as_bob.get(url), "customer_form")
    as_alice.post(url, with_values(form_values(as_alice.get(url), "customer_form"), notes="A"))
    assert refused == []

    response = as_bob.post(url, with_values(bob_form, notes="B"))

    assert response.status_code == 200  # the conflict page
    assert _summary(refused) == [(Source.ADMIN, Customer, ada.pk, Reason.CONCURRENT_WRITE, 1, 2)]
    assert refused[0]["request"].user == bob


def test_a_stale_delete_is_one_admin_signal(
    refused: list[dict[str, Any]], alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    confirm = form_values(client.get(delete_url(ada)))
    Customer.objects.filter(pk=ada.pk).update()

    response = client.post(delete_url(ada), confirm)

    assert response.status_code == 200
    assert Customer.objects.filter(pk=ada.pk).exists()
    assert _summary(refused) == [(Source.ADMIN, Customer, ada.pk, Reason.CONCURRENT_WRITE, 1, 2)]


def test_each_stale_list_editable_row_is_one_admin_signal(
    refused: list[dict[str, Any]], alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    Customer.objects.filter(pk=three[1].pk).update()

    response = client.post(
        changelist_url(Customer), edit_rows(values, C0="ada.new@example.com", C1="g@example.com")
    )

    assert response.status_code == 200  # the list again, with the stale row's typing kept
    assert _summary(refused) == [
        (Source.ADMIN, Customer, three[1].pk, Reason.CONCURRENT_WRITE, 1, 2)
    ]


def test_each_row_an_action_leaves_alone_is_one_admin_signal(
    refused: list[dict[str, Any]], alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    Customer.objects.filter(pk=three[1].pk).update()
    Customer.objects.filter(pk=three[2].pk).delete()

    client.post(changelist_url(Customer), select(values, "delete_selected", *three))

    assert sorted(_summary(refused), key=lambda s: s[2]) == [
        (Source.ADMIN, Customer, three[1].pk, Reason.CONCURRENT_WRITE, 1, 2),
        (Source.ADMIN, Customer, three[2].pk, Reason.CONCURRENT_DELETE, 1, None),
    ]


def test_fresh_admin_saves_send_nothing(
    refused: list[dict[str, Any]], alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    url = change_url(ada)
    assert (
        client.post(url, with_values(form_values(client.get(url), "customer_form"))).status_code
        == 302
    )
    assert refused == []
