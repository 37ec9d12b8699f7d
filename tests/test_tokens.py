"""The signed version token (django_etag_lock/tokens.py)."""

from __future__ import annotations

import datetime

import pytest
from customers.models import Customer
from django.core import signing

from django_etag_lock.changes import snapshot_fields
from django_etag_lock.tokens import VersionToken
from tests.factories import BookFactory, CustomerFactory
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db


def test_token_round_trips_the_version_and_values_losslessly() -> None:
    customer = CustomerFactory(given_name="Ada", notes="")
    customer.save()  # version 2
    fields = snapshot_fields(Customer, ["given_name", "notes", "updated_at"])

    token = VersionToken.load(VersionToken.for_instance(customer, fields).sign(), Customer)

    assert token is not None
    assert (token.pk, token.version) == (str(customer.pk), 2)
    by_name = {field.name: field for field in fields}
    assert token.value(by_name["given_name"]) == "Ada"
    assert token.value(by_name["updated_at"]) == customer.updated_at  # microseconds kept


def test_token_of_another_model_or_row_does_not_load() -> None:
    customer = CustomerFactory()
    signed = VersionToken.for_instance(customer, []).sign()

    assert VersionToken.load(signed, Book) is None
    assert VersionToken.load(signed, Customer, pk=customer.pk + 1) is None
    assert VersionToken.load(signed, Customer, pk=customer.pk) is not None


@pytest.mark.parametrize("value", [None, "", 7, "garbage", "a:b:c"])
def test_anything_but_a_genuine_token_loads_as_none(value: object) -> None:
    assert VersionToken.load(value, Customer) is None


def test_token_signed_before_the_move_out_of_forms_still_loads() -> None:
    book = BookFactory(title="Dune")
    payload = {"m": "testapp.book", "pk": str(book.pk), "v": 1, "f": {"title": "Dune"}}
    payload["t"] = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).isoformat()
    signed = signing.dumps(payload, salt="django_etag_lock.forms.VersionToken", compress=True)

    token = VersionToken.load(signed, Book)

    assert token is not None
    assert (token.version, dict(token.values)) == (1, {"title": "Dune"})


def test_value_of_a_field_outside_the_snapshot_is_a_key_error() -> None:
    book = BookFactory()
    token = VersionToken.for_instance(book, [])

    with pytest.raises(KeyError):
        token.value(Book._meta.get_field("title"))
