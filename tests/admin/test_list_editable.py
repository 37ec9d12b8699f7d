"""list_editable (django_etag_lock/admin/list_editable.py): each row carries its
version; stale rows are left alone and named, fresh rows saved (or none).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from customers.models import Customer
from django.contrib.auth.models import User
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from django_etag_lock.forms import (
    TOKEN_FIELD,
)
from tests.admin.helpers import (
    changelist_url,
    client_for,
    edit_rows,
    form_values,
    messages_of,
    row_prefix,
    token_of,
)
from tests.admin.urls import LOCK_PROBES
from tests.utils import needs_server_db

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.admin.urls")]


def test_every_list_editable_row_carries_its_version(alice: User, three: list[Customer]) -> None:
    three[1].save()  # version 2
    values = form_values(client_for(alice).get(changelist_url(Customer)), "changelist-form")

    for customer in three:
        token = token_of({TOKEN_FIELD: values[f"{row_prefix(values, customer)}-{TOKEN_FIELD}"]})
        assert (token.pk, token.version) == (str(customer.pk), customer.version)


def test_list_editable_saves_fresh_rows_and_names_the_stale_ones(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    grace = three[1]
    grace.email = "grace.hopper@example.com"
    grace.save()

    response = client.post(
        changelist_url(Customer), edit_rows(values, C0="ada.new@example.com", C1="g@example.com")
    )

    assert response.status_code == 302
    emails = dict(Customer.objects.values_list("customer_id", "email"))
    assert emails == {
        "C0": "ada.new@example.com",
        "C1": "grace.hopper@example.com",
        "C2": "alan@example.com",
    }
    sent = messages_of(response)
    assert sent[0] == "1 customer was changed successfully."
    assert "Not saved" in sent[1]
    assert str(grace) in sent[1]
    assert str(three[0]) not in sent[1]


def test_list_editable_leaves_alone_stale_rows_the_user_did_not_edit(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    alan = three[2]
    alan.email = "turing@example.com"
    alan.save()

    response = client.post(changelist_url(Customer), edit_rows(values, C0="ada.new@example.com"))

    assert messages_of(response) == ["1 customer was changed successfully."]
    alan.refresh_from_db()
    assert (alan.email, alan.version) == ("turing@example.com", 2)


@pytest.mark.parametrize(
    ("site", "setting", "all_or_nothing"),
    [
        ("admin", False, False),
        ("admin", True, True),
        ("allornothing", False, True),
        ("partial", True, False),
    ],
)
def test_list_editable_all_or_nothing_from_the_setting_or_the_admin_attribute(
    site: str, setting: bool, all_or_nothing: bool, alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, site)
    values = form_values(client.get(url), "changelist-form")
    Customer.objects.filter(pk=three[1].pk).update(given_name="Grace Brewster")

    with override_settings(ETAG_LOCK_ADMIN_LIST_EDITABLE_ALL_OR_NOTHING=setting):
        response = client.post(url, edit_rows(values, C0="new@example.com", C1="g@example.com"))

    emails = dict(Customer.objects.values_list("customer_id", "email"))
    assert emails["C1"] == "grace@example.com"
    if all_or_nothing:
        assert emails["C0"] == "ada@example.com"
        assert "Nothing was saved" in messages_of(response)[0]
    else:
        assert emails["C0"] == "new@example.com"
        assert "Not saved" in messages_of(response)[1]


def test_list_editable_writes_with_one_compare_and_set_per_row(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")

    with CaptureQueriesContext(connection) as queries:
        client.post(changelist_url(Customer), edit_rows(values, C0="new@example.com"))

    table = Customer._meta.db_table
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].upper().startswith("UPDATE")]
    assert len(writes) == 1
    assert table in writes[0]
    where = writes[0][writes[0].upper().index("WHERE") :]
    assert "version" in where


def test_list_editable_row_without_its_version_is_an_error(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    del values[f"{row_prefix(values, three[0])}-{TOKEN_FIELD}"]

    response = client.post(changelist_url(Customer), edit_rows(values, C0="new@example.com"))

    assert response.status_code == 200
    assert "does not say which version" in response.content.decode()
    assert Customer.objects.get(customer_id="C0").email == "ada@example.com"


def test_row_that_loses_despite_the_lock_makes_the_whole_save_write_nothing(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, "behindthelock")
    values = form_values(client.get(url), "changelist-form")

    response = client.post(url, edit_rows(values, C0="new@example.com", C1="g@example.com"))

    assert response.status_code == 302
    emails = dict(Customer.objects.values_list("customer_id", "email"))
    assert (emails["C0"], emails["C1"]) == ("ada@example.com", "grace@example.com")
    assert Customer.objects.get(customer_id="C1").notes == ""  # rolled back with the rest
    sent = messages_of(response)
    assert len(sent) == 1
    assert "Nothing was saved" in sent[0]
    assert str(three[1]) in sent[0]


@pytest.fixture
def lock_probes() -> Iterator[list[str]]:
    yield LOCK_PROBES
    LOCK_PROBES.clear()


@needs_server_db
@pytest.mark.django_db(transaction=True)
def test_edited_rows_stay_locked_from_the_version_check_to_the_save(
    alice: User, three: list[Customer], lock_probes: list[str]
) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, "lockprobe")
    values = form_values(client.get(url), "changelist-form")

    response = client.post(url, edit_rows(values, C0="new@example.com", C2="a@example.com"))

    assert response.status_code == 302
    assert lock_probes == ["locked", "locked"]
    emails = dict(Customer.objects.values_list("customer_id", "email"))
    assert (emails["C0"], emails["C2"]) == ("new@example.com", "a@example.com")
