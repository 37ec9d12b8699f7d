"""The DRF integration: ETags, RFC 9110 preconditions, atomic writes, problem details."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models.signals import post_save, pre_delete, pre_save
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient, APIRequestFactory

from django_etag_lock.etags import format_http_date
from django_etag_lock.rest_framework import (
    PROBLEM_TYPE_MALFORMED_PRECONDITION,
    PROBLEM_TYPE_PRECONDITION_FAILED,
    PROBLEM_TYPE_PRECONDITION_REQUIRED,
    ETagField,
    ETagLockMixin,
    PreconditionFailed,
    PreconditionRequired,
)
from tests.factories import BookFactory, CustomerFactory, ShelfFactory
from tests.testapp import views
from tests.testapp.models import Book, PlainBook, ShelfItem
from tests.utils import needs_server_db

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def book_url(pk: int, prefix: str = "books") -> str:
    return f"/t/{prefix}/{pk}/"


def customer_url(pk: int) -> str:
    return f"/api/customers/{pk}/"


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    data: dict[str, Any] = json.loads(response.content)
    assert data["status"] == response.status_code
    return data


def bump(obj: Any) -> None:
    """Another client's write, committed: the row moves to the next version."""
    type(obj).objects.filter(pk=obj.pk).update()


def stored(obj: Any) -> Any:
    return type(obj)._base_manager.get(pk=obj.pk)


# -- point 1: the mixin and the ready viewset -------------------------------------------


def test_model_viewset_is_the_mixin_on_drf_model_viewset():
    from rest_framework.viewsets import ModelViewSet

    from django_etag_lock.rest_framework import ETagLockModelViewSet

    assert issubclass(ETagLockModelViewSet, ETagLockMixin)
    assert issubclass(ETagLockModelViewSet, ModelViewSet)
    assert ETagLockModelViewSet.__mro__.index(ETagLockMixin) < ETagLockModelViewSet.__mro__.index(
        ModelViewSet
    )


def test_mixin_works_on_generic_views(api):
    book = BookFactory()
    response = api.get(f"/t/generic-books/{book.pk}/")
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert api.put(f"/t/generic-books/{book.pk}/", {"title": "x"}).status_code == 428
    response = api.put(
        f"/t/generic-books/{book.pk}/", {"title": "x"}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert response.status_code == 200
    assert response["ETag"] == '"2"'


def test_generic_create_view_answers_201_with_the_etag(api):
    response = api.post("/t/generic-books/", {"title": "New"}, format="json")
    assert response.status_code == 201
    assert response["ETag"] == '"1"'
    assert response.json()["etag"] == '"1"'


def test_view_on_an_unversioned_model_fails_naming_the_view_and_the_fix():
    request = APIRequestFactory().get("/")
    view = views.UnversionedViewSet.as_view({"get": "list"})
    with pytest.raises(ImproperlyConfigured) as excinfo:
        view(request)
    message = str(excinfo.value)
    assert "tests.testapp.views.UnversionedViewSet" in message
    assert "testapp.PlainBook" in message
    assert "VersionedModel" in message
    assert "remove ETagLockMixin" in message


def test_unversioned_instance_from_get_object_fails_too():
    class Sneaky(views.BookViewSet):
        def get_queryset(self):
            return PlainBook.objects.all()

    plain = PlainBook.objects.create(title="p")
    request = APIRequestFactory().get("/")
    with pytest.raises(ImproperlyConfigured, match="Sneaky"):
        Sneaky.as_view({"get": "retrieve"})(request, pk=plain.pk)


def test_per_view_attribute_overrides_the_setting(api, monkeypatch):
    book = BookFactory()
    # The setting says required; the view says optional.
    response = api.patch(book_url(book.pk, "optional-books"), {"pages": 2}, format="json")
    assert response.status_code == 200
    with override_settings(ETAG_LOCK_REQUIRE_IF_MATCH=False):
        # The setting says optional; a view without the attribute follows it.
        assert api.patch(book_url(book.pk), {"pages": 3}, format="json").status_code == 200
        monkeypatch.setattr(views.BookViewSet, "etag_lock_require_if_match", True)
        assert api.patch(book_url(book.pk), {"pages": 4}, format="json").status_code == 428


# -- point 2: ETags ---------------------------------------------------------------------


def test_get_sends_the_strong_etag_of_the_version(api):
    book = BookFactory()
    bump(book)
    response = api.get(book_url(book.pk))
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert response.json()["etag"] == '"2"'
    assert response["Cache-Control"] == "private, no-cache"


def test_head_sends_the_etag_without_a_body(api):
    book = BookFactory()
    response = api.head(book_url(book.pk))
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response["Cache-Control"] == "private, no-cache"
    assert response.content == b""


def test_create_answers_201_with_the_etag(api):
    response = api.post("/t/books/", {"title": "New"}, format="json")
    assert response.status_code == 201
    assert response["ETag"] == '"1"'
    assert response["Cache-Control"] == "private, no-cache"


def test_put_answers_200_with_the_etag_of_the_row_as_written(api):
    book = BookFactory()
    response = api.put(book_url(book.pk), {"title": "T", "pages": 5}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert response.json()["etag"] == '"2"'
    assert stored(book).version == 2


def test_patch_answers_200_with_the_etag_of_the_row_as_written(api):
    book = BookFactory()
    response = api.patch(book_url(book.pk), {"pages": 9}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert response.json()["version"] == 2


def test_list_items_carry_their_own_etag_and_the_list_none(api):
    first, second = BookFactory(), BookFactory()
    bump(second)
    response = api.get("/t/books/")
    assert response.status_code == 200
    assert not response.has_header("ETag")
    tags = {item["id"]: item["etag"] for item in response.json()}
    assert tags == {first.pk: '"1"', second.pk: '"2"'}


def test_cache_control_follows_the_setting(api):
    book = BookFactory()
    with override_settings(ETAG_LOCK_CACHE_CONTROL="private, max-age=0, must-revalidate"):
        response = api.get(book_url(book.pk))
    assert response["Cache-Control"] == "private, max-age=0, must-revalidate"
    with override_settings(ETAG_LOCK_CACHE_CONTROL=None):
        assert not api.get(book_url(book.pk)).has_header("Cache-Control")


def test_vary_accept_is_kept_when_the_view_has_several_renderers(api):
    customer = CustomerFactory()
    for response in (
        api.get(customer_url(customer.pk)),
        api.get(customer_url(customer.pk), HTTP_IF_NONE_MATCH='"1"'),
        api.patch(customer_url(customer.pk), {"notes": "x"}, HTTP_IF_MATCH='"9"'),
        api.patch(customer_url(customer.pk), {"notes": "x"}),
    ):
        assert "Accept" in [v.strip() for v in response["Vary"].split(",")], response.status_code


def test_no_vary_accept_when_the_view_has_one_renderer(api):
    book = BookFactory()
    response = api.get(book_url(book.pk))
    assert "Accept" not in [v.strip() for v in response.get("Vary", "").split(",")]


def test_browsable_api_gets_the_etag_too(api):
    customer = CustomerFactory()
    response = api.get(customer_url(customer.pk), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["ETag"] == '"1"'


def test_etag_field_is_read_only_and_a_string():
    field = ETagField()
    assert field.read_only
    assert field.to_representation(Book(version=7)) == '"7"'


def test_version_and_etag_in_the_body_are_ignored(api):
    book = BookFactory()
    response = api.patch(
        book_url(book.pk),
        {"pages": 3, "version": 99, "etag": '"99"'},
        HTTP_IF_MATCH='"1"',
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert stored(book).version == 2


def test_writable_version_field_in_a_serializer_cannot_steer_the_check(api):
    book = BookFactory()
    bump(book)  # now at 2
    # The client matched version 2; a body naming 1 or 3 must not change what is compared.
    response = api.patch(
        book_url(book.pk, "writable-version-books"),
        {"pages": 3, "version": 1},
        HTTP_IF_MATCH='"2"',
        format="json",
    )
    assert response.status_code == 200
    assert stored(book).version == 3
    assert stored(book).pages == 3


def test_writable_version_field_cannot_turn_a_race_into_an_overwrite(api, monkeypatch):
    book = BookFactory()  # version 1
    original = views.WritableVersionBookViewSet.check_preconditions

    def check_then_lose_race(self, instance):
        original(self, instance)
        bump(instance)  # another writer commits version 2

    monkeypatch.setattr(
        views.WritableVersionBookViewSet, "check_preconditions", check_then_lose_race
    )
    # Claiming version 2 in the body would make "WHERE version = 2" succeed over the
    # other writer's change; the check must compare the version If-Match matched.
    response = api.patch(
        book_url(book.pk, "writable-version-books"),
        {"pages": 77, "version": 2},
        HTTP_IF_MATCH='"1"',
        format="json",
    )
    assert response.status_code == 412
    assert stored(book).pages != 77
    assert stored(book).version == 2


def test_version_in_a_create_body_is_ignored(api):
    response = api.post("/t/writable-version-books/", {"title": "n", "version": 50}, format="json")
    assert response.status_code == 201
    assert Book.objects.get(pk=response.json()["id"]).version == 1
    assert response["ETag"] == '"1"'


# -- point 3: If-Match --------------------------------------------------------------------


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


# -- point 3: If-None-Match ------------------------------------------------------------


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


# -- point 3: Last-Modified / If-Unmodified-Since ---------------------------------------


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


# -- point 3: order ---------------------------------------------------------------------


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


# -- point 3: malformed validators ------------------------------------------------------

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


# -- point 4: atomic writes, races lost between the check and the write -----------------


@pytest.fixture
def lose_race(monkeypatch):
    """Make ``view_class`` lose a race: another writer commits right after the check."""

    def arm(view_class: type[ETagLockMixin], delete: bool = False) -> None:
        original = view_class.check_preconditions

        def check_then_lose_race(self, instance):
            original(self, instance)
            if delete:
                type(instance).objects.filter(pk=instance.pk).delete()
            else:
                bump(instance)

        monkeypatch.setattr(view_class, "check_preconditions", check_then_lose_race)

    return arm


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_race_lost_after_the_check_is_412_not_409_or_500(api, lose_race, method):
    book = BookFactory(title="keep")
    lose_race(views.BookViewSet)
    response = getattr(api, method)(
        book_url(book.pk), {"title": "mine"}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert response.status_code == 412
    body = problem(response)
    assert body["reason"] == "concurrent-write"
    assert body["current_etag"] == '"2"'
    assert response["ETag"] == '"2"'
    assert stored(book).title == "keep"
    assert stored(book).version == 2


def test_race_lost_to_a_delete_is_412_and_nothing_is_reinserted(api, lose_race):
    book = BookFactory()
    lose_race(views.BookViewSet, delete=True)
    response = api.patch(book_url(book.pk), {"pages": 3}, HTTP_IF_MATCH='"1"', format="json")
    assert response.status_code == 412
    body = problem(response)
    assert body["reason"] == "concurrent-delete"
    assert "current_etag" not in body
    assert not Book.objects.filter(pk=book.pk).exists()


def test_race_lost_rolls_back_nested_serializer_writes(api, lose_race):
    shelf = ShelfFactory()
    lose_race(views.ShelfViewSet)
    response = api.patch(
        f"/t/shelves/{shelf.pk}/",
        {"name": "mine", "items": [{"label": "a"}, {"label": "b"}]},
        HTTP_IF_MATCH='"1"',
        format="json",
    )
    assert response.status_code == 412
    assert not ShelfItem.objects.filter(shelf=shelf).exists()
    assert stored(shelf).name != "mine"


def test_nested_serializer_writes_are_kept_when_the_write_wins(api):
    shelf = ShelfFactory()
    response = api.patch(
        f"/t/shelves/{shelf.pk}/",
        {"name": "mine", "items": [{"label": "a"}]},
        HTTP_IF_MATCH='"1"',
        format="json",
    )
    assert response.status_code == 200
    assert ShelfItem.objects.filter(shelf=shelf).count() == 1


def test_race_lost_rolls_back_signal_receiver_writes(api, lose_race):
    book = BookFactory()

    def audit(sender, instance, **kwargs):
        PlainBook.objects.create(title=f"audit {instance.pk}")

    pre_save.connect(audit, sender=Book)
    try:
        lose_race(views.BookViewSet)
        response = api.patch(book_url(book.pk), {"pages": 3}, HTTP_IF_MATCH='"1"', format="json")
    finally:
        pre_save.disconnect(audit, sender=Book)
    assert response.status_code == 412
    assert not PlainBook.objects.exists()


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_without_atomic_writes_a_lost_race_is_still_412_and_writes_nothing(
    api, lose_race, monkeypatch, method
):
    monkeypatch.setattr(views.BookViewSet, "etag_lock_atomic_writes", False)
    book = BookFactory(title="keep")
    lose_race(views.BookViewSet)
    response = getattr(api, method)(
        book_url(book.pk), {"title": "mine"}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert response.status_code == 412
    assert problem(response)["reason"] == "concurrent-write"
    assert (stored(book).title, stored(book).version) == ("keep", 2)


@pytest.mark.django_db(transaction=True)
def test_atomic_writes_setting_off_writes_with_plain_drfs_statements(api, settings):
    settings.ETAG_LOCK_ATOMIC_WRITES = False
    counts = _side_by_side(api)
    for name, (ours, plain, ours_control, plain_control) in counts.items():
        assert ours == plain, (name, counts)
        assert sorted(ours_control) == sorted(plain_control), (name, counts)


def test_race_lost_on_a_cascading_delete_keeps_the_children(api, lose_race):
    shelf = ShelfFactory()
    ShelfItem.objects.create(shelf=shelf, label="stays")
    lose_race(views.ShelfViewSet)
    response = api.delete(f"/t/shelves/{shelf.pk}/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert ShelfItem.objects.filter(shelf=shelf).count() == 1


def test_race_lost_412_carries_the_current_representation_when_enabled(api, lose_race):
    book = BookFactory()
    lose_race(views.RepresentationBookViewSet)
    response = api.patch(
        book_url(book.pk, "rep-books"), {"pages": 3}, HTTP_IF_MATCH='"1"', format="json"
    )
    assert response.status_code == 412
    body = problem(response)
    assert body["current"]["version"] == 2
    assert body["current"]["etag"] == body["current_etag"] == '"2"'


def test_create_runs_in_a_transaction(api):
    def fail(sender, instance, created, **kwargs):
        PlainBook.objects.create(title="side effect")
        raise RuntimeError("receiver failed")

    post_save.connect(fail, sender=Book)
    try:
        with pytest.raises(RuntimeError):
            api.post("/t/books/", {"title": "New"}, format="json")
    finally:
        post_save.disconnect(fail, sender=Book)
    assert not Book.objects.exists()
    assert not PlainBook.objects.exists()


def test_a_412_or_428_leaves_no_trace(api):
    book = BookFactory()
    bump(book)
    calls: list[str] = []

    def record(sender, **kwargs):
        calls.append(sender.__name__)

    for signal in (pre_save, post_save, pre_delete):
        signal.connect(record, sender=Book)
    try:
        responses = [
            api.patch(book_url(book.pk), {"pages": 3}, HTTP_IF_MATCH='"1"', format="json"),
            api.put(book_url(book.pk), {"title": "x"}, format="json"),
            api.delete(book_url(book.pk), HTTP_IF_MATCH='"1"'),
            api.delete(book_url(book.pk)),
        ]
    finally:
        for signal in (pre_save, post_save, pre_delete):
            signal.disconnect(record, sender=Book)
    assert [r.status_code for r in responses] == [412, 428, 412, 428]
    assert calls == []
    assert stored(book).version == 2


def test_custom_action_response_is_not_tagged(api):
    book = BookFactory()
    response = api.post(f"/t/books/{book.pk}/touch/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    assert not response.has_header("ETag")  # its body is not the book's representation
    assert stored(book).version == 2


def test_stale_error_raised_outside_perform_hooks_is_still_412(api, lose_race):
    book = BookFactory()
    lose_race(views.BookViewSet)
    # touch() saves the book itself, outside perform_update().
    response = api.post(f"/t/books/{book.pk}/touch/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert problem(response)["reason"] == "concurrent-write"
    assert stored(book).version == 2


def test_custom_action_honours_if_match(api):
    book = BookFactory()
    bump(book)
    response = api.post(f"/t/books/{book.pk}/touch/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert stored(book).version == 2


def test_options_is_not_conditional(api):
    book = BookFactory()
    response = api.options(book_url(book.pk))
    assert response.status_code == 200
    assert "PUT" in response.json()["actions"]


# -- point 5: problem details -------------------------------------------------------------


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


def test_exceptions_are_drf_style_class_attributes_with_lazy_translations():
    from django.utils.functional import Promise

    assert PreconditionFailed.status_code == 412
    assert PreconditionFailed.default_code == "precondition_failed"
    assert PreconditionRequired.status_code == 428
    assert PreconditionRequired.default_code == "precondition_required"
    for exc in (PreconditionFailed, PreconditionRequired):
        assert isinstance(exc.default_detail, Promise)
        assert isinstance(exc.title, Promise)
    assert str(PreconditionRequired().detail).startswith("This request must be conditional")


# -- point 6: no extra query, side by side with plain DRF -------------------------------


_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def _count(callable_: Any) -> tuple[int, list[str], Any]:
    """(data statements, transaction-control statements, response) of one request.

    Django logs BEGIN/COMMIT/SAVEPOINT too; they are counted apart, because wrapping the
    write in a transaction (so a lost race rolls back everything) is the one thing the
    integration adds on purpose.
    """
    with CaptureQueriesContext(connection) as ctx:
        response = callable_()
    sql = [q["sql"].strip() for q in ctx.captured_queries]
    control = [s.split(" ")[0] for s in sql if s.upper().startswith(_TRANSACTION_CONTROL)]
    return len(sql) - len(control), control, response


def _side_by_side(api: APIClient) -> dict[str, tuple[int, int, list[str], list[str]]]:
    """{request: (our data statements, plain's, our transaction control, plain's)}."""
    ours, plain = CustomerFactory(), CustomerFactory()
    body = {"customer_id": "Z1", "given_name": "G", "family_name": "F", "email": ""}
    counts: dict[str, tuple[int, int, list[str], list[str]]] = {}

    def both(name, ours_call, plain_call, ours_status, plain_status):
        ours_n, ours_control, ours_r = _count(ours_call)
        plain_n, plain_control, plain_r = _count(plain_call)
        assert ours_r.status_code == ours_status, (name, ours_r.content)
        assert plain_r.status_code == plain_status, (name, plain_r.content)
        counts[name] = (ours_n, plain_n, ours_control, plain_control)

    ou, pu = customer_url(ours.pk), f"/t/plain-customers/{plain.pk}/"
    both("GET", lambda: api.get(ou), lambda: api.get(pu), 200, 200)
    both("HEAD", lambda: api.head(ou), lambda: api.head(pu), 200, 200)
    both(
        "PUT",
        lambda: api.put(ou, {**body, "customer_id": "Z1"}, HTTP_IF_MATCH='"1"', format="json"),
        lambda: api.put(pu, {**body, "customer_id": "Z2"}, format="json"),
        200,
        200,
    )
    both(
        "PATCH",
        lambda: api.patch(ou, {"notes": "n"}, HTTP_IF_MATCH='"2"', format="json"),
        lambda: api.patch(pu, {"notes": "n"}, format="json"),
        200,
        200,
    )
    # Conditional outcomes against what plain DRF spends to answer the same request
    # without the condition: a 304 against its GET, a 412/428 against its load.
    both("304", lambda: api.get(ou, HTTP_IF_NONE_MATCH='"3"'), lambda: api.get(pu), 304, 200)
    both(
        "412",
        lambda: api.patch(ou, {"notes": "m"}, HTTP_IF_MATCH='"1"', format="json"),
        lambda: api.get(pu),
        412,
        200,
    )
    both("428", lambda: api.patch(ou, {"notes": "m"}, format="json"), lambda: api.get(pu), 428, 200)
    both("DELETE", lambda: api.delete(ou, HTTP_IF_MATCH='"3"'), lambda: api.delete(pu), 204, 204)
    return counts


_WRITES = ("PUT", "PATCH", "DELETE")


@pytest.mark.django_db(transaction=True)
def test_query_counts_equal_plain_drf_model_viewset(api):
    # Autocommit, the default "auto": the customer's writes are one statement each, so
    # no transaction is opened and the statements are plain DRF's, control included.
    counts = _side_by_side(api)
    for name, (ours, plain, ours_control, plain_control) in counts.items():
        assert ours == plain, (name, counts)
        assert sorted(ours_control) == sorted(plain_control), (name, counts)


@pytest.mark.django_db(transaction=True)
def test_query_counts_with_atomic_writes_always_add_begin_and_commit(api, settings):
    settings.ETAG_LOCK_ATOMIC_WRITES = True
    counts = _side_by_side(api)
    for name, (ours, plain, ours_control, plain_control) in counts.items():
        assert ours == plain, (name, counts)
        expected = [*plain_control, "BEGIN", "COMMIT"] if name in _WRITES else plain_control
        assert sorted(ours_control) == sorted(expected), (name, counts)


def test_query_counts_inside_an_outer_transaction(api):
    # Inside a caller's transaction (here the test's), a one-statement write opens no
    # savepoint either.
    counts = _side_by_side(api)
    for name, (ours, plain, ours_control, plain_control) in counts.items():
        assert ours == plain, (name, counts)
        assert sorted(ours_control) == sorted(plain_control), (name, counts)


def test_query_counts_inside_an_outer_transaction_with_atomic_writes_always(api, settings):
    # With True the write's atomic block is a savepoint: SAVEPOINT and RELEASE around
    # each write, nothing else.
    settings.ETAG_LOCK_ATOMIC_WRITES = True
    counts = _side_by_side(api)
    for name, (ours, plain, ours_control, plain_control) in counts.items():
        assert ours == plain, (name, counts)
        expected = [*plain_control, "SAVEPOINT", "RELEASE"] if name in _WRITES else plain_control
        assert sorted(ours_control) == sorted(expected), (name, counts)


# -- a real race over HTTP (PostgreSQL, MariaDB) -------------------------------------------


@pytest.mark.race
@needs_server_db
@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_with_the_same_tag_have_exactly_one_winner():
    threads_count = 6
    book = BookFactory()
    for round_no in range(10):
        tag = f'"{stored(book).version}"'
        barrier = threading.Barrier(threads_count)
        statuses: list[int] = [0] * threads_count

        def work(
            i: int,
            tag: str = tag,
            round_no: int = round_no,
            barrier: threading.Barrier = barrier,
            statuses: list[int] = statuses,
        ) -> None:
            try:
                barrier.wait(timeout=30)
                response = APIClient().patch(
                    book_url(book.pk),
                    {"title": f"round {round_no} writer {i}"},
                    HTTP_IF_MATCH=tag,
                    format="json",
                )
                statuses[i] = response.status_code
            finally:
                connection.close()

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert sorted(statuses) == [200] + [412] * (threads_count - 1), statuses
        winner = statuses.index(200)
        assert stored(book).title == f"round {round_no} writer {winner}"
