"""The compiled fetch by primary key (``fastfetch``), and every way back to Django's path."""

from __future__ import annotations

import datetime
import decimal
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import django
import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, models
from django.test.utils import CaptureQueriesContext, override_settings

from django_etag_lock import compat, fastfetch
from django_etag_lock.querysets import VersionedQuerySet
from tests.testapp.models import (
    ArchivableBook,
    Book,
    BookCover,
    BookProxy,
    Ledger,
    Publisher,
    Restaurant,
    UUIDLedger,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _no_kept_statements() -> Iterator[None]:
    fastfetch.reset()
    yield
    fastfetch.reset()


@pytest.fixture
def compiled_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements run by the compiled path (``fastfetch._fetch``)."""
    runs: list[str] = []
    original = fastfetch._fetch

    def spy(conn: Any, sql: str, params: list[Any]) -> list[Any]:
        runs.append(sql)
        return original(conn, sql, params)

    monkeypatch.setattr(fastfetch, "_fetch", spy)
    return runs


@pytest.fixture
def fallbacks(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """The fallback reasons logged so far."""
    caplog.set_level(logging.DEBUG, logger="django_etag_lock.fastfetch")
    return lambda: [
        r.fallback  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "django_etag_lock.fastfetch"
    ]


def state(instance: models.Model) -> dict[str, Any]:
    """Everything ``get()`` sets on an instance: its field values and its state."""
    values = {k: v for k, v in instance.__dict__.items() if k != "_state"}
    kept = {
        k: v
        for k, v in vars(instance._state).items()
        if k not in ("fields_cache", "peers")  # both empty after a get()
    }
    return {"class": type(instance), "values": values, "state": kept}


def ledger() -> Ledger:
    publisher = Publisher.objects.create(name="p")
    return Ledger.objects.create(
        title="t",
        count=3,
        amount=decimal.Decimal("12.50"),
        ratio=0.25,
        active=False,
        day=datetime.date(2026, 1, 2),
        at=NOW,
        token=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        publisher=publisher,
    )


# -- the same instance, the same statement -----------------------------------------------


@pytest.mark.parametrize("as_text", [True, False])
def test_fetch_builds_the_instance_get_builds(compiled_runs: list[str], as_text: bool) -> None:
    row = ledger()
    queryset = Ledger.objects.all()
    value: Any = str(row.pk) if as_text else row.pk
    fastfetch.get(queryset, value)  # keeps the statement
    fetched = fastfetch.get(queryset, value)
    assert len(compiled_runs) == 2
    assert state(fetched) == state(Ledger.objects.get(pk=value))
    assert fetched.at == NOW
    assert fetched.amount == decimal.Decimal("12.50")
    assert fetched._state.adding is False
    assert fetched._state.db == "default"


def test_nulls_come_back_as_none(compiled_runs: list[str]) -> None:
    row = Ledger.objects.create(title="nulls")
    fetched = fastfetch.get(Ledger.objects.all(), row.pk)
    assert compiled_runs
    assert state(fetched) == state(Ledger.objects.get(pk=row.pk))
    assert fetched.count is None
    assert fetched.at is None
    assert fetched.token is None


def test_uuid_primary_key(compiled_runs: list[str]) -> None:
    row = UUIDLedger.objects.create(title="u")
    for value in (str(row.pk), row.pk, row.pk.hex):
        assert state(fastfetch.get(UUIDLedger.objects.all(), value)) == state(
            UUIDLedger.objects.get(pk=value)
        )
    assert len(compiled_runs) == 3


def test_statement_and_parameters_are_djangos() -> None:
    row = ledger()
    queryset = Ledger.objects.all()
    ran: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        ran.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        Ledger.objects.get(pk=str(row.pk))
        fastfetch.get(queryset, str(row.pk))  # keeps the statement
        fastfetch.get(queryset, str(row.pk))
    assert fastfetch.compiled_statement(queryset) is not None
    assert "LIMIT 21" in fastfetch.compiled_statement(queryset)  # type: ignore[operator]
    djangos, ours = ran[0], ran[-1]
    assert ours == djangos
    assert type(ours[1]) is type(djangos[1])  # a tuple, as as_sql() gives it
    with CaptureQueriesContext(connection) as captured:
        fastfetch.get(queryset, str(row.pk))
    with CaptureQueriesContext(connection) as django_path:
        Ledger.objects.get(pk=str(row.pk))
    assert captured.captured_queries[0]["sql"] == django_path.captured_queries[0]["sql"]


def test_execute_wrappers_see_the_statement() -> None:
    row = Book.objects.create(title="b")
    queryset = Book.objects.all()
    fastfetch.get(queryset, row.pk)
    seen: list[tuple[str, Any]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, list(params)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        assert fastfetch.get(queryset, row.pk).title == "b"
    assert seen == [(fastfetch.compiled_statement(queryset), [row.pk])]


def test_unobserved_fetch_runs_on_the_driver_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    row = Book.objects.create(title="b")
    queryset = Book.objects.all()
    fastfetch.get(queryset, row.pk)
    driver: list[str] = []
    original = compat.fetch_on_driver_cursor

    def spy(conn: Any, sql: str, params: Any) -> list[Any]:
        driver.append(sql)
        return original(conn, sql, params)

    monkeypatch.setattr(compat, "fetch_on_driver_cursor", spy)
    assert fastfetch.get(queryset, row.pk).title == "b"
    assert driver == [fastfetch.compiled_statement(queryset)]


def test_a_proxy_model_is_fetched_as_itself(compiled_runs: list[str]) -> None:
    book = Book.objects.create(title="b")
    fetched = fastfetch.get(BookProxy.objects.all(), book.pk)
    assert type(fetched) is BookProxy
    assert state(fetched) == state(BookProxy.objects.get(pk=book.pk))
    assert len(compiled_runs) == 1


def test_multi_table_inheritance_takes_djangos_path(
    compiled_runs: list[str], fallbacks: Any
) -> None:
    restaurant = Restaurant.objects.create(name="r")
    fetched = fastfetch.get(Restaurant.objects.all(), restaurant.pk)
    assert state(fetched) == state(Restaurant.objects.get(pk=restaurant.pk))
    assert compiled_runs == []
    assert fallbacks() == ["pk"]


def test_a_connection_per_thread_keeps_its_own_statement(compiled_runs: list[str]) -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("an in-memory SQLite database is not shared between threads")
    row = Book.objects.create(title="b")
    queryset = Book.objects.all()
    fastfetch.get(queryset, row.pk)
    seen: list[Any] = []
    main = connections["default"]

    def other() -> None:
        try:
            # The test's transaction hides the row from this thread's connection.
            try:
                fastfetch.get(queryset, row.pk)
            except Book.DoesNotExist:
                seen.append("missing")
            seen.append(connections["default"] is not main)
            seen.append(fastfetch.compiled_statement(queryset))
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == ["missing", True, fastfetch.compiled_statement(queryset)]
    assert len(compiled_runs) == 2


# -- the same exceptions -----------------------------------------------------------------


def test_a_missing_row_raises_djangos_does_not_exist(compiled_runs: list[str]) -> None:
    row = Book.objects.create(title="b")
    queryset = Book.objects.all()
    fastfetch.get(queryset, row.pk)
    with pytest.raises(Book.DoesNotExist) as ours:
        fastfetch.get(queryset, row.pk + 1)
    with pytest.raises(Book.DoesNotExist) as djangos:
        Book.objects.get(pk=row.pk + 1)
    assert str(ours.value) == str(djangos.value)
    assert len(compiled_runs) == 2


@pytest.mark.parametrize("value", ["99999999999999999999", "-99999999999999999999"])
def test_an_integer_out_of_range_matches_nothing_without_a_query(value: str) -> None:
    row = Book.objects.create(title="b")
    queryset = Book.objects.all()
    fastfetch.get(queryset, row.pk)
    with CaptureQueriesContext(connection) as ours, pytest.raises(Book.DoesNotExist):
        fastfetch.get(queryset, value)
    with CaptureQueriesContext(connection) as djangos, pytest.raises(Book.DoesNotExist):
        Book.objects.get(pk=value)
    assert len(ours.captured_queries) == len(djangos.captured_queries) == 0


def test_an_integer_out_of_range_first_keeps_nothing() -> None:
    with pytest.raises(Book.DoesNotExist):
        fastfetch.get(Book.objects.all(), "99999999999999999999")
    assert fastfetch.compiled_statement(Book.objects.all()) is None


@pytest.mark.parametrize(
    ("model", "value", "error"),
    [
        (Book, "abc", ValueError),
        (Book, "1.5", ValueError),
        (UUIDLedger, "not-a-uuid", ValidationError),
    ],
)
def test_a_value_the_field_refuses_raises_the_fields_error(
    model: type[models.Model], value: str, error: type[Exception], compiled_runs: list[str]
) -> None:
    queryset = model._default_manager.all()
    with pytest.raises(error) as first:
        fastfetch.get(queryset, value)  # before any statement is kept
    row = Book.objects.create(title="b") if model is Book else UUIDLedger.objects.create(title="u")
    assert fastfetch.get(queryset, str(row.pk)).pk == row.pk
    assert fastfetch.compiled_statement(queryset) is not None
    with pytest.raises(error) as kept:
        fastfetch.get(queryset, value)  # with the statement kept
    with pytest.raises(error) as djangos:
        queryset.get(pk=value)
    assert str(first.value) == str(kept.value) == str(djangos.value)
    assert len(compiled_runs) == 1  # neither refused value ran a query


def test_more_than_one_row_is_djangos_error_from_one_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    row = Book.objects.create(title="b")
    queryset = Book.objects.all()
    fastfetch.get(queryset, row.pk)
    original = fastfetch._fetch
    statements: list[str] = []

    def duplicated(count: int) -> Callable[..., list[Any]]:
        def fetch(conn: Any, sql: str, params: Any) -> list[Any]:
            statements.append(sql)
            return original(conn, sql, params) * count  # a table without a real key

        return fetch

    for count, shown in ((2, "2"), (21, "more than 20")):
        monkeypatch.setattr(fastfetch, "_fetch", duplicated(count))
        with pytest.raises(Book.MultipleObjectsReturned) as error:
            fastfetch.get(queryset, row.pk)
        assert str(error.value) == f"get() returned more than one Book -- it returned {shown}!"
    assert len(statements) == 2


# -- each fallback takes Django's path ---------------------------------------------------


class CustomQuerySet(VersionedQuerySet[Any]):
    def filter(self, *args: Any, **kwargs: Any) -> Any:
        return super().filter(*args, **kwargs)


class HidingQuerySet(VersionedQuerySet[Any]):
    """Soft deletion in all(), which DRF's get_queryset() calls."""

    def all(self) -> Any:
        return super().all().filter(pages__lt=100)


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda: Book.objects.filter(pages__gte=0), "queryset"),
        (lambda: Book.objects.only("title"), "queryset"),
        (lambda: Book.objects.defer("title"), "queryset"),
        (lambda: Book.objects.annotate(twice=models.F("pages") * 2), "queryset"),
        (lambda: Book.objects.extra(select={"one": "1"}), "queryset"),
        (lambda: Book.objects.distinct(), "queryset"),
        (lambda: Book.objects.values(), "iterable"),
        (lambda: Book.objects.values_list("title"), "iterable"),
        (lambda: Ledger.objects.select_related("publisher"), "queryset"),
        (lambda: Ledger.objects.prefetch_related("publisher"), "prefetch"),
        (lambda: ArchivableBook.live.all(), "queryset"),
        (lambda: CustomQuerySet(model=Book), "overridden"),
        (lambda: HidingQuerySet(model=Book), "overridden"),
        (lambda: BookCover.objects.all(), "pk"),
    ],
)
def test_a_queryset_that_is_not_plain_takes_djangos_path(
    build: Callable[[], Any], reason: str, compiled_runs: list[str], fallbacks: Any
) -> None:
    queryset = build()
    model = queryset.model
    if model is BookCover:
        row: Any = BookCover.objects.create(publisher=Publisher.objects.create(name="p"))
    elif model is Ledger:
        row = ledger()
    elif model is ArchivableBook:
        row = ArchivableBook.objects.create(title="a")
    else:
        row = Book.objects.create(title="b")
    for _ in range(2):
        expected = queryset.get(pk=row.pk)
        fetched = fastfetch.get(queryset, row.pk)
        assert (fetched if isinstance(fetched, dict | tuple) else state(fetched)) == (
            expected if isinstance(expected, dict | tuple) else state(expected)
        )
    assert compiled_runs == []
    assert fallbacks() == [reason, reason]
    assert fastfetch.compiled_statement(queryset) is None


def test_a_filtering_queryset_answers_as_its_filter_does(fallbacks: Any) -> None:
    archived = ArchivableBook.objects.create(title="a", archived=True)
    with pytest.raises(ArchivableBook.DoesNotExist):
        fastfetch.get(ArchivableBook.live.all(), archived.pk)
    assert fallbacks() == ["queryset"]


def test_select_for_update_takes_djangos_path(fallbacks: Any) -> None:
    from django.db import transaction

    row = Book.objects.create(title="b")
    with transaction.atomic():
        assert fastfetch.get(Book.objects.select_for_update(), row.pk).pk == row.pk
    assert fallbacks() == ["queryset"]


def test_a_combined_queryset_takes_djangos_path(fallbacks: Any) -> None:
    row = Book.objects.create(title="b")
    queryset = Book.objects.filter(pk=row.pk).union(Book.objects.filter(pk=row.pk))
    with pytest.raises(django.db.NotSupportedError):
        fastfetch.get(queryset, row.pk)  # as Django's get(pk=...) on a union
    assert fallbacks() == ["queryset"]


@pytest.mark.parametrize("make", [float, lambda pk: [pk], lambda pk: None, decimal.Decimal])
def test_a_value_of_another_type_takes_djangos_path(
    make: Callable[[int], Any], compiled_runs: list[str], fallbacks: Any
) -> None:
    row = Book.objects.create(title="b")
    queryset = Book.objects.all()
    fastfetch.get(queryset, row.pk)  # kept
    value = make(row.pk)
    try:
        expected: Any = state(queryset.get(pk=value))
    except Exception as error:
        with pytest.raises(type(error)):
            fastfetch.get(queryset, value)
    else:
        assert state(fastfetch.get(queryset, value)) == expected
    assert fallbacks() == ["value"]
    assert len(compiled_runs) == 1


def test_a_backend_that_is_not_builtin_takes_djangos_path(
    monkeypatch: pytest.MonkeyPatch, fallbacks: Any
) -> None:
    row = Book.objects.create(title="b")
    monkeypatch.setattr(fastfetch, "BUILTIN_BACKENDS", frozenset())
    assert fastfetch.get(Book.objects.all(), row.pk).pk == row.pk
    assert fallbacks() == ["backend"]


@pytest.mark.skipif(django.VERSION < (6, 1), reason="fetch modes are new in Django 6.1")
def test_fetch_peers_takes_djangos_path(fallbacks: Any) -> None:
    row = Book.objects.create(title="b")
    queryset = Book.objects.fetch_mode(models.FETCH_PEERS)  # type: ignore[attr-defined]
    fetched = fastfetch.get(queryset, row.pk)
    assert fetched._state.fetch_mode is models.FETCH_PEERS  # type: ignore[attr-defined]
    assert fallbacks() == ["fetch_mode"]


@pytest.mark.skipif(django.VERSION < (6, 1), reason="fetch modes are new in Django 6.1")
def test_fetch_raise_is_kept_on_the_instance(compiled_runs: list[str]) -> None:
    row = Book.objects.create(title="b")
    queryset = Book.objects.fetch_mode(models.FETCH_RAISE)  # type: ignore[attr-defined]
    fastfetch.get(queryset, row.pk)
    fetched = fastfetch.get(queryset, row.pk)
    assert len(compiled_runs) == 2
    assert fetched._state.fetch_mode is models.FETCH_RAISE  # type: ignore[attr-defined]
    assert state(fetched) == state(queryset.get(pk=row.pk))


def test_the_setting_turns_it_off(compiled_runs: list[str]) -> None:
    row = Book.objects.create(title="b")
    with override_settings(ETAG_LOCK_COMPILED_FETCH=False):
        assert fastfetch.get(Book.objects.all(), row.pk).pk == row.pk
    assert compiled_runs == []
    assert fastfetch.compiled_statement(Book.objects.all()) is None


def test_kept_statements_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    row = Book.objects.create(title="b")
    monkeypatch.setattr(fastfetch, "_MAX_KEYS", 3)
    querysets = [Book.objects.all() for _ in range(5)]
    for queryset in querysets:
        fastfetch.get(queryset, row.pk)
    plans = fastfetch._plans[connections["default"]]
    assert 1 <= len(plans) <= 3
    assert fastfetch.compiled_statement(querysets[-1]) is not None
    assert fastfetch.compiled_statement(querysets[0]) is None  # forgotten


def test_a_patched_method_of_the_get_path_takes_djangos_path(
    monkeypatch: pytest.MonkeyPatch, compiled_runs: list[str], fallbacks: Any
) -> None:
    from django.db.models.sql.compiler import SQLCompiler

    row = Book.objects.create(title="b")
    queryset = Book.objects.all()
    fastfetch.get(queryset, row.pk)
    calls: list[str] = []
    original = SQLCompiler.execute_sql

    def execute_sql(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("execute_sql")  # a query cache or a profiler, say
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "execute_sql", execute_sql)
    assert fastfetch.get(queryset, row.pk).pk == row.pk
    assert calls == ["execute_sql"]
    assert len(compiled_runs) == 1
    assert fallbacks() == ["overridden"]


def test_a_setting_change_forgets_the_statements() -> None:
    row = Ledger.objects.create(title="t", at=NOW)
    queryset = Ledger.objects.all()
    fastfetch.get(queryset, row.pk)
    assert fastfetch.compiled_statement(queryset) is not None
    with override_settings(USE_TZ=False):
        assert fastfetch.compiled_statement(queryset) is None
        # What the columns are converted with can change (MySQL: USE_TZ).
        assert state(fastfetch.get(queryset, row.pk)) == state(queryset.get(pk=row.pk))
    assert fastfetch.compiled_statement(queryset) is None
    assert state(fastfetch.get(queryset, row.pk)) == state(queryset.get(pk=row.pk))
    with override_settings(ETAG_LOCK_MAX_IF_MATCH_TAGS=3):
        assert fastfetch.compiled_statement(queryset) is not None  # ours change no column


# -- the connection's own checks ---------------------------------------------------------


def test_a_broken_transaction_refuses_the_fetch_as_it_refuses_django() -> None:
    from django.db import transaction
    from django.db.transaction import TransactionManagementError

    row = Book.objects.create(title="b")
    queryset = Book.objects.all()
    fastfetch.get(queryset, row.pk)
    assert compat.cursor_unobserved(connections["default"])  # the driver cursor path
    with transaction.atomic():
        transaction.set_rollback(True)
        with pytest.raises(TransactionManagementError):
            queryset.get(pk=row.pk)
        with pytest.raises(TransactionManagementError):
            fastfetch.get(queryset, row.pk)


def test_an_event_loop_refuses_the_fetch_as_it_refuses_django() -> None:
    import asyncio

    from django.core.exceptions import SynchronousOnlyOperation

    row = Book.objects.create(title="b")
    queryset = Book.objects.all()
    fastfetch.get(queryset, row.pk)
    raised: list[type[BaseException]] = []

    async def in_loop() -> None:
        for fetch in (lambda: queryset.get(pk=row.pk), lambda: fastfetch.get(queryset, row.pk)):
            try:
                fetch()
            except SynchronousOnlyOperation as error:
                raised.append(type(error))

    asyncio.run(in_loop())
    assert raised == [SynchronousOnlyOperation, SynchronousOnlyOperation]
