"""unique.unique_violation(): the field a unique IntegrityError names, on every database."""

from __future__ import annotations

import pytest
from customers.models import Customer
from django.db import IntegrityError, transaction

from django_etag_lock.unique import UniqueViolation, unique_violation
from tests.factories import BookFactory, CustomerFactory
from tests.testapp.models import Book, Restaurant, Seat

pytestmark = pytest.mark.django_db(transaction=True)


def _integrity_error(write) -> IntegrityError:
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        write()
    return excinfo.value


def test_a_unique_field_is_named() -> None:
    CustomerFactory(customer_id="C-1")
    exc = _integrity_error(lambda: Customer.objects.create(customer_id="C-1", given_name="B"))
    assert unique_violation(exc, model=Customer, using="default") == UniqueViolation(
        Customer, ("customer_id",)
    )


def test_a_two_column_unique_constraint_names_both_fields() -> None:
    Seat.objects.create(code="A1", row="A", number=1)
    exc = _integrity_error(lambda: Seat.objects.create(code="A1-bis", row="A", number=1))
    assert unique_violation(exc, model=Seat, using="default") == UniqueViolation(
        Seat, ("row", "number")
    )


def test_a_duplicate_primary_key_names_the_pk() -> None:
    book = BookFactory()
    exc = _integrity_error(lambda: Book(pk=book.pk, title="again").save(force_insert=True))
    assert unique_violation(exc, model=Book, using="default") == UniqueViolation(Book, ("id",))


def test_a_not_null_violation_is_not_a_unique_violation() -> None:
    exc = _integrity_error(lambda: Seat.objects.create(code="B1", row="B", number=None))
    assert unique_violation(exc, model=Seat, using="default") is None


def test_a_unique_column_on_the_parent_table_is_found_for_the_child_model() -> None:
    restaurant = Restaurant.objects.create(name="first")
    exc = _integrity_error(
        lambda: Restaurant(place_ptr_id=None, pk=restaurant.pk, name="x").save_base(
            raw=True, force_insert=True
        )
    )
    violation = unique_violation(exc, model=Restaurant, using="default")
    assert violation is not None
    assert violation.fields in {("id",), ("place_ptr",)}
