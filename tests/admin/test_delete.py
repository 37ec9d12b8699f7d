"""Delete (django_etag_lock/admin/delete.py): the confirmation carries the version it
showed; a stale confirmation deletes nothing and shows what changed.
"""

from __future__ import annotations

import pytest
from customers.models import Customer
from django.contrib.auth.models import User

from tests.admin.helpers import (
    change_url,
    client_for,
    conflict_rows,
    delete_url,
    form_values,
    headline,
    messages_of,
    token_of,
    who_changed,
    with_values,
)
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.admin.urls")]


def test_delete_confirmation_carries_the_version_shown(alice: User, ada: Customer) -> None:
    values = form_values(client_for(alice).get(delete_url(ada)))

    assert values["post"] == ["yes"]
    assert token_of(values).version == 1


def test_stale_delete_deletes_nothing_shows_what_changed_and_can_be_confirmed_again(
    alice: User, bob: User, ada: Customer
) -> None:
    as_alice, as_bob = client_for(alice), client_for(bob)
    confirm = form_values(as_alice.get(delete_url(ada)))
    bob_form = form_values(as_bob.get(change_url(ada)), "customer_form")
    as_bob.post(change_url(ada), with_values(bob_form, family_name="King"))

    response = as_alice.post(delete_url(ada), confirm)

    assert response.status_code == 200
    assert Customer.objects.filter(pk=ada.pk).exists()
    assert "changed by bob" in headline(response)
    assert "Nothing was deleted" in headline(response)
    assert conflict_rows(response)["family_name"][:2] == ("Lovelace", "King")
    assert who_changed(response)["family_name"] == "Changed by bob."
    again = form_values(response)
    assert token_of(again).version == 2

    assert as_alice.post(delete_url(ada), again).status_code == 302
    assert not Customer.objects.filter(pk=ada.pk).exists()


def test_delete_without_the_version_deletes_nothing(alice: User, ada: Customer) -> None:
    response = client_for(alice).post(delete_url(ada), {"post": "yes"})

    assert response.status_code == 302
    assert response["Location"] == delete_url(ada)
    assert "Nothing was deleted" in messages_of(response)[0]
    assert Customer.objects.filter(pk=ada.pk).exists()


def test_delete_with_another_rows_version_is_a_bad_request(alice: User, ada: Customer) -> None:
    client = client_for(alice)
    grace = CustomerFactory(customer_id="B112")
    values = form_values(client.get(delete_url(grace)))

    response = client.post(delete_url(ada), values)

    assert response.status_code == 400
    assert Customer.objects.count() == 2


def test_delete_of_a_row_deleted_meanwhile_says_so(alice: User, ada: Customer) -> None:
    client = client_for(alice)
    values = form_values(client.get(delete_url(ada)))
    Customer.objects.get(pk=ada.pk).delete()

    response = client.post(delete_url(ada), values)

    assert response.status_code == 302
    assert not Customer.objects.exists()
