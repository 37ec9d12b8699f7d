"""DRF writes: a transaction only where a write can span statements; the preconditions'
fast path (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.test import APIClient

import django_etag_lock.rest_framework.mixins as drf_layer
from django_etag_lock.rest_framework import ETagLockModelViewSet
from django_etag_lock.rest_framework.mixins import single_statement_write
from tests.factories import BookFactory, ShelfFactory
from tests.testapp import views
from tests.testapp.models import Book, PlainBook, Restaurant, SavingBook, Shelf, ShelfItem

pytestmark = pytest.mark.django_db

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def control_statements(ctx: CaptureQueriesContext) -> list[str]:
    sql = [q["sql"].strip().upper() for q in ctx.captured_queries]
    return [s.split(" ")[0] for s in sql if s.startswith(CONTROL)]


def patch_book(api: APIClient, book: Book, **data: Any) -> Any:
    return api.patch(
        f"/t/books/{book.pk}/",
        data or {"pages": 5},
        HTTP_IF_MATCH=f'"{book.version}"',
        format="json",
    )


@contextmanager
def receiver(signal: Any, sender: Any = None) -> Iterator[list[Any]]:
    """A receiver that writes an audit row, like an audit log would."""
    seen: list[Any] = []

    def audit(sender: Any, instance: Any, **kwargs: Any) -> None:
        if isinstance(instance, PlainBook):
            return  # sender=None: the audit row's own save
        seen.append(instance)
        PlainBook.objects.create(title=f"audit {instance.pk}")

    signal.connect(audit, sender=sender, weak=False)
    try:
        yield seen
    finally:
        signal.disconnect(audit, sender=sender)


@pytest.fixture
def lose_race(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Another writer commits right after the view's precondition check."""

    def arm(view_class: type[Any]) -> None:
        original = view_class.check_preconditions

        def check_then_lose(self: Any, instance: Any) -> None:
            original(self, instance)
            type(instance).objects.filter(pk=instance.pk).update()

        monkeypatch.setattr(view_class, "check_preconditions", check_then_lose)

    return arm


@pytest.fixture
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)


# -- the rule ------------------------------------------------------------------------


class _BookSerializer(serializers.ModelSerializer[Book]):
    class Meta:
        model = Book
        fields = ["id", "title", "pages"]


class _ShelfSerializer(serializers.ModelSerializer[Shelf]):
    class Meta:
        model = Shelf
        fields = ["id", "name"]


class _CustomUpdateSerializer(_BookSerializer):
    def update(self, instance: Book, validated_data: dict[str, Any]) -> Book:
        return super().update(instance, validated_data)


class _CustomPerformView(ETagLockModelViewSet):
    def perform_update(self, serializer: Any) -> None:
        super().perform_update(serializer)


def _validated(serializer_class: type[Any], data: dict[str, Any]) -> Any:
    serializer = serializer_class(data=data, partial=True)
    serializer.is_valid(raise_exception=True)
    return serializer


def test_a_stock_update_of_a_plain_versioned_model_is_one_statement() -> None:
    serializer = _validated(_BookSerializer, {"title": "x"})
    assert single_statement_write(ETagLockModelViewSet, "update", Book, serializer)
    assert single_statement_write(ETagLockModelViewSet, "create", Book, serializer)
    assert single_statement_write(ETagLockModelViewSet, "destroy", Book, None)


@pytest.mark.parametrize("signal", [pre_save, post_save], ids=["pre_save", "post_save"])
@pytest.mark.parametrize("sender", [Book, None], ids=["sender=Book", "sender=None"])
def test_a_save_receiver_makes_the_write_span_statements(signal: Any, sender: Any) -> None:
    serializer = _validated(_BookSerializer, {"title": "x"})
    with receiver(signal, sender):
        assert not single_statement_write(ETagLockModelViewSet, "update", Book, serializer)
        assert not single_statement_write(ETagLockModelViewSet, "create", Book, serializer)
    assert single_statement_write(ETagLockModelViewSet, "update", Book, serializer)


def test_a_receiver_for_another_model_does_not_count() -> None:
    serializer = _validated(_BookSerializer, {"title": "x"})
    with receiver(pre_save, PlainBook):
        assert single_statement_write(ETagLockModelViewSet, "update", Book, serializer)


def test_overridden_write_hooks_make_the_write_span_statements() -> None:
    serializer = _validated(_BookSerializer, {"title": "x"})
    custom = _validated(_CustomUpdateSerializer, {"title": "x"})
    assert not single_statement_write(_CustomPerformView, "update", Book, serializer)
    assert not single_statement_write(ETagLockModelViewSet, "update", Book, custom)
    assert not single_statement_write(ETagLockModelViewSet, "update", SavingBook, serializer)
    assert not single_statement_write(ETagLockModelViewSet, "destroy", SavingBook, None)


def test_parent_tables_make_the_write_span_statements() -> None:
    serializer = _validated(_BookSerializer, {"title": "x"})
    assert not single_statement_write(ETagLockModelViewSet, "update", Restaurant, serializer)


def test_to_many_data_makes_the_write_span_statements() -> None:
    plain = _validated(_ShelfSerializer, {"name": "x"})
    assert single_statement_write(ETagLockModelViewSet, "update", Shelf, plain)
    plain.validated_data["items"] = []  # what a writable to-many field puts there
    assert not single_statement_write(ETagLockModelViewSet, "update", Shelf, plain)


# -- end to end: statements ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_one_statement_patch_opens_no_transaction(api: APIClient) -> None:
    book = BookFactory()
    with CaptureQueriesContext(connection) as ctx:
        assert patch_book(api, book).status_code == 200
    assert control_statements(ctx) == []


@pytest.mark.django_db(transaction=True)
def test_a_patch_with_a_receiver_runs_in_a_transaction(api: APIClient) -> None:
    book = BookFactory()
    with receiver(pre_save, None), CaptureQueriesContext(connection) as ctx:
        assert patch_book(api, book).status_code == 200
    assert control_statements(ctx) == ["BEGIN", "COMMIT"]


@pytest.mark.django_db(transaction=True)
def test_a_nested_write_runs_in_a_transaction(api: APIClient) -> None:
    shelf = ShelfFactory()
    with CaptureQueriesContext(connection) as ctx:
        response = api.patch(
            f"/t/shelves/{shelf.pk}/",
            {"name": "n", "items": [{"label": "a"}]},
            HTTP_IF_MATCH='"1"',
            format="json",
        )
    assert response.status_code == 200
    assert control_statements(ctx) == ["BEGIN", "COMMIT"]


@pytest.mark.django_db(transaction=True)
def test_atomic_writes_false_never_opens_one(api: APIClient, settings: Any) -> None:
    settings.ETAG_LOCK_ATOMIC_WRITES = False
    book = BookFactory()
    with receiver(pre_save, None), CaptureQueriesContext(connection) as ctx:
        assert patch_book(api, book).status_code == 200
    assert control_statements(ctx) == []


@pytest.mark.django_db(transaction=True)
def test_the_view_attribute_overrides_the_setting(
    api: APIClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.ETAG_LOCK_ATOMIC_WRITES = False
    monkeypatch.setattr(views.BookViewSet, "etag_lock_atomic_writes", "auto")
    book = BookFactory()
    with receiver(pre_save, None), CaptureQueriesContext(connection) as ctx:
        assert patch_book(api, book).status_code == 200
    assert control_statements(ctx) == ["BEGIN", "COMMIT"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["auto", False])
def test_a_one_statement_write_that_loses_the_race_is_a_412_and_writes_nothing(
    api: APIClient, settings: Any, lose_race: Any, mode: Any
) -> None:
    settings.ETAG_LOCK_ATOMIC_WRITES = mode
    book = BookFactory(title="theirs")
    lose_race(views.BookViewSet)
    with CaptureQueriesContext(connection) as ctx:
        response = patch_book(api, book, title="mine")
    assert control_statements(ctx) == []  # no transaction of ours around it
    assert response.status_code == 412
    assert response.json()["reason"] == "concurrent-write"
    assert response.json()["current_etag"] == response["ETag"] == '"2"'
    assert Book.objects.get(pk=book.pk).title == "theirs"


@pytest.mark.django_db(transaction=True)
def test_a_race_lost_by_a_one_statement_write_is_reported_once_by_the_door(
    api: APIClient, lose_race: Any
) -> None:
    from django_etag_lock.signals import Source, write_refused

    sent: list[Any] = []

    def refused(sender: Any, **kwargs: Any) -> None:
        sent.append((kwargs["source"], kwargs["reason"], kwargs["expected_version"]))

    book = BookFactory()
    lose_race(views.BookViewSet)
    write_refused.connect(refused, weak=False)
    try:
        with CaptureQueriesContext(connection) as ctx:
            response = patch_book(api, book, title="mine")
    finally:
        write_refused.disconnect(refused)
    assert control_statements(ctx) == []
    assert response.status_code == 412
    assert sent == [(Source.REST_FRAMEWORK, "concurrent-write", 1)]


@pytest.mark.django_db(transaction=True)
def test_a_one_statement_write_failing_for_another_reason_is_not_a_412(
    api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import DataError

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise DataError("value too long")

    book = BookFactory()
    # Replaced where Django defines it, so the write still counts as one statement.
    definer = next(klass for klass in Book.__mro__ if "save_base" in klass.__dict__)
    monkeypatch.setattr(definer, "save_base", refuse)
    assert drf_layer._only_defined_by(Book, "save_base", drf_layer._STOCK_MODEL)
    # Not a lost race: Django's answer for the error, never a 412 that says "stale".
    with pytest.raises(DataError):
        patch_book(api, book)


# -- ATOMIC_REQUESTS: no savepoint, and a 412 still leaves no trace -----------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["auto", True])
def test_under_atomic_requests_a_write_opens_no_savepoint(
    api: APIClient, atomic_requests: None, settings: Any, mode: Any
) -> None:
    settings.ETAG_LOCK_ATOMIC_WRITES = mode
    book = BookFactory()
    with receiver(pre_save, None), CaptureQueriesContext(connection) as ctx:
        assert patch_book(api, book).status_code == 200
    assert control_statements(ctx) == ["BEGIN", "COMMIT"]  # the request's own
    assert PlainBook.objects.count() == 1  # the receiver's row, committed with the request


@pytest.mark.django_db(transaction=True)
def test_under_atomic_requests_a_lost_race_rolls_back_the_whole_request(
    api: APIClient, atomic_requests: None, lose_race: Any
) -> None:
    book = BookFactory(title="keep")
    lose_race(views.BookViewSet)
    with receiver(pre_save, None) as seen, CaptureQueriesContext(connection) as ctx:
        response = patch_book(api, book, title="mine")
    assert response.status_code == 412
    assert response.json()["reason"] == "concurrent-write"
    assert response.json()["current_etag"] == '"2"'
    assert seen  # the receiver ran and wrote before the compare-and-set lost
    assert not PlainBook.objects.exists()
    assert "SAVEPOINT" not in control_statements(ctx)
    assert control_statements(ctx)[-1] == "ROLLBACK"
    # The simulated other writer ran inside this request's transaction, so it is rolled
    # back with it; what matters is that "mine" was never written.
    assert Book.objects.get(pk=book.pk).title == "keep"


@pytest.mark.django_db(transaction=True)
def test_under_atomic_requests_a_lost_nested_write_leaves_no_items(
    api: APIClient, atomic_requests: None, lose_race: Any
) -> None:
    shelf = ShelfFactory()
    lose_race(views.ShelfViewSet)
    response = api.patch(
        f"/t/shelves/{shelf.pk}/",
        {"name": "mine", "items": [{"label": "a"}]},
        HTTP_IF_MATCH='"1"',
        format="json",
    )
    assert response.status_code == 412
    assert not ShelfItem.objects.filter(shelf=shelf).exists()


# -- the preconditions' fast path ----------------------------------------------------------


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    real = drf_layer.evaluate_preconditions

    def spy(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(drf_layer, "evaluate_preconditions", spy)
    return calls


def test_a_get_without_conditional_headers_skips_the_parser(
    api: APIClient, evaluations: list[Any]
) -> None:
    book = BookFactory()
    response = api.get(f"/t/books/{book.pk}/")
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert evaluations == []


def test_if_match_equal_to_the_current_tag_skips_the_parser(
    api: APIClient, evaluations: list[Any]
) -> None:
    book = BookFactory()
    response = patch_book(api, book)
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert evaluations == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"HTTP_IF_MATCH": 'W/"1"'}, 412),
        ({"HTTP_IF_MATCH": '"0", "1"'}, 200),
        ({"HTTP_IF_MATCH": "*"}, 200),
        ({"HTTP_IF_MATCH": '"2"'}, 412),
        ({"HTTP_IF_MATCH": "1"}, 400),
        ({"HTTP_IF_MATCH": '"1"', "HTTP_IF_NONE_MATCH": '"1"'}, 412),
        ({}, 428),
    ],
    ids=["weak", "list", "star", "stale", "unquoted", "with-if-none-match", "none"],
)
def test_every_other_write_goes_through_the_full_evaluation(
    api: APIClient, evaluations: list[Any], headers: dict[str, str], status: int
) -> None:
    book = BookFactory()
    response = api.patch(f"/t/books/{book.pk}/", {"pages": 2}, format="json", **headers)
    assert response.status_code == status
    assert len(evaluations) == 1


def test_a_get_with_if_none_match_goes_through_the_full_evaluation(
    api: APIClient, evaluations: list[Any]
) -> None:
    book = BookFactory()
    response = api.get(f"/t/books/{book.pk}/", HTTP_IF_NONE_MATCH='"1"')
    assert response.status_code == 304
    assert len(evaluations) == 1


def test_a_write_without_if_match_where_not_required_skips_the_parser(
    api: APIClient, evaluations: list[Any]
) -> None:
    book = BookFactory()
    response = api.patch(f"/t/optional-books/{book.pk}/", {"pages": 2}, format="json")
    assert response.status_code == 200
    assert evaluations == []


def test_a_weak_tag_from_an_overridden_get_etag_never_takes_the_fast_path(
    api: APIClient, evaluations: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views.BookViewSet, "get_etag", lambda self, instance: 'W/"1"')
    book = BookFactory()
    response = api.patch(f"/t/books/{book.pk}/", {"pages": 2}, HTTP_IF_MATCH='W/"1"')
    assert response.status_code == 412
    assert len(evaluations) == 1
