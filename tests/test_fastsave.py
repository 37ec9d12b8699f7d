"""The compiled compare-and-set of a plain versioned save(), and every way back to Django's."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import django
import pytest
from django.core import serializers
from django.core.exceptions import SynchronousOnlyOperation
from django.db import IntegrityError, connection, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import F
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from django_etag_lock import compat, fastsave
from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.models import unchecked
from tests.testapp.models import (
    ArchivableBook,
    Book,
    BookCover,
    BookProxy,
    DbDefaultBook,
    Dog,
    GeneratedBook,
    Ledger,
    Publisher,
    Restaurant,
    Seat,
    SelectOnSaveBook,
    ShelfSlot,
    ShoutedBook,
    UUIDLedger,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _no_kept_statements() -> Iterator[None]:
    fastsave.reset()
    yield
    fastsave.reset()


@pytest.fixture
def compiled_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements run by the compiled path (``execute_compare_and_set``)."""
    runs: list[str] = []
    real = fastsave.execute_compare_and_set

    def spy(conn: Any, sql: str, params: Any) -> int:
        runs.append(sql)
        return real(conn, sql, params)

    monkeypatch.setattr(fastsave, "execute_compare_and_set", spy)
    return runs


@pytest.fixture
def fallbacks(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """The fallback reasons logged so far."""
    caplog.set_level(logging.DEBUG, logger="django_etag_lock.fastsave")

    def reasons() -> list[str]:
        return [
            r.fallback  # type: ignore[attr-defined]
            for r in caplog.records
            if r.name == "django_etag_lock.fastsave"
        ]

    return reasons


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> datetime.datetime:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@contextmanager
def recorded() -> Iterator[list[tuple[str, list[Any]]]]:
    """Every statement the connection runs, as (sql, params) before interpolation."""
    ran: list[tuple[str, list[Any]]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        ran.append((sql, list(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield ran


class _Undo(Exception):
    pass


def statement_of_save(obj: Any, *, compiled: bool, **save_kwargs: Any) -> tuple[str, list[Any]]:
    """The one statement ``obj.save()`` runs, rolled back; ``obj`` is left as it was."""
    before = obj.__dict__.copy()
    with override_settings(ETAG_LOCK_COMPILED_SAVE=compiled), recorded() as ran:
        try:
            with transaction.atomic():
                obj.save(**save_kwargs)
                raise _Undo
        except _Undo:
            pass
    obj.__dict__.clear()
    obj.__dict__.update(before)
    updates = [(sql, params) for sql, params in ran if sql.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1, ran
    return updates[0]


def assert_compiled_equals_django(obj: Any, **save_kwargs: Any) -> None:
    django_sql = statement_of_save(obj, compiled=False, **save_kwargs)
    statement_of_save(obj, compiled=True, **save_kwargs)  # first of its key: Django's path
    compiled_sql = statement_of_save(obj, compiled=True, **save_kwargs)
    assert compiled_sql == django_sql


# -- the compiled path ------------------------------------------------------------------


def test_second_plain_save_runs_the_kept_statement_through_the_connections_cursor(
    compiled_runs: list[str],
) -> None:
    book = Book.objects.create(title="Dune", pages=1)
    book.pages = 2
    book.save()
    assert compiled_runs == []  # the first save of a column set is Django's own
    book.pages = 3
    with CaptureQueriesContext(connection) as ctx, recorded() as ran:
        book.save()
    assert len(compiled_runs) == 1
    table = connection.ops.quote_name(Book._meta.db_table)
    assert ctx.captured_queries[0]["sql"].startswith(f"UPDATE {table} SET")
    assert len(ctx.captured_queries) == 1
    assert [sql for sql, _ in ran] == compiled_runs
    assert book.version == 3
    row = Book.objects.get(pk=book.pk)
    assert (row.pages, row.version) == (3, 3)


# -- the cursor: Django's, unless nothing would see the statement pass ------------------


@pytest.fixture
def driver_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The compiled statements run straight on the backend's cursor."""
    runs: list[str] = []
    real = compat.execute_on_driver_cursor

    def spy(conn: Any, sql: str, params: Any) -> int:
        runs.append(sql)
        return real(conn, sql, params)

    monkeypatch.setattr(compat, "execute_on_driver_cursor", spy)
    return runs


def _compiled_book() -> Book:
    """A book whose next save runs the kept statement (its second save already did)."""
    return _saved_twice(Book.objects.create(title="a", pages=1), _set("title"))


def test_an_unobserved_compiled_save_runs_on_the_backends_own_cursor(
    driver_runs: list[str],
) -> None:
    book = _compiled_book()
    assert len(driver_runs) == 1
    book.title = "b"
    book.save()
    assert len(driver_runs) == 2
    assert driver_runs[1].startswith(f"UPDATE {connection.ops.quote_name(Book._meta.db_table)}")
    row = Book.objects.get(pk=book.pk)
    assert (row.title, row.version) == ("b", book.version)


def test_a_patched_cursor_wrapper_execute_sees_the_compiled_statement(
    monkeypatch: pytest.MonkeyPatch, driver_runs: list[str], compiled_runs: list[str]
) -> None:
    """An APM agent that replaces CursorWrapper.execute (Sentry does) sees every save."""
    seen: list[str] = []
    real = CursorWrapper.execute

    def traced(self: Any, sql: str, params: Any = None) -> Any:
        seen.append(sql)
        return real(self, sql, params)

    book = _compiled_book()
    driver_runs.clear()
    monkeypatch.setattr(CursorWrapper, "execute", traced)
    book.title = "b"
    book.save()
    assert driver_runs == []
    assert seen == compiled_runs[-1:]
    assert Book.objects.get(pk=book.pk).title == "b"


def test_a_per_connection_cursor_sees_the_compiled_statement(
    monkeypatch: pytest.MonkeyPatch, driver_runs: list[str]
) -> None:
    """The Debug Toolbar replaces cursor() on each connection: it sees every save."""
    conn = connections["default"]
    made: list[Any] = []
    real = conn.cursor

    def cursor() -> Any:
        made.append(True)
        return real()

    book = _compiled_book()
    driver_runs.clear()
    monkeypatch.setattr(conn, "cursor", cursor)
    book.title = "b"
    book.save()
    assert driver_runs == []
    assert made == [True]


def test_debug_logs_the_compiled_statement(driver_runs: list[str]) -> None:
    book = _compiled_book()
    driver_runs.clear()
    book.title = "b"
    conn = connections["default"]
    with override_settings(DEBUG=True):
        conn.queries_log.clear()
        book.save()
        logged = [q["sql"] for q in conn.queries]
    assert driver_runs == []
    assert len(logged) == 1
    assert logged[0].startswith("UPDATE")


def test_a_broken_transaction_refuses_the_compiled_save_as_django_does(
    driver_runs: list[str],
) -> None:
    book = _compiled_book()
    driver_runs.clear()
    book.title = "b"
    with transaction.atomic():
        transaction.set_rollback(True)
        with pytest.raises(TransactionManagementError):
            book.save()
    assert len(driver_runs) == 1  # it got as far as the cursor, and no further
    assert Book.objects.get(pk=book.pk).title == "v1"


def test_driver_errors_of_the_compiled_save_are_djangos(driver_runs: list[str]) -> None:
    Seat.objects.create(code="A1", row="A", number=1)
    seat = _saved_twice(Seat.objects.create(code="B1", row="B", number=1), _set("row"))
    driver_runs.clear()
    seat.code = "A1"
    with pytest.raises(IntegrityError), transaction.atomic():
        seat.save()
    assert len(driver_runs) == 1
    assert Seat.objects.get(pk=seat.pk).code == "B1"


def test_a_compiled_save_in_an_event_loop_is_refused_as_djangos() -> None:
    book = _compiled_book()
    book.title = "b"

    async def save() -> None:
        book.save()

    with pytest.raises(SynchronousOnlyOperation):
        asyncio.run(save())
    assert Book.objects.get(pk=book.pk).title == "v1"


def test_the_sqlite_statement_is_converted_as_djangos_cursor_converts_it() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's placeholders")
    book = _compiled_book()
    (sql,) = fastsave._statements.values()
    with connection.cursor() as cursor:
        converted = compat._qmark(cursor.cursor, sql)
        assert converted == cursor.cursor.convert_query(sql)
    assert "%s" not in converted
    assert converted.count("?") == sql.count("%s")
    assert compat._qmark(object(), sql) is converted  # once per statement
    assert book.version == 3


def test_versioned_managers_using_is_managers_using() -> None:
    queryset = Book._base_manager.using("default")
    assert type(queryset) is type(Book._base_manager.get_queryset())
    assert (queryset.db, str(queryset.query)) == ("default", str(Book._base_manager.all().query))
    # A manager whose get_queryset() filters keeps its filter.
    live = ArchivableBook._base_manager.using("default")
    assert "archived" in str(live.query)


def test_compiled_save_of_a_stale_instance_raises_and_writes_nothing(
    compiled_runs: list[str],
) -> None:
    mine = Book.objects.create(title="Dune")
    mine.save()  # keeps the statement
    theirs = Book.objects.get(pk=mine.pk)
    theirs.title = "Theirs"
    theirs.save()
    mine.title = "Mine"
    before = mine.__dict__.copy()
    with pytest.raises(StaleObjectError) as caught:
        mine.save()
    assert len(compiled_runs) == 2
    assert (caught.value.expected_version, caught.value.current_version) == (2, 3)
    assert mine.__dict__ == before
    assert Book.objects.get(pk=mine.pk).title == "Theirs"


def test_compiled_stale_save_inside_a_transaction_leaves_it_usable(
    compiled_runs: list[str],
) -> None:
    mine = Book.objects.create(title="Dune")
    mine.save()
    Book.objects.filter(pk=mine.pk).update(title="Theirs")
    with transaction.atomic():
        with pytest.raises(StaleObjectError):
            mine.save()
        assert Book.objects.filter(pk=mine.pk).count() == 1
    assert compiled_runs


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"count": None, "amount": None, "ratio": None, "day": None, "at": None, "token": None},
        {"count": 7, "amount": decimal.Decimal("12.30"), "ratio": 0.25, "active": False},
        {"day": datetime.date(2026, 1, 2), "at": NOW, "token": uuid.UUID(int=5)},
        {"title": "", "count": 0, "ratio": None, "at": None},
    ],
    ids=["defaults", "all-null", "numbers", "dates-uuid", "mixed-null"],
)
def test_compiled_statement_equals_djangos_for_each_shape_of_values(
    values: dict[str, Any], compiled_runs: list[str]
) -> None:
    ledger = Ledger.objects.create(title="L", count=1, amount=decimal.Decimal("1.00"))
    for name, value in values.items():
        setattr(ledger, name, value)
    assert_compiled_equals_django(ledger)
    assert compiled_runs


def test_compiled_statement_equals_djangos_with_a_foreign_key_value(
    compiled_runs: list[str],
) -> None:
    ledger = Ledger.objects.create(title="L", publisher=Publisher.objects.create(name="P"))
    assert_compiled_equals_django(ledger)
    ledger.publisher = None
    assert_compiled_equals_django(ledger)
    # Before Django 6.1 a NULL is written as a literal, so it is a statement of its own.
    assert len(compiled_runs) == (2 if django.VERSION < (6, 1) else 3)


def test_compiled_statement_equals_djangos_for_a_uuid_primary_key(
    compiled_runs: list[str],
) -> None:
    row = UUIDLedger.objects.create(title="U")
    assert_compiled_equals_django(row)
    assert compiled_runs


def test_compiled_statement_equals_djangos_with_auto_now_and_update_fields(
    frozen_now: datetime.datetime, compiled_runs: list[str]
) -> None:
    book = Book.objects.create(title="Dune", pages=3)
    book.title = "Dune Messiah"
    assert_compiled_equals_django(book)
    assert_compiled_equals_django(book, update_fields=["title"])
    assert len(compiled_runs) == 2


def test_each_column_set_gets_its_own_statement(compiled_runs: list[str]) -> None:
    book = Book.objects.create(title="Dune")
    for _ in range(2):
        book.save(update_fields=["title"])
        book.save(update_fields=["pages"])
        book.save()
    assert len(compiled_runs) == 3
    assert len(set(compiled_runs)) == 3
    assert "pages" not in compiled_runs[0]
    assert fastsave.compiled_statement(Book, "default", ["version", "title"]) == compiled_runs[0]


def test_application_execute_wrappers_see_the_statement_and_rewrite_it_once(
    compiled_runs: list[str],
) -> None:
    """A wrapper that rewrites SQL (a SQL commenter) sees each save's statement once."""
    seen: list[str] = []

    def comment(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sql = f"{sql} /* request {len(seen)} */"
        seen.append(sql)
        return execute(sql, params, many, context)

    book = Book.objects.create(title="Dune")
    with connection.execute_wrapper(comment):
        book.save()  # first of its key: Django's path, recorded before the comment
        book.save()
        book.save()
    assert len(compiled_runs) == 2
    assert all("/*" not in sql for sql in compiled_runs)
    assert [sql.count("/*") for sql in seen] == [1, 1, 1]
    assert seen[2].endswith("/* request 2 */")
    assert Book.objects.get(pk=book.pk).version == 4


def test_execute_wrappers_get_the_parameters_as_django_passes_them(
    compiled_runs: list[str],
) -> None:
    """A tuple, as Django's compiler gives it: a wrapper may hash (sql, params)."""
    seen: dict[tuple[str, Any], int] = {}

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen[(sql, params)] = seen.get((sql, params), 0) + 1
        return execute(sql, params, many, context)

    book = Book.objects.create(title="Dune")
    with connection.execute_wrapper(count):
        book.save()  # first of its key: Django's path
        book.save()
    assert len(compiled_runs) == 1
    kinds = {type(params) for (sql, params) in seen if sql.lstrip().upper().startswith("UPDATE")}
    assert kinds == {tuple}


def test_a_proxy_shares_the_statement_of_its_concrete_model(compiled_runs: list[str]) -> None:
    book = Book.objects.create(title="Dune")
    book.save()
    proxy = BookProxy.objects.get(pk=book.pk)
    proxy.title = "Proxy"
    proxy.save()
    assert len(compiled_runs) == 1
    assert Book.objects.get(pk=book.pk).title == "Proxy"


def test_setting_off_keeps_every_save_on_djangos_path(compiled_runs: list[str]) -> None:
    book = Book.objects.create(title="Dune")
    with override_settings(ETAG_LOCK_COMPILED_SAVE=False):
        for _ in range(3):
            book.save()
    assert compiled_runs == []
    assert (
        fastsave.compiled_statement(Book, "default", ["version", "title", "pages", "updated_at"])
        is None
    )
    assert Book.objects.get(pk=book.pk).version == 4


def test_kept_statements_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastsave, "_MAX_KEYS", 2)
    book = Book.objects.create(title="Dune")
    for fields in (["title"], ["pages"], ["updated_at"], ["title", "pages"]):
        book.save(update_fields=fields)
        assert len(fastsave._statements) <= 2


# -- each fallback takes Django's path ---------------------------------------------------


def _saved_twice(obj: Any, change: Callable[[Any, int], None]) -> Any:
    for n in range(2):
        change(obj, n)
        obj.save()
    return obj


def _set(name: str) -> Callable[[Any, int], None]:
    def change(obj: Any, n: int) -> None:
        setattr(obj, name, f"v{n}")

    return change


def test_select_on_save_takes_djangos_path(compiled_runs: list[str], fallbacks: Any) -> None:
    book = _saved_twice(SelectOnSaveBook.objects.create(title="a"), _set("title"))
    assert compiled_runs == []
    assert fallbacks() == ["select_on_save", "select_on_save"]
    assert SelectOnSaveBook.objects.get(pk=book.pk).version == 3


def test_custom_placeholder_takes_djangos_path(compiled_runs: list[str], fallbacks: Any) -> None:
    book = _saved_twice(ShoutedBook.objects.create(title="a"), _set("title"))
    assert compiled_runs == []
    assert fallbacks() == ["custom_placeholder", "custom_placeholder"]
    assert ShoutedBook.objects.get(pk=book.pk).title == "V1"  # UPPER(%s) was applied


def test_db_default_field_takes_djangos_path(compiled_runs: list[str], fallbacks: Any) -> None:
    book = DbDefaultBook.objects.create(title="a")
    book.refresh_from_db()
    _saved_twice(book, _set("title"))
    assert compiled_runs == []
    assert fallbacks() == ["db_default", "db_default"]
    assert DbDefaultBook.objects.get(pk=book.pk).pages == 100


def test_generated_field_takes_djangos_path(compiled_runs: list[str], fallbacks: Any) -> None:
    book = GeneratedBook.objects.create(pages=1)

    def change(obj: Any, n: int) -> None:
        obj.pages = 10 + n

    _saved_twice(book, change)
    assert compiled_runs == []
    assert fallbacks() == ["generated", "generated"]
    assert GeneratedBook.objects.get(pk=book.pk).double == 22


def test_relation_primary_key_takes_djangos_path(compiled_runs: list[str], fallbacks: Any) -> None:
    cover = BookCover.objects.create(publisher=Publisher.objects.create(name="p"), colour="red")
    _saved_twice(cover, _set("colour"))
    assert compiled_runs == []
    assert fallbacks() == ["relation_pk", "relation_pk"]
    assert BookCover.objects.get(pk=cover.pk).version == 3


def test_composite_primary_key_takes_djangos_path(compiled_runs: list[str], fallbacks: Any) -> None:
    slot = ShelfSlot.objects.create(shelf_no=1, slot=2, label="a")
    _saved_twice(slot, _set("label"))
    assert compiled_runs == []
    assert fallbacks() == ["composite_pk", "composite_pk"]
    assert ShelfSlot.objects.get(pk=(1, 2)).label == "v1"


@pytest.mark.parametrize("model", [Restaurant, Dog], ids=["version-on-parent", "on-child"])
def test_multi_table_inheritance_takes_djangos_path(
    model: Any, compiled_runs: list[str], fallbacks: Any
) -> None:
    obj = _saved_twice(model.objects.create(name="a"), _set("name"))
    assert compiled_runs == []
    assert set(fallbacks()) == {"multi_table"}
    assert model.objects.get(pk=obj.pk).version == 3


def test_filtering_base_manager_takes_djangos_path_and_keeps_its_condition(
    compiled_runs: list[str], fallbacks: Any
) -> None:
    book = ArchivableBook.objects.create(title="a")
    with recorded() as ran:
        _saved_twice(book, _set("title"))
    assert compiled_runs == []
    assert fallbacks() == ["base_manager", "base_manager"]
    assert all("archived" in sql for sql, _ in ran if sql.startswith("UPDATE"))


def test_expression_value_takes_djangos_path(compiled_runs: list[str], fallbacks: Any) -> None:
    book = Book.objects.create(title="a", pages=1)
    book.save()
    book.pages = F("pages") + 10
    book.save()
    assert compiled_runs == []
    # Django 6 asks for the expression's value back (RETURNING); 5.2 does not.
    assert fallbacks()[-1] == ("returning" if django.VERSION >= (6, 0) else "expression")
    book.refresh_from_db()
    assert book.pages == 11


def test_new_instance_with_an_explicit_pk_takes_djangos_path(
    compiled_runs: list[str], fallbacks: Any
) -> None:
    Book(pk=4242, title="new").save()
    assert compiled_runs == []
    assert fallbacks() == ["adding"]
    assert Book.objects.get(pk=4242).version == 1


def test_raw_fixture_save_takes_djangos_path(compiled_runs: list[str], fallbacks: Any) -> None:
    book = Book.objects.create(title="a")
    data = serializers.serialize("json", [book])
    for _ in range(2):
        for obj in serializers.deserialize("json", data):
            obj.save()
    assert compiled_runs == []
    assert fallbacks() == ["raw", "raw"]


def test_unchecked_save_takes_djangos_path(compiled_runs: list[str], fallbacks: Any) -> None:
    book = Book.objects.create(title="a")
    with unchecked("test"):
        book.save()
        book.save()
    assert compiled_runs == []
    assert fallbacks() == ["unchecked", "unchecked"]
    assert Book.objects.get(pk=book.pk).version == 3


def test_a_backend_that_is_not_built_in_takes_djangos_path(
    monkeypatch: pytest.MonkeyPatch, compiled_runs: list[str], fallbacks: Any
) -> None:
    monkeypatch.setattr(fastsave, "BUILTIN_BACKENDS", frozenset())
    _saved_twice(Book.objects.create(title="a"), _set("title"))
    assert compiled_runs == []
    assert fallbacks() == ["backend", "backend"]


def test_built_in_backends_are_the_three_django_ships() -> None:
    assert type(connections["default"]).__module__ in fastsave.BUILTIN_BACKENDS
    assert {
        "django.db.backends.sqlite3.base",
        "django.db.backends.postgresql.base",
        "django.db.backends.mysql.base",
    } == fastsave.BUILTIN_BACKENDS


def test_a_statement_that_cannot_be_reproduced_stays_on_djangos_path(
    monkeypatch: pytest.MonkeyPatch, compiled_runs: list[str], fallbacks: Any
) -> None:
    """A field whose prepared value differs from call to call: never compiled."""
    field = Book._meta.get_field("title")
    calls = iter(range(1000))
    real = type(field).get_db_prep_save

    def unstable(value: Any, connection: Any) -> Any:
        return f"{real(field, value, connection)}-{next(calls)}"

    monkeypatch.setattr(field, "get_db_prep_save", unstable)
    book = _saved_twice(Book.objects.create(title="a"), _set("title"))
    book.save()
    assert compiled_runs == []
    assert fallbacks() == ["mismatch", "mismatch", "mismatch"]
    assert Book.objects.get(pk=book.pk).version == 4
