"""RFC 9110 preconditions on ETagLockMixin views: If-Match, If-None-Match, dates, order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

from django_etag_lock.etags import format_http_date
from django_etag_lock.rest_framework import (
    PROBLEM_TYPE_MALFORMED_PRECONDITION,
)
from tests.factories import BookFactory, CustomerFactory
from tests.rest_framework.helpers import (
    book_url,
    bump,
    customer_url,
    problem,
    stored,
)
from tests.testapp import views
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db


# -- If-Match on writes: 428 without it, 412 when stale ------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_write_without_if_match_is_428(api, method):
    book = BookFactory(title="keep")
    response = getattr(api, method)(book_url(book.pk), {"title": "new"}, format="json")
    assert response.status_code == 428
    assert problem(response)["reason"] == "if-match-missing"
    assert stored(book).title == "keep"
    assert stored(book).version == 1


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_stale_if_match_is_412_and_writes_nothing(api, method):
    book = BookFactory(title="keep")
    bump(book)
    response = getattr(api, method)(
        book_url(book.pk), {"title": "new"}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert response.status_code == 412
    assert problem(response)["reason"] == "if-match-failed"
    assert stored(book).title == "keep"
    assert stored(book).version == 2


def test_delete_with_current_if_match_is_204(api):
    book = BookFactory()
    response = api.delete(book_url(book.pk), HTTP_IF_MATCH='"1"')
    assert response.status_code == 204
    assert not response.has_header("ETag")
    assert not Book.objects.filter(pk=book.pk).exists()


def test_if_match_star_matches_any_existing_object(api):
    book = BookFactory()
    bump(book)
    response = api.patch(book_url(book.pk), {"pages": 1}, HTTP_IF_MATCH="*", format="json")
    assert response.status_code == 200
    assert response["ETag"] == '"3"'


def test_if_match_list_matches_if_any_member_does(api):
    book = BookFactory()
    bump(book)
    response = api.patch(
        book_url(book.pk), {"pages": 1}, HTTP_IF_MATCH='"7", "2", "9"', format="json"
    )
    assert response.status_code == 200
    response = api.patch(book_url(book.pk), {"pages": 1}, HTTP_IF_MATCH='"7", "2"', format="json")
    assert response.status_code == 412


def test_weak_tag_in_if_match_is_412(api):
    book = BookFactory()
    response = api.patch(book_url(book.pk), {"pages": 1}, HTTP_IF_MATCH='W/"1"', format="json")
    assert response.status_code == 412
    body = problem(response)
    assert body["reason"] == "if-match-failed"
    assert "strong comparison" in body["detail"]
    assert stored(book).version == 1


def test_optional_if_match_allows_an_unconditional_write(api):
    book = BookFactory()
    bump(book)
    response = api.patch(book_url(book.pk, "optional-books"), {"pages": 5}, format="json")
    assert response.status_code == 200
    assert response["ETag"] == '"3"'
    assert stored(book).pages == 5


def test_optional_if_match_still_checks_a_sent_if_match(api):
    book = BookFactory()
    bump(book)
    response = api.patch(
        book_url(book.pk, "optional-books"), {"pages": 5}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert response.status_code == 412


def test_setting_makes_if_match_optional(api):
    book = BookFactory()
    with override_settings(ETAG_LOCK_REQUIRE_IF_MATCH=False):
        response = api.patch(book_url(book.pk), {"pages": 5}, format="json")
    assert response.status_code == 200


def test_star_refused_by_view_attribute(api):
    book = BookFactory()
    response = api.patch(
        book_url(book.pk, "no-star-books"), {"pages": 5}, HTTP_IF_MATCH="*", format="json"
    )
    assert response.status_code == 412
    assert problem(response)["reason"] == "if-match-star-refused"
    assert stored(book).version == 1


def test_star_refused_by_setting(api):
    book = BookFactory()
    with override_settings(ETAG_LOCK_ALLOW_IF_MATCH_STAR=False):
        response = api.delete(book_url(book.pk), HTTP_IF_MATCH="*")
    assert response.status_code == 412
    assert Book.objects.filter(pk=book.pk).exists()


def test_custom_action_honours_if_match(api):
    book = BookFactory()
    bump(book)
    response = api.post(f"/t/books/{book.pk}/touch/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert stored(book).version == 2


# -- If-None-Match: 304 on reads, 412 on writes --------------------------------------


def test_if_none_match_current_tag_on_get_is_304_with_etag(api):
    book = BookFactory()
    response = api.get(book_url(book.pk), HTTP_IF_NONE_MATCH='"1"')
    assert response.status_code == 304
    assert response["ETag"] == '"1"'
    assert response["Cache-Control"] == "private, no-cache"
    assert response.content == b""
    assert not response.has_header("Content-Type")


def test_weak_tag_in_if_none_match_is_304(api):
    book = BookFactory()
    assert api.get(book_url(book.pk), HTTP_IF_NONE_MATCH='W/"1"').status_code == 304


def test_if_none_match_on_head_is_304(api):
    book = BookFactory()
    response = api.head(book_url(book.pk), HTTP_IF_NONE_MATCH='"0", "1"')
    assert response.status_code == 304
    assert response["ETag"] == '"1"'


def test_if_none_match_stale_tag_on_get_is_200(api):
    book = BookFactory()
    bump(book)
    response = api.get(book_url(book.pk), HTTP_IF_NONE_MATCH='"1"')
    assert response.status_code == 200
    assert response["ETag"] == '"2"'


def test_if_none_match_star_on_get_is_304(api):
    book = BookFactory()
    assert api.get(book_url(book.pk), HTTP_IF_NONE_MATCH="*").status_code == 304


def test_if_none_match_that_matches_on_a_write_is_412(api):
    book = BookFactory()
    response = api.patch(
        book_url(book.pk),
        {"pages": 1},
        HTTP_IF_MATCH='"1"',
        HTTP_IF_NONE_MATCH='"1"',
        format="json",
    )
    assert response.status_code == 412
    assert problem(response)["reason"] == "if-none-match-failed"
    assert stored(book).version == 1


def test_if_none_match_star_on_a_write_of_an_existing_object_is_412(api):
    book = BookFactory()
    response = api.put(
        book_url(book.pk, "optional-books"), {"title": "t"}, HTTP_IF_NONE_MATCH="*", format="json"
    )
    assert response.status_code == 412
    assert stored(book).version == 1


def test_if_none_match_that_does_not_match_lets_a_write_through(api):
    book = BookFactory()
    response = api.patch(
        book_url(book.pk),
        {"pages": 1},
        HTTP_IF_MATCH='"1"',
        HTTP_IF_NONE_MATCH='"5"',
        format="json",
    )
    assert response.status_code == 200


# -- Last-Modified and the date preconditions ----------------------------------------


def test_last_modified_is_sent_when_the_view_names_a_field(api):
    book = BookFactory()
    response = api.get(book_url(book.pk, "optional-books"))
    assert response["Last-Modified"] == format_http_date(stored(book).updated_at)


def test_no_last_modified_without_a_field(api):
    book = BookFactory()
    assert not api.get(book_url(book.pk)).has_header("Last-Modified")


def test_demo_api_sends_last_modified_from_updated_at(api):
    customer = CustomerFactory()
    response = api.get(customer_url(customer.pk))
    assert response["Last-Modified"] == format_http_date(stored(customer).updated_at)


def test_if_modified_since_not_modified_is_304(api):
    book = BookFactory()
    later = format_http_date(stored(book).updated_at + timedelta(seconds=5))
    response = api.get(book_url(book.pk, "optional-books"), HTTP_IF_MODIFIED_SINCE=later)
    assert response.status_code == 304
    assert response["Last-Modified"] == format_http_date(stored(book).updated_at)


def test_if_unmodified_since_older_than_the_row_is_412(api):
    book = BookFactory()
    earlier = format_http_date(stored(book).updated_at - timedelta(hours=1))
    response = api.patch(
        book_url(book.pk, "optional-books"),
        {"pages": 1},
        HTTP_IF_UNMODIFIED_SINCE=earlier,
        format="json",
    )
    assert response.status_code == 412
    assert problem(response)["reason"] == "if-unmodified-since-failed"
    assert stored(book).version == 1


def test_if_unmodified_since_not_older_lets_an_optional_write_through(api):
    book = BookFactory()
    later = format_http_date(stored(book).updated_at + timedelta(seconds=5))
    response = api.patch(
        book_url(book.pk, "optional-books"),
        {"pages": 1},
        HTTP_IF_UNMODIFIED_SINCE=later,
        format="json",
    )
    assert response.status_code == 200


def test_if_unmodified_since_is_ignored_when_if_match_is_present(api):
    book = BookFactory()
    earlier = format_http_date(stored(book).updated_at - timedelta(hours=1))
    response = api.patch(
        book_url(book.pk, "optional-books"),
        {"pages": 1},
        HTTP_IF_MATCH='"1"',
        HTTP_IF_UNMODIFIED_SINCE=earlier,
        format="json",
    )
    assert response.status_code == 200


def test_if_unmodified_since_alone_does_not_satisfy_the_if_match_requirement(api):
    customer = CustomerFactory()
    later = format_http_date(stored(customer).updated_at + timedelta(seconds=5))
    response = api.patch(
        customer_url(customer.pk), {"notes": "x"}, HTTP_IF_UNMODIFIED_SINCE=later, format="json"
    )
    assert response.status_code == 428
    assert stored(customer).version == 1


def test_if_unmodified_since_race_is_caught_by_the_compare_and_set(api, monkeypatch):
    book = BookFactory()
    later = format_http_date(stored(book).updated_at + timedelta(seconds=5))
    original = views.OptionalIfMatchBookViewSet.check_preconditions

    def check_then_lose_race(self, instance):
        original(self, instance)
        bump(instance)  # same second: the date alone could never tell

    monkeypatch.setattr(
        views.OptionalIfMatchBookViewSet, "check_preconditions", check_then_lose_race
    )
    response = api.patch(
        book_url(book.pk, "optional-books"),
        {"pages": 42},
        HTTP_IF_UNMODIFIED_SINCE=later,
        format="json",
    )
    assert response.status_code == 412
    assert problem(response)["reason"] == "concurrent-write"
    assert stored(book).pages != 42


# -- Order: 404 and 403 first, then preconditions, then body validation --------------


def test_404_comes_before_428(api):
    assert api.put(book_url(999999), {"title": "x"}, format="json").status_code == 404


def test_404_comes_before_412(api):
    response = api.delete(book_url(999999), HTTP_IF_MATCH='"1"')
    assert response.status_code == 404


def test_403_comes_before_412(api):
    book = BookFactory(title="locked")
    response = api.patch(
        book_url(book.pk, "guarded-books"), {"pages": 1}, HTTP_IF_MATCH='"9"', format="json"
    )
    assert response.status_code == 403


def test_403_comes_before_428(api):
    book = BookFactory(title="locked")
    response = api.delete(book_url(book.pk, "guarded-books"))
    assert response.status_code == 403


def test_stale_tag_with_an_invalid_body_is_412(api):
    book = BookFactory()
    bump(book)
    response = api.patch(
        book_url(book.pk), {"pages": "not a number"}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert response.status_code == 412


def test_missing_tag_with_an_invalid_body_is_428(api):
    book = BookFactory()
    response = api.patch(book_url(book.pk), {"pages": "not a number"}, format="json")
    assert response.status_code == 428


def test_fresh_tag_with_an_invalid_body_is_400_and_writes_nothing(api):
    book = BookFactory()
    response = api.patch(
        book_url(book.pk), {"pages": "not a number"}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert response.status_code == 400
    assert "pages" in response.json()
    assert stored(book).version == 1


# -- Malformed validators ------------------------------------------------------------


MALFORMED = {
    "unquoted": "1",
    "empty": "",
    "blank": "   ",
    "garbage": "garbage",
    "unterminated": '"1',
    "star-in-list": '*, "1"',
    "lowercase-weak": 'w/"1"',
    "too-many-tags": ", ".join(f'"{i}"' for i in range(100)),
    "thousands-of-tags": ", ".join(f'"{i}"' for i in range(5000)),
    "not-latin-1": '"\u263a"',
    "control-char": '"1\x01"',
}


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_malformed_if_match_on_a_write_is_400_problem_and_writes_nothing(api, method, value):
    book = BookFactory(title="keep")
    response = getattr(api, method)(
        book_url(book.pk), {"title": "new"}, HTTP_IF_MATCH=value, format="json"
    )
    assert response.status_code == 400
    body = problem(response)
    assert body["type"] == PROBLEM_TYPE_MALFORMED_PRECONDITION
    assert body["reason"] == "malformed-if-match"
    assert body["header"] == "If-Match"
    assert stored(book).title == "keep"
    assert stored(book).version == 1


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_if_none_match_on_a_write_is_400(api, value):
    book = BookFactory()
    response = api.patch(
        book_url(book.pk), {"pages": 2}, HTTP_IF_MATCH='"1"', HTTP_IF_NONE_MATCH=value
    )
    assert response.status_code == 400
    assert problem(response)["reason"] == "malformed-if-none-match"
    assert stored(book).version == 1


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_if_none_match_on_get_is_ignored(api, value):
    book = BookFactory()
    response = api.get(book_url(book.pk), HTTP_IF_NONE_MATCH=value)
    assert response.status_code == 200
    assert response["ETag"] == '"1"'


def test_malformed_if_match_on_get_is_412(api):
    book = BookFactory()
    response = api.get(book_url(book.pk), HTTP_IF_MATCH="1")
    assert response.status_code == 412
    assert problem(response)["reason"] == "malformed-if-match"


def test_latin_1_bytes_in_if_match_are_a_tag_that_does_not_match(api):
    book = BookFactory()
    # What a WSGI server hands over for the UTF-8 bytes of '"é"': latin-1 text.
    value = '"\u00e9"'.encode().decode("latin-1")
    response = api.patch(book_url(book.pk), {"pages": 2}, HTTP_IF_MATCH=value, format="json")
    assert response.status_code == 412
    assert stored(book).version == 1


def test_max_tags_follows_the_setting(api):
    book = BookFactory()
    value = ", ".join(f'"{i}"' for i in range(1, 11))
    with override_settings(ETAG_LOCK_MAX_IF_MATCH_TAGS=5):
        response = api.patch(book_url(book.pk), {"pages": 2}, HTTP_IF_MATCH=value, format="json")
    assert response.status_code == 400
    response = api.patch(book_url(book.pk), {"pages": 2}, HTTP_IF_MATCH=value, format="json")
    assert response.status_code == 200
