"""Delete (django_etag_lock/admin/delete.py): the confirmation carries the version it
showed; a stale confirmation deletes nothing and shows what changed.
"""

from __future__ import annotations

import html

import pytest
from customers.models import Customer
from django.contrib.auth.models import User
from django.http import HttpResponse, QueryDict
from django.utils.http import urlencode

from django_etag_lock import compat
from django_etag_lock.forms import TOKEN_FIELD
from django_etag_lock.tokens import VersionToken
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


# -- Delete from the change form ---------------------------------------------------------


def delete_link(page: HttpResponse) -> str:
    """The href of the change form's Delete link, as a browser would follow it."""
    match = compat.DELETE_LINK.search(page.content.decode())
    assert match is not None, "no Delete link"
    return html.unescape(match.group("href"))


def test_delete_link_of_the_change_form_names_the_version_the_page_shows(
    alice: User, ada: Customer
) -> None:
    ada.save()
    link = delete_link(client_for(alice).get(change_url(ada)))

    path, _, query = link.partition("?")
    assert path == delete_url(ada)
    token = VersionToken.load(QueryDict(query)[TOKEN_FIELD], Customer, ada.pk)
    assert token is not None
    assert (token.version, token.values) == (2, {})  # the version only: no values in a URL


def test_delete_link_keeps_the_changelist_filters(alice: User, ada: Customer) -> None:
    page = client_for(alice).get(change_url(ada) + "?_changelist_filters=q%3DAda")

    link = delete_link(page)

    assert QueryDict(link.partition("?")[2])["_changelist_filters"] == "q=Ada"
    assert TOKEN_FIELD in QueryDict(link.partition("?")[2])


def test_delete_from_a_change_form_of_a_changed_row_is_refused_on_the_confirmation_page(
    alice: User, bob: User, ada: Customer
) -> None:
    """B opens the customer; A edits and saves it; B clicks Delete: warned, not deleted."""
    as_alice, as_bob = client_for(alice), client_for(bob)
    link = delete_link(as_bob.get(change_url(ada)))
    alice_form = form_values(as_alice.get(change_url(ada)), "customer_form")
    assert (
        as_alice.post(change_url(ada), with_values(alice_form, email="a@x.example")).status_code
        == 302
    )

    confirmation = as_bob.get(link)

    assert confirmation.status_code == 200
    assert "changed by alice after you opened it" in headline(confirmation)
    assert "Nothing was deleted" in headline(confirmation)
    again = form_values(confirmation)
    assert token_of(again).version == 2  # confirming now is about the version shown now
    assert Customer.objects.filter(pk=ada.pk).exists()

    assert as_bob.post(link, again).status_code == 302
    assert not Customer.objects.filter(pk=ada.pk).exists()


def test_stale_change_form_delete_confirmed_anyway_with_the_old_version_deletes_nothing(
    alice: User, bob: User, ada: Customer
) -> None:
    as_bob = client_for(bob)
    link = delete_link(as_bob.get(change_url(ada)))
    stale = form_values(as_bob.get(link))  # the confirmation, before anyone changed it
    Customer.objects.get(pk=ada.pk).save()

    response = as_bob.post(link, stale)

    assert response.status_code == 200
    assert "Nothing was deleted" in headline(response)
    assert Customer.objects.filter(pk=ada.pk).exists()


def test_delete_link_of_an_unchanged_row_shows_the_plain_confirmation(
    alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    confirmation = client.get(delete_link(client.get(change_url(ada))))

    assert confirmation.status_code == 200
    assert 'id="etag-lock-conflict"' not in confirmation.content.decode()
    assert client.post(delete_url(ada), form_values(confirmation)).status_code == 302
    assert not Customer.objects.exists()


@pytest.mark.parametrize("value", ["", "garbage", "forged:1:2"])
def test_delete_confirmation_ignores_a_version_in_the_url_it_cannot_read(
    alice: User, ada: Customer, value: str
) -> None:
    response = client_for(alice).get(delete_url(ada) + "?" + urlencode({TOKEN_FIELD: value}))

    assert response.status_code == 200
    assert 'id="etag-lock-conflict"' not in response.content.decode()


def test_version_in_the_url_of_another_row_is_ignored(alice: User, ada: Customer) -> None:
    grace = CustomerFactory(customer_id="B112")
    grace.save()
    other = VersionToken.for_instance(grace, ()).sign()
    ada.save()

    response = client_for(alice).get(delete_url(ada) + "?" + urlencode({TOKEN_FIELD: other}))

    assert 'id="etag-lock-conflict"' not in response.content.decode()
