"""The documented recipe (tests/docs_examples/conflict_metrics.py) counts what it says."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from customers.models import Customer
from django.test import override_settings
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.signals import unconditional_write, write_refused
from tests.docs_examples import conflict_metrics
from tests.factories import BookFactory, CustomerFactory
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db


@pytest.fixture
def metrics() -> Iterator[None]:
    write_refused.connect(
        conflict_metrics.count_refused_write, dispatch_uid="myproject.count_refused_write"
    )
    unconditional_write.connect(
        conflict_metrics.count_unconditional_write,
        dispatch_uid="myproject.count_unconditional_write",
    )
    yield
    write_refused.disconnect(dispatch_uid="myproject.count_refused_write")
    unconditional_write.disconnect(dispatch_uid="myproject.count_unconditional_write")


def refused(source: str, model: str, reason: str) -> float:
    labels = {"source": source, "model": model, "reason": reason}
    return REGISTRY.get_sample_value("etag_lock_refused_writes_total", labels) or 0.0


def test_an_orm_conflict_is_counted_and_logged(metrics, caplog):
    book = BookFactory()
    mine = Book.objects.get(pk=book.pk)
    Book.objects.filter(pk=book.pk).update()
    before = refused("orm", "testapp.Book", "concurrent-write")
    with (
        caplog.at_level(logging.INFO, logger="myproject.conflicts"),
        pytest.raises(StaleObjectError),
    ):
        mine.save()
    assert refused("orm", "testapp.Book", "concurrent-write") == before + 1
    assert caplog.messages == [
        f"refused write: orm testapp.Book pk={book.pk!r} reason=concurrent-write "
        "expected=1 current=2"
    ]


def test_api_412_and_428_are_counted_by_reason(metrics):
    customer = CustomerFactory()
    url = f"/api/customers/{customer.pk}/"
    api = APIClient()
    stale = refused("rest_framework", "customers.Customer", "if-match-failed")
    missing = refused("rest_framework", "customers.Customer", "if-match-missing")
    assert api.patch(url, {"notes": "x"}, format="json", HTTP_IF_MATCH='"7"').status_code == 412
    assert api.patch(url, {"notes": "x"}, format="json").status_code == 428
    assert api.patch(url, {"notes": "x"}, format="json").status_code == 428
    assert refused("rest_framework", "customers.Customer", "if-match-failed") == stale + 1
    assert refused("rest_framework", "customers.Customer", "if-match-missing") == missing + 2


@override_settings(ETAG_LOCK_REQUIRE_IF_MATCH=False)
def test_unconditional_writes_are_counted_while_if_match_is_optional(metrics):
    customer = CustomerFactory()
    url = f"/api/customers/{customer.pk}/"
    api = APIClient()

    def count() -> float:
        value = REGISTRY.get_sample_value(
            "etag_lock_unconditional_writes_total", {"model": "customers.Customer"}
        )
        return value or 0.0

    before = count()
    assert api.patch(url, {"notes": "x"}, format="json").status_code == 200
    assert api.patch(url, {"notes": "y"}, format="json", HTTP_IF_MATCH='"2"').status_code == 200
    assert count() == before + 1
    assert Customer.objects.get(pk=customer.pk).version == 3
