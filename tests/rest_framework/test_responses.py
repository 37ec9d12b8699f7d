"""Problem details responses (RFC 9457) of ETagLockMixin views."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_etag_lock.rest_framework import (
    PROBLEM_TYPE_PRECONDITION_FAILED,
    PROBLEM_TYPE_PRECONDITION_REQUIRED,
)
from tests.factories import BookFactory, CustomerFactory
from tests.rest_framework.helpers import (
    book_url,
    bump,
    customer_url,
    problem,
)

pytestmark = pytest.mark.django_db


# -- Problem details for 412, 428 and the malformed 400 ------------------------------


def test_412_problem_details(api):
    book = BookFactory()
    bump(book)
    response = api.patch(book_url(book.pk), {"pages": 1}, HTTP_IF_MATCH='"1"', format="json")
    body = problem(response)
    assert body["type"] == PROBLEM_TYPE_PRECONDITION_FAILED
    assert body["title"] == "Precondition Failed"
    assert body["instance"] == book_url(book.pk)
    assert body["header"] == "If-Match"
    assert body["detail"]
    assert body["current_etag"] == '"2"'
    assert response["ETag"] == '"2"'
    assert response["Cache-Control"] == "private, no-cache"
    assert "current" not in body


def test_428_problem_details_say_how_to_resend_and_give_no_tag(api):
    book = BookFactory()
    response = api.put(book_url(book.pk), {"title": "x"}, format="json")
    body = problem(response)
    assert body["type"] == PROBLEM_TYPE_PRECONDITION_REQUIRED
    assert body["title"] == "Precondition Required"
    assert body["instance"] == book_url(book.pk)
    assert "If-Match" in body["detail"]
    assert "GET" in body["detail"]
    assert "current_etag" not in body
    assert '"1"' not in response.content.decode()
    assert not response.has_header("ETag")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "accept", ["text/html", "application/json", "*/*", "application/problem+json, */*;q=0.1"]
)
def test_problem_content_type_whatever_the_accept_header(api, accept):
    customer = CustomerFactory()
    url = customer_url(customer.pk)
    statuses = []
    for if_match in (None, '"0"', "0"):
        headers = {"HTTP_IF_MATCH": if_match} if if_match else {}
        response = api.patch(url, {"notes": "x"}, HTTP_ACCEPT=accept, **headers)
        problem(response)
        statuses.append(response.status_code)
    assert statuses == [428, 412, 400]


def test_412_includes_the_representation_when_the_view_enables_it(api):
    book = BookFactory(title="theirs")
    bump(book)
    response = api.patch(
        book_url(book.pk, "rep-books"), {"pages": 1}, HTTP_IF_MATCH='"1"', format="json"
    )
    body = problem(response)
    assert body["current"]["title"] == "theirs"
    assert body["current"]["etag"] == '"2"'


def test_412_includes_the_representation_when_the_setting_enables_it(api):
    book = BookFactory()
    with override_settings(ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412=True):
        response = api.delete(book_url(book.pk), HTTP_IF_MATCH='"5"')
    assert problem(response)["current"]["id"] == book.pk


def test_412_hides_the_tag_from_a_caller_who_cannot_read(api):
    book = BookFactory()
    response = api.patch(
        book_url(book.pk, "write-only-books"), {"pages": 1}, HTTP_IF_MATCH='"5"', format="json"
    )
    assert response.status_code == 412
    body = problem(response)
    assert "current_etag" not in body
    assert "current" not in body
    assert not response.has_header("ETag")
