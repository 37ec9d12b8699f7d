"""The conflict report (django_etag_lock/admin/conflicts.py): who changed the row and
when, the field-by-field table, only what the user may see, everything escaped.
"""

from __future__ import annotations

from typing import Any

import pytest
from customers.models import Customer
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User

from tests.admin.helpers import (
    change_url,
    client_for,
    conflict_rows,
    delete_url,
    form_values,
    headline,
    staff_with,
    token_of,
    who_changed,
    with_values,
)
from tests.factories import ShelfFactory
from tests.testapp.models import Shelf

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.admin.urls")]


def test_stale_save_writes_nothing_and_names_who_changed_it_and_when(
    conflict: dict[str, Any], ada: Customer
) -> None:
    response = conflict["response"]

    assert response.status_code == 200
    text = headline(response)
    assert "changed by alice after you opened it" in text
    assert "last change:" in text
    assert "Nothing was saved" in text
    ada.refresh_from_db()
    assert (ada.given_name, ada.family_name, ada.email, ada.version) == (
        "Adeline",
        "King",
        "ada@example.com",
        2,
    )
    assert LogEntry.objects.filter(user__username="bob").count() == 0


def test_conflict_table_shows_started_saved_and_mine_with_who_changed_what(
    conflict: dict[str, Any],
) -> None:
    rows = conflict_rows(conflict["response"])

    assert rows["given_name"] == ("Ada", "Adeline", "Augusta", "both")
    assert rows["family_name"] == ("Lovelace", "King", "Lovelace", "theirs")
    assert rows["email"] == ("ada@example.com", "ada@example.com", "aug@example.com", "mine")
    assert rows["updated_at"][2:] == ("(read-only)", "theirs")
    assert "notes" not in rows
    assert "customer_id" not in rows
    texts = who_changed(conflict["response"])
    assert texts["family_name"] == "Changed only by alice: the form now shows their value."
    assert texts["given_name"] == "Changed by you and by alice: the form keeps your value."
    assert texts["email"] == "Changed only by you: your value is in the form."
    assert texts["updated_at"] == "Changed by alice."  # read-only; every write since is logged


def test_change_made_outside_the_admin_is_dated_from_the_auto_now_field(
    alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    values = form_values(client.get(change_url(ada)), "customer_form")
    ada.notes = "Called on Monday."
    ada.save()

    response = client.post(change_url(ada), with_values(values, given_name="Adeline"))

    assert "was changed at" in headline(response)
    assert "changed by" not in headline(response)
    assert conflict_rows(response)["notes"][:2] == ("Prefers email.", "Called on Monday.")


def test_admin_change_plus_a_change_outside_the_admin_says_both(
    conflict: dict[str, Any], ada: Customer
) -> None:
    values = form_values(conflict["response"], "customer_form")
    ada.refresh_from_db()
    ada.notes = "Imported."
    ada.save()

    response = conflict["bob"].post(conflict["url"], {**values, "_save": "Save"})

    assert "changed by alice" in headline(response)
    assert "also changed outside the admin" in headline(response)
    texts = who_changed(response)
    assert texts["notes"].startswith("Changed only by someone else:")
    assert texts["family_name"] == "You and alice made the same change."  # the form took it


def test_change_without_log_or_timestamp_says_only_that_someone_changed_it(alice: User) -> None:
    shelf = ShelfFactory(name="Fiction")
    client = client_for(alice)
    values = form_values(client.get(change_url(shelf, "shelf")), "shelf_form")
    Shelf.objects.filter(pk=shelf.pk).update(name="Novels")

    response = client.post(change_url(shelf, "shelf"), with_values(values, name="Stories"))

    assert "was changed by someone else after you opened it" in headline(response)
    assert conflict_rows(response)["name"] == ("Fiction", "Novels", "Stories", "both")


def test_same_user_in_another_window_is_named_as_such(alice: User, ada: Customer) -> None:
    first, second = client_for(alice), client_for(alice)
    values = form_values(first.get(change_url(ada)), "customer_form")
    other = form_values(second.get(change_url(ada)), "customer_form")
    second.post(change_url(ada), with_values(other, email="new@example.com"))

    response = first.post(change_url(ada), with_values(values, given_name="Adeline"))

    assert "changed by you (in another window)" in headline(response)


def test_conflict_table_and_token_hold_only_the_fields_the_user_can_see(
    ada: Customer,
) -> None:
    carol = staff_with("carol", "view_customer", "change_customer")
    client = client_for(carol)
    url = change_url(ada, "limited")
    values = form_values(client.get(url), "customer_form")
    assert set(token_of(values).values) == {"given_name", "family_name", "email"}
    Customer.objects.filter(pk=ada.pk).update(
        family_name="King", email="countess@example.com", notes="secret", customer_id="Z1"
    )

    response = client.post(url, with_values(values, given_name="Augusta"))

    rows = conflict_rows(response)
    assert set(rows) == {"given_name", "family_name", "email"}
    assert rows["email"] == ("ada@example.com", "countess@example.com", "(read-only)", "theirs")
    assert who_changed(response)["email"] == "Changed by someone else."  # not in the log
    assert rows["given_name"][2:] == ("Augusta", "mine")
    assert "secret" not in response.content.decode()
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Ada", 2)


def test_every_value_in_the_conflict_page_is_escaped(alice: User, ada: Customer) -> None:
    client = client_for(alice)
    values = form_values(client.get(change_url(ada)), "customer_form")
    Customer.objects.filter(pk=ada.pk).update(
        given_name="<script>alert(1)</script>", notes='"><img src=x onerror=alert(2)>'
    )

    response = client.post(change_url(ada), with_values(values, family_name="<b>King</b>"))

    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "<b>King</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in conflict_rows(response)["given_name"][1]
    assert "&lt;b&gt;King&lt;/b&gt;" in conflict_rows(response)["family_name"][2]


# -- a project's own report -------------------------------------------------------------


def test_conflict_report_class_changes_the_change_form_warning_and_table(
    alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    url = change_url(ada, "report")
    values = form_values(client.get(url), "customer_form")
    Customer.objects.filter(pk=ada.pk).update(family_name="King")

    response = client.post(url, with_values(values, given_name="Adeline"))

    assert headline(response) == (
        "Too late for A375 Ada King: 1 newer version(s). "
        "Nothing was saved; your changes are kept below."
    )
    assert who_changed(response) == {"given_name": "status=mine", "family_name": "status=theirs"}
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Ada", 2)


def test_conflict_report_class_changes_the_delete_confirmation_too(
    alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    confirm = form_values(client.get(delete_url(ada, "report")))
    Customer.objects.filter(pk=ada.pk).update(family_name="King")

    response = client.post(delete_url(ada, "report"), confirm)

    assert headline(response).startswith("Too late for A375 Ada King: 1 newer version(s).")
    assert who_changed(response)["family_name"] == "status=theirs"
    assert Customer.objects.filter(pk=ada.pk).exists()


def test_get_conflict_report_hook_can_adjust_the_report_per_request(
    alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    url = change_url(ada, "reporthook")
    values = form_values(client.get(url), "customer_form")
    Customer.objects.filter(pk=ada.pk).update(family_name="King")

    response = client.post(url, with_values(values, given_name="Adeline"))

    assert conflict_rows(response)["family_name"] == (
        "&lt;Lovelace&gt;",
        "&lt;King&gt;",
        "&lt;Lovelace&gt;",
        "theirs",
    )
