"""The change form (django_etag_lock/admin/change_form.py): the version travels with
the form, a stale save writes nothing and keeps the editor's values, the ways forward.

Two admins ("alice" and "bob") edit the same rows; every test checks both what the
page says and what the database holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from customers.models import Customer
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.urls import reverse

from django_etag_lock.forms import (
    CURRENT_TOKEN_FIELD,
    OVERWRITE_VALUE,
    TOKEN_FIELD,
)
from tests.admin.helpers import (
    change_url,
    client_for,
    conflict_rows,
    form_values,
    headline,
    messages_of,
    staff_with,
    token_of,
    with_values,
)
from tests.admin.urls import BOOK_ADMINS
from tests.factories import BookFactory, CustomerFactory, RestaurantFactory, ShelfFactory
from tests.testapp.models import Book, Restaurant, Shelf, ShelfItem
from tests.utils import needs_server_db

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.admin.urls")]


@pytest.mark.parametrize("variant", sorted(BOOK_ADMINS))
def test_change_form_carries_the_signed_version_whatever_fields_and_fieldsets_say(
    variant: str, alice: User
) -> None:
    book = BookFactory(title="Dune", pages=412)
    site = f"book-{variant}"
    client = client_for(alice)
    values = form_values(client.get(change_url(book, site)), "book_form")
    assert token_of(values, Book).version == 1
    Book.objects.filter(pk=book.pk).update(title="Dune Messiah")  # someone else, version 2

    response = client.post(change_url(book, site), with_values(values, title="Children of Dune"))

    assert response.status_code == 200
    assert "after you opened it" in headline(response)
    book.refresh_from_db()
    assert (book.title, book.version) == ("Dune Messiah", 2)


def test_fresh_save_writes_bumps_the_version_and_logs(alice: User, ada: Customer) -> None:
    client = client_for(alice)
    values = form_values(client.get(change_url(ada)), "customer_form")

    response = client.post(change_url(ada), with_values(values, given_name="Adeline"))

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Adeline", 2)
    entry = LogEntry.objects.get(object_id=str(ada.pk))
    assert "Given name" in entry.get_change_message()


def test_conflict_form_keeps_my_values_and_shows_theirs_where_only_they_changed(
    conflict: dict[str, Any],
) -> None:
    values = form_values(conflict["response"], "customer_form")

    assert values["given_name"] == ["Augusta"]
    assert values["email"] == ["aug@example.com"]
    assert values["family_name"] == ["King"]
    assert values["notes"] == ["Prefers email."]
    # A plain Save still names the version bob started from.
    assert token_of(values).version == 1
    assert token_of({TOKEN_FIELD: values[CURRENT_TOKEN_FIELD]}).version == 2


def test_save_over_the_current_version_writes_my_values_and_keeps_their_other_change(
    conflict: dict[str, Any], ada: Customer
) -> None:
    values = form_values(conflict["response"], "customer_form")

    response = conflict["bob"].post(conflict["url"], {**values, "_continue": OVERWRITE_VALUE})

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.given_name, ada.family_name, ada.email, ada.version) == (
        "Augusta",
        "King",
        "aug@example.com",
        3,
    )


def test_save_over_is_checked_again_when_a_third_edit_lands_meanwhile(
    conflict: dict[str, Any], ada: Customer
) -> None:
    values = form_values(conflict["response"], "customer_form")
    ada.refresh_from_db()
    ada.given_name = "Augusta Ada"
    ada.save()  # a third edit, version 3

    response = conflict["bob"].post(conflict["url"], {**values, "_continue": OVERWRITE_VALUE})

    assert response.status_code == 200
    assert conflict_rows(response)["given_name"] == ("Adeline", "Augusta Ada", "Augusta", "both")
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Augusta Ada", 3)


def test_plain_save_after_a_conflict_conflicts_again(
    conflict: dict[str, Any], ada: Customer
) -> None:
    values = form_values(conflict["response"], "customer_form")

    response = conflict["bob"].post(conflict["url"], {**values, "_save": "Save"})

    assert response.status_code == 200
    assert "Nothing was saved" in headline(response)
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Adeline", 2)


def test_discard_loads_the_current_version(conflict: dict[str, Any]) -> None:
    html = conflict["response"].content.decode()
    link = re.search(r'<a href="([^"]+)" class="button" id="etag-lock-discard">', html)
    assert link is not None
    assert link.group(1) == conflict["url"]

    values = form_values(conflict["bob"].get(link.group(1)), "customer_form")

    assert (values["given_name"], values["email"]) == (["Adeline"], ["ada@example.com"])
    assert token_of(values).version == 2


def test_enter_key_default_is_a_plain_save_not_the_overwrite(conflict: dict[str, Any]) -> None:
    html = conflict["response"].content.decode()
    form = html[html.index('id="customer_form"') :]
    first_button = re.search(r"<button[^>]*>", form)
    assert first_button is not None
    assert 'name="_save"' in first_button.group(0)


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not-a-token",
        "forged",
        "other-row",
    ],
)
def test_missing_forged_or_foreign_version_is_a_form_error_and_writes_nothing(
    token: str | None, alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    values = form_values(client.get(change_url(ada)), "customer_form")
    if token is None:
        del values[TOKEN_FIELD]
    elif token == "forged":
        genuine = values[TOKEN_FIELD][0]
        values[TOKEN_FIELD] = [genuine[:-3] + ("AAA" if genuine[-3:] != "AAA" else "BBB")]
    elif token == "other-row":
        grace = CustomerFactory(customer_id="B112", given_name="Grace")
        values[TOKEN_FIELD] = form_values(client.get(change_url(grace)), "customer_form")[
            TOKEN_FIELD
        ]
    else:
        values[TOKEN_FIELD] = [token]

    response = client.post(change_url(ada), with_values(values, given_name="Adeline"))

    assert response.status_code == 200
    assert "does not say which version of the customer you started from" in (
        response.content.decode()
    )
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Ada", 1)


def test_stale_parent_writes_no_inline_rows_and_keeps_the_inline_input(alice: User) -> None:
    shelf = ShelfFactory(name="Fiction")
    client = client_for(alice)
    values = form_values(client.get(change_url(shelf, "shelf")), "shelf_form")
    Shelf.objects.filter(pk=shelf.pk).update(name="Novels")
    values["items-0-label"] = ["Dune"]

    response = client.post(change_url(shelf, "shelf"), values)

    assert response.status_code == 200
    assert ShelfItem.objects.count() == 0
    assert form_values(response, "shelf_form")["items-0-label"] == ["Dune"]
    shelf.refresh_from_db()
    assert (shelf.name, shelf.version) == ("Novels", 2)


def test_stale_multi_table_child_writes_nothing_in_either_table(alice: User) -> None:
    place = RestaurantFactory(name="Chez Ada", serves="soup")
    client = client_for(alice)
    values = form_values(client.get(change_url(place, "shelf")), "restaurant_form")
    Restaurant.objects.filter(pk=place.pk).update(serves="stew")

    response = client.post(
        change_url(place, "shelf"), with_values(values, name="Chez Bob", serves="pie")
    )

    assert response.status_code == 200
    assert conflict_rows(response)["serves"] == ("soup", "stew", "pie", "both")
    place.refresh_from_db()
    assert (place.name, place.serves, place.version) == ("Chez Ada", "stew", 2)


def test_row_deleted_before_the_post_redirects_and_is_not_reinserted(
    alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    values = form_values(client.get(change_url(ada)), "customer_form")
    Customer.objects.get(pk=ada.pk).delete()

    response = client.post(change_url(ada), with_values(values, given_name="Adeline"))

    assert response.status_code == 302
    assert "doesn\u2019t exist" in messages_of(response)[0]
    assert not Customer.objects.exists()


@needs_server_db
@pytest.mark.django_db(transaction=True)
def test_edit_committed_between_load_and_update_is_caught_by_the_compare_and_set(
    alice: User, ada: Customer, race: list[Callable[[Any], None]]
) -> None:
    client = client_for(alice)
    url = change_url(ada, "race")
    values = form_values(client.get(url), "customer_form")
    race.append(lambda pk: Customer.objects.filter(pk=pk).update(family_name="King"))

    response = client.post(url, with_values(values, given_name="Adeline"))

    assert response.status_code == 200
    assert conflict_rows(response)["family_name"][:2] == ("Lovelace", "King")
    ada.refresh_from_db()
    assert (ada.given_name, ada.family_name, ada.version) == ("Ada", "King", 2)


@needs_server_db
@pytest.mark.django_db(transaction=True)
def test_edit_that_makes_my_values_invalid_meanwhile_shows_the_errors_and_the_warning(
    alice: User, ada: Customer, race: list[Callable[[Any], None]]
) -> None:
    client = client_for(alice)
    url = change_url(ada, "race")
    values = form_values(client.get(url), "customer_form")

    def take_the_id_and_edit(pk: Any) -> None:
        CustomerFactory(customer_id="B112")
        Customer.objects.filter(pk=pk).update(notes="Called.")

    race.append(take_the_id_and_edit)

    response = client.post(url, with_values(values, customer_id="B112", _save="Save"))

    assert response.status_code == 200
    assert "no longer pass its checks" in headline(response)
    assert "Customer with this Customer id already exists." in response.content.decode()
    assert form_values(response, "customer_form")["customer_id"] == ["B112"]
    assert 'id="etag-lock-discard"' in response.content.decode()
    assert 'id="etag-lock-overwrite"' not in response.content.decode()
    ada.refresh_from_db()
    assert (ada.customer_id, ada.notes) == ("A375", "Called.")


@needs_server_db
@pytest.mark.django_db(transaction=True)
def test_delete_committed_between_load_and_update_is_reported_and_not_undone(
    alice: User, ada: Customer, race: list[Callable[[Any], None]]
) -> None:
    client = client_for(alice)
    url = change_url(ada, "race")
    values = form_values(client.get(url), "customer_form")
    race.append(lambda pk: Customer.objects.filter(pk=pk).delete())

    response = client.post(url, with_values(values, given_name="Adeline"))

    assert response.status_code == 302
    assert "was deleted by someone else after you opened it" in messages_of(response)[0]
    assert not Customer.objects.exists()


def test_add_view_needs_no_version(alice: User) -> None:
    client = client_for(alice)
    url = reverse("admin:customers_customer_add")
    values = form_values(client.get(url), "customer_form")
    assert TOKEN_FIELD not in values

    response = client.post(
        url, with_values(values, customer_id="Z999", given_name="Zoe", family_name="Zed")
    )

    assert response.status_code == 302
    assert Customer.objects.get(customer_id="Z999").version == 1


def test_view_only_user_sees_the_form_without_a_version_and_cannot_post(ada: Customer) -> None:
    viewer = staff_with("vera", "view_customer")
    client = client_for(viewer)

    page = client.get(change_url(ada))

    assert page.status_code == 200
    assert TOKEN_FIELD not in page.content.decode()
    assert client.post(change_url(ada), {"given_name": "X"}).status_code == 403


def test_readonly_user_can_save_over_after_a_conflict(ada: Customer) -> None:
    carol = staff_with("carol", "view_customer", "change_customer")
    client = client_for(carol)
    url = change_url(ada, "limited")
    values = form_values(client.get(url), "customer_form")
    Customer.objects.filter(pk=ada.pk).update(email="countess@example.com")
    conflict_page = client.post(url, with_values(values, given_name="Augusta"))

    response = client.post(
        url, {**form_values(conflict_page, "customer_form"), "_continue": OVERWRITE_VALUE}
    )

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.given_name, ada.email) == ("Augusta", "countess@example.com")
