"""The detail views' compiled fetch: the same answers as DRF's get_object(), or DRF's path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext, override_settings
from rest_framework.filters import OrderingFilter
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory
from rest_framework.viewsets import ModelViewSet

from django_etag_lock import fastfetch
from django_etag_lock.rest_framework import mixins as drf_mixins
from tests.testapp.models import Book
from tests.testapp.views import BookSerializer, BookViewSet, GuardedBookViewSet

pytestmark = pytest.mark.django_db

factory = APIRequestFactory()


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    fastfetch.reset()
    drf_mixins._plain_lookups.clear()
    yield
    fastfetch.reset()
    drf_mixins._plain_lookups.clear()


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The values the views handed to the compiled fetch."""
    calls: list[Any] = []
    original = fastfetch.get

    def spy(queryset: Any, value: Any, django_path: Any = None) -> Any:
        calls.append(value)
        return original(queryset, value, django_path)

    monkeypatch.setattr(fastfetch, "get", spy)
    return calls


class PlainBookViewSet(ModelViewSet):  # type: ignore[type-arg]
    queryset = Book.objects.all()
    serializer_class = BookSerializer
    renderer_classes = [JSONRenderer]


def answer(view_class: type[Any], method: str, pk: Any, **headers: Any) -> tuple[int, Any]:
    view = view_class.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})
    if method == "get":
        request = factory.get(f"/b/{pk}/", **headers)
    elif method == "delete":
        request = factory.delete(f"/b/{pk}/", **headers)
    else:
        request = factory.patch(f"/b/{pk}/", {"title": "new"}, format="json", **headers)
    response = view(request, pk=str(pk))
    response.render()
    return response.status_code, json.loads(response.content or b"null")


@pytest.mark.parametrize("pk", ["missing", "abc", "1.5", "99999999999999999999", ""])
def test_a_row_that_cannot_be_found_is_drfs_404(pk: str, compiled: list[Any]) -> None:
    book = Book.objects.create(title="b")
    value = str(book.pk + 1) if pk == "missing" else pk
    answer(BookViewSet, "get", book.pk)  # the statement is kept
    ours = answer(BookViewSet, "get", value)
    assert ours == answer(PlainBookViewSet, "get", value)
    assert ours[0] == 404
    assert compiled[-1] == value
    with override_settings(ETAG_LOCK_COMPILED_FETCH=False):
        assert answer(BookViewSet, "get", value) == ours
    assert compiled[-1] == value
    assert len(compiled) == 2  # the setting keeps DRF's own get_object()


def test_the_row_and_the_statement_are_drfs(compiled: list[Any]) -> None:
    book = Book.objects.create(title="b")
    answer(BookViewSet, "get", book.pk)
    with CaptureQueriesContext(connection) as ours:
        status, body = answer(BookViewSet, "get", book.pk)
    with CaptureQueriesContext(connection) as plain:
        assert answer(PlainBookViewSet, "get", book.pk) == (status, body)
    assert [q["sql"] for q in ours.captured_queries] == [q["sql"] for q in plain.captured_queries]
    assert status == 200
    assert body["title"] == "b"
    assert len(compiled) == 2


def test_writes_read_their_row_through_it(compiled: list[Any]) -> None:
    book = Book.objects.create(title="b")
    status, body = answer(BookViewSet, "patch", book.pk, HTTP_IF_MATCH=f'"{book.version}"')
    assert (status, body["title"]) == (200, "new")
    status, _ = answer(BookViewSet, "delete", book.pk, HTTP_IF_MATCH='"1"')
    assert status == 412  # the PATCH moved the row on
    assert compiled == [str(book.pk), str(book.pk)]


def test_object_permissions_are_still_checked(compiled: list[Any]) -> None:
    book = Book.objects.create(title="locked")
    status, _ = answer(GuardedBookViewSet, "patch", book.pk, HTTP_IF_MATCH=f'"{book.version}"')
    assert status == 403
    assert compiled == [str(book.pk)]
    assert Book.objects.get(pk=book.pk).title == "locked"


class OwnQuerysetViewSet(BookViewSet):
    def get_queryset(self) -> Any:
        return Book.objects.filter(pages__gt=10)


class FilteredViewSet(BookViewSet):
    filter_backends = [OrderingFilter]


class TitleLookupViewSet(BookViewSet):
    lookup_field = "title"


class OwnGetObjectMixin:
    def get_object(self) -> Any:
        return super().get_object()  # type: ignore[misc]


class BelowViewSet(drf_mixins.ETagLockMixin, OwnGetObjectMixin, ModelViewSet):  # type: ignore[type-arg]
    queryset = Book.objects.all()
    serializer_class = BookSerializer
    renderer_classes = [JSONRenderer]


class AboveViewSet(BookViewSet):
    def get_object(self) -> Any:
        return super().get_object()


class ManagerViewSet(BookViewSet):
    queryset = Book.objects  # type: ignore[assignment]


class PerRequestQuerysetViewSet(BookViewSet):
    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        self.queryset = Book.objects.all()  # a new queryset on every request
        super().initial(request, *args, **kwargs)


@pytest.mark.parametrize(
    "view_class",
    [OwnQuerysetViewSet, FilteredViewSet, BelowViewSet, ManagerViewSet, PerRequestQuerysetViewSet],
)
def test_a_view_that_finds_its_row_otherwise_keeps_drfs_path(
    view_class: type[Any], compiled: list[Any]
) -> None:
    book = Book.objects.create(title="b", pages=20)
    small = Book.objects.create(title="s", pages=1)
    assert answer(view_class, "get", book.pk)[0] == 200
    ours = answer(view_class, "get", small.pk)
    assert ours[0] == (404 if view_class is OwnQuerysetViewSet else 200)
    assert compiled == []


def test_a_lookup_field_other_than_the_primary_key_keeps_drfs_path(compiled: list[Any]) -> None:
    Book.objects.create(title="b")
    view = TitleLookupViewSet.as_view({"get": "retrieve"})
    response = view(factory.get("/b/b/"), title="b")
    assert response.status_code == 200
    assert response.data["title"] == "b"
    assert compiled == []


def test_an_override_above_the_mixin_still_reads_through_it(compiled: list[Any]) -> None:
    book = Book.objects.create(title="b")
    assert answer(AboveViewSet, "get", book.pk)[0] == 200
    assert compiled == [str(book.pk)]


def test_a_missing_url_kwarg_is_drfs_assertion() -> None:
    view = BookViewSet.as_view({"get": "retrieve"})
    with pytest.raises(AssertionError, match="Expected view BookViewSet to be called"):
        view(factory.get("/b/1/"), other="1")


class UrlKwargViewSet(BookViewSet):
    lookup_url_kwarg = "book_id"


def test_lookup_url_kwarg_names_the_value(compiled: list[Any]) -> None:
    book = Book.objects.create(title="b")
    view = UrlKwargViewSet.as_view({"get": "retrieve"})
    response = view(factory.get(f"/b/{book.pk}/"), book_id=str(book.pk))
    assert response.status_code == 200
    assert response.data["title"] == "b"
    assert compiled == [str(book.pk)]


def test_a_detail_action_reads_through_it(compiled: list[Any]) -> None:
    book = Book.objects.create(title="b")
    view = BookViewSet.as_view({"post": "touch"})
    response = view(factory.post(f"/b/{book.pk}/touch/"), pk=str(book.pk))
    assert response.status_code == 200
    assert compiled == [str(book.pk)]
    assert Book.objects.get(pk=book.pk).version == book.version + 1


def test_as_view_queryset_keeps_drfs_path(compiled: list[Any]) -> None:
    book = Book.objects.create(title="b", pages=1)
    view = BookViewSet.as_view({"get": "retrieve"}, queryset=Book.objects.filter(pages__gt=5))
    assert view(factory.get(f"/b/{book.pk}/"), pk=str(book.pk)).status_code == 404
    assert compiled == []


class HidingQuerySet(QuerySet[Book]):
    """Soft deletion in all(), which DRF's get_queryset() calls."""

    def all(self) -> Any:
        return super().all().filter(pages__lt=100)


class HidingViewSet(BookViewSet):
    queryset = HidingQuerySet(model=Book)


def test_a_queryset_class_overriding_all_answers_as_drf_does(compiled: list[Any]) -> None:
    hidden = Book.objects.create(title="hidden", pages=500)
    shown = Book.objects.create(title="shown", pages=5)
    assert answer(HidingViewSet, "get", hidden.pk)[0] == 404
    assert answer(HidingViewSet, "get", shown.pk)[0] == 200
    with override_settings(ETAG_LOCK_COMPILED_FETCH=False):
        assert answer(HidingViewSet, "get", hidden.pk)[0] == 404
    assert compiled == [str(hidden.pk), str(shown.pk)]  # asked, and refused (overridden)
    assert fastfetch.compiled_statement(HidingViewSet.queryset) is None
