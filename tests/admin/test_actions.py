"""Actions (django_etag_lock/admin/actions.py): selected rows that changed since the
list was shown are left out and named; delete_selected compares each row.
"""

from __future__ import annotations

import pytest
from customers.models import Customer
from django.contrib.auth.models import User

from django_etag_lock.admin import SEEN_FIELD
from django_etag_lock.forms import (
    OVERWRITE_VALUE,
)
from tests.admin.helpers import (
    change_url,
    changelist_url,
    client_for,
    form_values,
    headline,
    messages_of,
    select,
    with_values,
)
from tests.admin.urls import CHANGE_FORM_ACTIONS

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.admin.urls")]


def test_changelist_checkboxes_carry_the_version_of_each_row(
    alice: User, three: list[Customer]
) -> None:
    three[0].save()
    values = form_values(client_for(alice).get(changelist_url(Customer)), "changelist-form")

    assert sorted(values[SEEN_FIELD]) == sorted(f"{c.pk}:{c.version}" for c in three)


def test_delete_selected_leaves_out_rows_changed_since_the_list_and_names_them(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    Customer.objects.filter(pk=three[1].pk).update(notes="changed")

    page = client.post(changelist_url(Customer), select(values, "delete_selected", *three[:2]))

    assert page.status_code == 200
    assert str(three[1]) in messages_of(page)[0]
    confirm = form_values(page)
    assert confirm["_selected_action"] == [str(three[0].pk)]
    assert confirm[SEEN_FIELD] == [f"{three[0].pk}:1"]

    done = client.post(changelist_url(Customer), confirm)

    assert done.status_code == 302
    assert set(Customer.objects.values_list("customer_id", flat=True)) == {"C1", "C2"}


def test_change_between_delete_confirmation_and_confirming_spares_that_row(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    confirm = form_values(
        client.post(changelist_url(Customer), select(values, "delete_selected", *three[:2]))
    )
    assert sorted(confirm[SEEN_FIELD]) == sorted(f"{c.pk}:1" for c in three[:2])
    Customer.objects.filter(pk=three[0].pk).update(notes="changed")

    done = client.post(changelist_url(Customer), confirm)

    assert set(Customer.objects.values_list("customer_id", flat=True)) == {"C0", "C2"}
    sent = messages_of(done)
    assert any(str(three[0]) in m and "Left alone" in m for m in sent)
    assert any("Successfully deleted 1 customer" in m for m in sent)


def test_delete_selected_deletes_each_row_with_a_compare_and_set(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, "racy")
    values = form_values(client.get(url), "changelist-form")
    confirm = form_values(client.post(url, select(values, "delete_selected", *three[:2])))

    done = client.post(url, confirm)

    assert done.status_code == 302
    assert Customer.objects.count() == 3
    assert "Nothing was done" in messages_of(done)[0]
    assert Customer.objects.get(pk=three[0].pk).notes == ""  # rolled back with the rest


def test_custom_action_is_not_applied_to_rows_changed_since_the_list(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, "actions")
    values = form_values(client.get(url), "changelist-form")
    Customer.objects.filter(pk=three[0].pk).update(given_name="Augusta")

    response = client.post(url, select(values, "mark_notes", *three[:2]))

    assert response.status_code == 302
    notes = dict(Customer.objects.values_list("customer_id", "notes"))
    assert notes == {"C0": "", "C1": "marked", "C2": ""}
    assert str(Customer.objects.get(customer_id="C0")) in messages_of(response)[0]


def test_action_posted_without_versions_is_refused(alice: User, three: list[Customer]) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, "actions")
    data = {"action": "mark_notes", "index": "0", "_selected_action": [str(three[0].pk)]}

    response = client.post(url, data)

    assert response.status_code == 302
    assert "did not say which version" in messages_of(response)[0]
    assert Customer.objects.get(pk=three[0].pk).notes == ""


def test_select_across_acts_on_rows_not_shown_at_their_current_version(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, "actions")  # two rows per page
    values = form_values(client.get(url), "changelist-form")
    shown = [c for c in three if f"{c.pk}:1" in values[SEEN_FIELD]]
    assert len(shown) == 2
    data = select(values, "delete_selected", *shown)
    data["select_across"] = ["1"]

    confirm = form_values(client.post(url, data))

    assert sorted(confirm[SEEN_FIELD]) == sorted(f"{c.pk}:1" for c in three)
    client.post(url, confirm)
    assert not Customer.objects.exists()


needs_change_form_actions = pytest.mark.skipif(
    not CHANGE_FORM_ACTIONS, reason="actions on the change form arrived in Django 6.1"
)


@needs_change_form_actions
def test_change_form_action_is_not_applied_to_a_row_changed_since_the_form(
    alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    url = change_url(ada, "formactions")
    values = form_values(client.get(url), "customer_form")
    assert values["_selected_action"] == [str(ada.pk)]
    Customer.objects.filter(pk=ada.pk).update(given_name="Augusta")

    response = client.post(url, {**values, "CHANGE_FORM-action": "mark_notes"})

    assert response.status_code == 302
    assert "Left alone" in messages_of(response)[0]
    assert Customer.objects.get(pk=ada.pk).notes == "Prefers email."


@needs_change_form_actions
def test_overwrite_button_is_not_taken_for_a_change_form_action(alice: User, ada: Customer) -> None:
    client = client_for(alice)
    url = change_url(ada, "formactions")
    values = form_values(client.get(url), "customer_form")
    Customer.objects.filter(pk=ada.pk).update(family_name="King")
    # Browsers send the clicked button; without it Django 6.1 reads an action.
    conflict_page = client.post(url, with_values(values, given_name="Augusta", _save="Save"))
    assert "Nothing was saved" in headline(conflict_page)

    response = client.post(
        url, {**form_values(conflict_page, "customer_form"), "_continue": OVERWRITE_VALUE}
    )

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.given_name, ada.family_name, ada.notes) == ("Augusta", "King", "Prefers email.")
