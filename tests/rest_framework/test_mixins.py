"""ETagLockMixin and ETagLockModelViewSet: set-up, validators on responses, statement counts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from rest_framework.test import APIRequestFactory

from django_etag_lock.rest_framework import (
    ETagLockMixin,
)
from tests.factories import BookFactory, CustomerFactory
from tests.rest_framework.helpers import (
    book_url,
    bump,
    customer_url,
    side_by_side,
    stored,
)
from tests.testapp import views
from tests.testapp.models import PlainBook

pytestmark = pytest.mark.django_db


# -- The mixin and the ready viewset -------------------------------------------------


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


# -- Validators on the responses that describe the row -------------------------------


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


def test_custom_action_response_is_not_tagged(api):
    book = BookFactory()
    response = api.post(f"/t/books/{book.pk}/touch/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    assert not response.has_header("ETag")  # its body is not the book's representation
    assert stored(book).version == 2


def test_options_is_not_conditional(api):
    book = BookFactory()
    response = api.options(book_url(book.pk))
    assert response.status_code == 200
    assert "PUT" in response.json()["actions"]


# -- The same statements as plain DRF ------------------------------------------------


_WRITES = ("PUT", "PATCH", "DELETE")


@pytest.mark.django_db(transaction=True)
def test_query_counts_equal_plain_drf_model_viewset(api):
    # Autocommit, the default "auto": the customer's writes are one statement each, so
    # no transaction is opened and the statements are plain DRF's, control included.
    counts = side_by_side(api)
    for name, (ours, plain, ours_control, plain_control) in counts.items():
        assert ours == plain, (name, counts)
        assert sorted(ours_control) == sorted(plain_control), (name, counts)


@pytest.mark.django_db(transaction=True)
def test_query_counts_with_atomic_writes_always_add_begin_and_commit(api, settings):
    settings.ETAG_LOCK_ATOMIC_WRITES = True
    counts = side_by_side(api)
    for name, (ours, plain, ours_control, plain_control) in counts.items():
        assert ours == plain, (name, counts)
        expected = [*plain_control, "BEGIN", "COMMIT"] if name in _WRITES else plain_control
        assert sorted(ours_control) == sorted(expected), (name, counts)


def test_query_counts_inside_an_outer_transaction(api):
    # Inside a caller's transaction (here the test's), a one-statement write opens no
    # savepoint either.
    counts = side_by_side(api)
    for name, (ours, plain, ours_control, plain_control) in counts.items():
        assert ours == plain, (name, counts)
        assert sorted(ours_control) == sorted(plain_control), (name, counts)


def test_query_counts_inside_an_outer_transaction_with_atomic_writes_always(api, settings):
    # With True the write's atomic block is a savepoint: SAVEPOINT and RELEASE around
    # each write, nothing else.
    settings.ETAG_LOCK_ATOMIC_WRITES = True
    counts = side_by_side(api)
    for name, (ours, plain, ours_control, plain_control) in counts.items():
        assert ours == plain, (name, counts)
        expected = [*plain_control, "SAVEPOINT", "RELEASE"] if name in _WRITES else plain_control
        assert sorted(ours_control) == sorted(expected), (name, counts)


# -- The public hooks are the documented ones ---------------------------------------


_DRF_OVERRIDES = {
    "initial",
    "get_object",
    "perform_create",
    "perform_update",
    "perform_destroy",
    "handle_exception",
    "finalize_response",
    "get_serializer",
    "schema",
    # adrf's async counterparts (docs/async.md).
    "aget_object",
    "perform_acreate",
    "perform_aupdate",
    "perform_adestroy",
}


def _documented_hooks() -> set[str]:
    text = Path(__file__).resolve().parents[2].joinpath("docs", "http.md").read_text()
    section = text.split("\n## Hooks\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([a-z0-9_]+)(?:\([^`]*\))?`", first_cell))
    return names


def test_every_public_name_of_the_mixin_is_a_documented_hook_and_back():
    public = {
        name
        for name in vars(ETagLockMixin)
        if not name.startswith("_") and name not in _DRF_OVERRIDES
    }
    assert public == _documented_hooks()
