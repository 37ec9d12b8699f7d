"""The three-way comparison (django_etag_lock/changes.py)."""

from __future__ import annotations

import pytest
from customers.models import Customer

from django_etag_lock.changes import diff, same_value, snapshot_fields
from django_etag_lock.tokens import VersionToken
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NAMES = ["given_name", "family_name", "email", "notes"]


def test_snapshot_fields_leave_out_the_pk_the_version_and_non_fields() -> None:
    names = ["id", "version", "given_name", "given_name", "full_name", "email"]

    assert [f.name for f in snapshot_fields(Customer, names)] == ["given_name", "email"]


@pytest.mark.parametrize(
    ("a", "b", "same"), [(None, "", True), ("", None, True), ("x", "x", True), ("x", "", False)]
)
def test_same_value_treats_none_and_empty_string_alike(a: object, b: object, same: bool) -> None:
    assert same_value(Customer._meta.get_field("email"), a, b) is same


def test_diff_gives_each_changed_field_its_status() -> None:
    customer = CustomerFactory(given_name="Ada", family_name="Lovelace", email="a@x.org", notes="")
    fields = snapshot_fields(Customer, NAMES)
    token = VersionToken.for_instance(customer, fields)
    Customer.objects.filter(pk=customer.pk).update(
        given_name="Augusta", family_name="King", notes="n"
    )
    current = Customer.objects.get(pk=customer.pk)
    mine = {"given_name": "Adeline", "family_name": "King", "email": "b@x.org"}

    changes = {c.name: c for c in diff(fields, token, current, mine=mine, labels={"email": "Mail"})}

    assert {name: c.status for name, c in changes.items()} == {
        "given_name": "both",
        "family_name": "same",
        "email": "mine",
        "notes": "theirs",
    }
    assert (changes["notes"].editable, changes["notes"].mine) == (False, None)
    assert changes["email"].label == "Mail"
    assert changes["given_name"].label == "Given name"
    assert changes["given_name"].keeps_mine
    assert not changes["family_name"].keeps_mine


def test_diff_without_mine_reports_only_their_changes_as_read_only() -> None:
    customer = CustomerFactory(given_name="Ada")
    fields = snapshot_fields(Customer, NAMES)
    token = VersionToken.for_instance(customer, fields)
    Customer.objects.filter(pk=customer.pk).update(given_name="Augusta")

    changes = diff(fields, token, Customer.objects.get(pk=customer.pk))

    assert [(c.name, c.status, c.editable, c.started, c.current) for c in changes] == [
        ("given_name", "theirs", False, "Ada", "Augusta")
    ]


def test_field_missing_from_the_snapshot_counts_as_unchanged() -> None:
    customer = CustomerFactory(given_name="Ada")
    token = VersionToken.for_instance(customer, [])
    Customer.objects.filter(pk=customer.pk).update(given_name="Augusta")

    assert diff(snapshot_fields(Customer, NAMES), token, Customer.objects.get(pk=customer.pk)) == []
