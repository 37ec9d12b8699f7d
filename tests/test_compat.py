"""Every private Django, DRF and drf-spectacular API the package uses, pinned per line.

One test per touch in ``django_etag_lock.compat``: the signature the package relies on
(``inspect.signature``) and the behaviour it expects, so that the Django-version matrix
fails here, naming the touch, when a release changes one.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import django
import pytest
from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.db.models.deletion import Collector
from django.db.models.manager import BaseManager
from django.db.models.signals import pre_delete
from django.db.models.sql.where import ExtraWhere, WhereNode
from django.http import BadHeaderError, HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import OpenApiResponse
from rest_framework.request import Request, clone_request
from rest_framework.test import APIRequestFactory

from django_etag_lock import compat
from django_etag_lock.models import VersionedModel
from tests.factories import BookFactory, ShelfFactory
from tests.testapp.models import Book, PlainBook, Shelf

pytestmark = pytest.mark.django_db

DJANGO_6 = django.VERSION >= (6, 0)


def test_compat_and_the_core_import_no_drf():
    code = (
        "import sys, django; from django.conf import settings; settings.configure("
        "INSTALLED_APPS=['django_etag_lock']); django.setup(); "
        "import django_etag_lock.compat, django_etag_lock.models; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('rest_framework', 'drf_spectacular')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


# -- Model._do_update -----------------------------------------------------------------


def test_do_update_signature_is_the_one_the_override_passes_on():
    names = parameters(getattr(Model, compat.DO_UPDATE))
    assert tuple(names[: len(compat.DO_UPDATE_PARAMETERS)]) == compat.DO_UPDATE_PARAMETERS
    # 6.0 added returning_fields, which the override forwards through *args.
    extra = names[len(compat.DO_UPDATE_PARAMETERS) :]
    assert extra == (["returning_fields"] if DJANGO_6 else [])


def test_do_update_is_what_save_table_calls_and_versioned_model_overrides():
    assert compat.DO_UPDATE in VersionedModel.__dict__
    assert f"self.{compat.DO_UPDATE}(" in inspect.getsource(Model._save_table)


def test_do_update_override_puts_the_version_in_the_update_statement():
    book = BookFactory()
    with CaptureQueriesContext(connection) as queries:
        book.save()
    (update,) = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert "version" in update.split("WHERE", 1)[1]
    assert book.version == 2


# -- sql.where.ExtraWhere on Query.where ------------------------------------------------


def test_extra_where_and_where_node_add_signatures():
    assert parameters(ExtraWhere.__init__) == ["self", "sqls", "params"]
    assert parameters(WhereNode.add) == ["self", "data", "conn_type"]


def test_add_where_sql_ands_a_condition_into_the_queryset_in_place():
    kept, other = BookFactory(pages=3), BookFactory(pages=4)
    queryset = Book.objects.filter(pk__in=[kept.pk, other.pk])
    quote = connection.ops.quote_name
    compat.add_where_sql(queryset, f"{quote(Book._meta.db_table)}.{quote('pages')} = %s", [3])
    assert list(queryset.values_list("pk", flat=True)) == [kept.pk]
    assert QuerySet.update(queryset, title="x") == 1
    other.refresh_from_db()
    assert other.title != "x"


# -- QuerySet._raw_delete ---------------------------------------------------------------


def test_raw_delete_signature():
    assert parameters(QuerySet._raw_delete) == ["self", "using"]


def test_raw_delete_is_one_delete_statement_without_signals():
    gone, kept = BookFactory(), BookFactory()
    received: list[Any] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs["instance"])

    pre_delete.connect(receiver, sender=Book)
    try:
        with CaptureQueriesContext(connection) as queries:
            deleted = compat.raw_delete(Book.objects.filter(pk=gone.pk), "default")
    finally:
        pre_delete.disconnect(receiver, sender=Book)
    assert deleted == 1
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["DELETE"]
    assert received == []
    assert list(Book.objects.values_list("pk", flat=True)) == [kept.pk]


# -- Collector.can_fast_delete ----------------------------------------------------------


def test_collector_signatures():
    assert parameters(Collector.__init__)[:3] == ["self", "using", "origin"]
    assert parameters(Collector.can_fast_delete) == ["self", "objs", "from_field"]


def test_can_fast_delete_only_without_cascades_or_delete_signals():
    book, shelf = BookFactory(), ShelfFactory()
    assert compat.can_fast_delete(book, "default", origin=book)
    assert compat.can_fast_delete(Book.objects.filter(pk=book.pk), "default")
    assert not compat.can_fast_delete(shelf, "default", origin=shelf)  # cascades to items

    def receiver(sender: Any, **kwargs: Any) -> None:
        pass

    pre_delete.connect(receiver, sender=Book)
    try:
        assert not compat.can_fast_delete(book, "default", origin=book)
    finally:
        pre_delete.disconnect(receiver, sender=Book)
    assert Shelf.objects.filter(pk=shelf.pk).exists()


# -- QuerySet._for_write ----------------------------------------------------------------


class _SplitRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return "replica"

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return "default"


def test_queryset_has_a_for_write_flag_that_starts_false():
    assert Book.objects.all()._for_write is False


def test_write_db_asks_the_router_for_the_write_database():
    with override_settings(DATABASE_ROUTERS=[_SplitRouter()]):
        assert PlainBook.objects.all().db == "replica"
        queryset = PlainBook.objects.all()
        assert compat.write_db(queryset) == "default"
        assert queryset.db == "default"


# -- connection.needs_rollback ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_needs_rollback_follows_set_rollback_and_reads_outside_atomic():
    assert compat.needs_rollback(connection) is False
    with transaction.atomic():
        assert compat.needs_rollback(connection) is False
        transaction.set_rollback(True)
        assert compat.needs_rollback(connection) is True
        transaction.set_rollback(False)
    assert compat.needs_rollback(connection) is False


# -- DRF: Request._request --------------------------------------------------------------


def test_wrapped_request_is_the_django_request_with_the_client_method():
    django_request = APIRequestFactory().patch("/t/books/1/")
    request = Request(django_request)
    assert parameters(Request.__init__)[:2] == ["self", "request"]
    assert compat.wrapped_request(request) is django_request
    clone = clone_request(request, "GET")
    assert clone.method == "GET"
    assert compat.wrapped_request(clone).method == "PATCH"


# -- Django HTTP: ResponseHeaders._store ------------------------------------------------


def _headers_set_one_by_one(headers: dict[str, Any]) -> HttpResponse:
    response = HttpResponse()
    for name, value in headers.items():
        if name not in response.headers:
            response.headers[name] = value
    return response


def test_response_headers_store_is_the_lowercased_name_and_the_pair_setitem_stores():
    response = HttpResponse()
    response.headers["ETag"] = '"7"'
    assert response.headers._store == {  # type: ignore[attr-defined]
        "content-type": ("Content-Type", "text/html; charset=utf-8"),
        "etag": ("ETag", '"7"'),
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"ETag": '"7"', "Cache-Control": "private, no-cache"},
        {"Content-Location": "/api/books/1/?q=%C3%A9", "ETag": '"1"'},
        {"ETag": 'W/"x"', "Last-Modified": "Tue, 01 Dec 2026 10:00:00 GMT"},
        {"Cache-Control": "no-cache,\tprivate"},  # a tab: Django's path
        {"Content-Location": "/caf\u00e9/"},  # Latin-1: Django's path
        {"Content-Location": "/\u20ac/"},  # beyond Latin-1: MIME-encoded by Django
        {"X-Custom": "yes", "etag": '"3"'},  # names we do not know: Django's path
        {"ETag": 7},  # not a string: Django's path converts it
    ],
)
def test_add_missing_headers_stores_what_setting_them_one_by_one_stores(headers):
    response = HttpResponse()
    compat.add_missing_headers(response, headers)
    expected = _headers_set_one_by_one(headers)
    assert response.headers._store == expected.headers._store  # type: ignore[attr-defined]
    assert response.serialize_headers() == expected.serialize_headers()


def test_add_missing_headers_keeps_a_header_the_response_has_in_any_case():
    response = HttpResponse()
    response.headers["etag"] = '"mine"'
    response.headers["Cache-Control"] = "no-store"
    compat.add_missing_headers(response, {"ETag": '"7"', "Cache-Control": "private, no-cache"})
    assert response.headers["ETag"] == '"mine"'
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("value", ['"7"\r\nSet-Cookie: a=b', "/a\nb/"])
def test_add_missing_headers_refuses_a_newline_as_django_does(value):
    with pytest.raises(BadHeaderError):
        compat.add_missing_headers(HttpResponse(), {"ETag": value})
    with pytest.raises(BadHeaderError):
        compat.add_missing_headers(HttpResponse(), {"Content-Location": value})


# -- drf-spectacular: AutoSchema's private methods --------------------------------------


def bound_schema(url: str, template: str, method: str) -> AutoSchema:
    """The view's schema after drf-spectacular has built the operation for ``method``."""
    match = resolve(url)
    view = SchemaGenerator().create_view(match.func, method)
    view.request = spectacular_settings.GET_MOCK_REQUEST(method, template, view, None)
    schema = view.schema
    assert isinstance(schema, AutoSchema)
    schema.get_operation(template, template, "^/", method, ComponentRegistry())
    return schema


def test_spectacular_private_method_signatures():
    assert parameters(AutoSchema._is_list_view) == ["self", "serializer"]
    assert parameters(AutoSchema._is_create_operation) == ["self"]
    assert parameters(AutoSchema._get_response_for_code)[:4] == [
        "self",
        "serializer",
        "status_code",
        "media_types",
    ]
    assert parameters(getattr(AutoSchema, compat.SPECTACULAR_RESPONSE_BODIES)) == [
        "self",
        "direction",
    ]


def test_spectacular_is_list_view_and_is_create_operation():
    listing = bound_schema("/t/books/", "/t/books/", "GET")
    detail = bound_schema("/t/books/1/", "/t/books/{id}/", "GET")
    create = bound_schema("/t/books/", "/t/books/", "POST")
    assert compat.spectacular_is_list_view(listing)
    assert not compat.spectacular_is_list_view(detail)
    assert compat.spectacular_is_create_operation(create)
    assert not compat.spectacular_is_create_operation(detail)


def test_spectacular_response_for_code_builds_the_response_object():
    schema = bound_schema("/t/books/1/", "/t/books/{id}/", "GET")
    response = compat.spectacular_response_for_code(
        schema, OpenApiResponse(description="Not Modified."), "304"
    )
    assert response["description"] == "Not Modified."
    assert "content" not in response
    # Response headers declared for the code (the view's ETag parameter) are attached.
    assert "ETag" in response["headers"]
    problem = compat.spectacular_response_for_code(
        schema,
        OpenApiResponse(response={"type": "object"}, description="Problem."),
        "412",
        ["application/problem+json"],
    )
    assert problem["description"] == "Problem."
    assert list(problem["content"]) == ["application/problem+json"]


def test_spectacular_response_bodies_is_what_get_operation_calls_and_we_extend():
    assert f"self.{compat.SPECTACULAR_RESPONSE_BODIES}()" in inspect.getsource(
        AutoSchema.get_operation
    )
    schema = bound_schema("/t/books/1/", "/t/books/{id}/", "PATCH")
    name = compat.SPECTACULAR_RESPONSE_BODIES
    base = getattr(AutoSchema, name)(schema, "response")
    ours = getattr(schema, name)("response")
    assert "200" in base
    assert "412" not in base
    assert {"200", "412", "428"} <= set(ours)


# -- QuerySet._insert and the conflict clause of an upsert ------------------------------


def test_queryset_insert_signature_is_the_one_the_override_takes():
    assert parameters(QuerySet._insert)[: len(compat.QUERYSET_INSERT_PARAMETERS)] == list(
        compat.QUERYSET_INSERT_PARAMETERS
    )


def test_bulk_create_with_update_conflicts_calls_insert_with_field_objects(monkeypatch):
    from django.db.models.constants import OnConflict

    from django_etag_lock.querysets import VersionedQuerySet

    seen: list[Any] = []
    original = VersionedQuerySet._insert

    def spy(self, objs, fields, *args, **kwargs):
        seen.append((kwargs.get("on_conflict"), kwargs.get("update_fields")))
        return original(self, objs, fields, *args, **kwargs)

    monkeypatch.setattr(VersionedQuerySet, "_insert", spy)
    kwargs: dict[str, Any] = {"update_conflicts": True, "update_fields": ["title"]}
    if connection.features.supports_update_conflicts_with_target:
        kwargs["unique_fields"] = ["id"]
    Book.objects.bulk_create([Book(title="x")], **kwargs)
    ((on_conflict, update_fields),) = seen
    assert on_conflict == OnConflict.UPDATE
    assert [f.name for f in update_fields] == ["title"]


def test_insert_with_conflict_suffix_appends_right_after_the_conflict_clause():
    from django.db.models.constants import OnConflict

    book = Book.objects.create(title="x")
    seen: list[Any] = []

    def extend(suffix: str | None, conn: Any) -> str:
        seen.append(suffix)
        return ""

    title = Book._meta.get_field("title")
    unique = [Book._meta.pk] if connection.features.supports_update_conflicts_with_target else []
    fields = list(Book._meta.concrete_fields)
    with CaptureQueriesContext(connection) as ctx:
        compat.insert_with_conflict_suffix(
            Book, "default", [Book(pk=book.pk, title="y")], fields, None, False,
            OnConflict.UPDATE, [title], unique, extend,
        )  # fmt: skip
    (suffix,) = seen
    assert suffix is not None
    assert suffix in ctx.captured_queries[-1]["sql"]
    assert Book.objects.get(pk=book.pk).title == "y"


# -- Options.base_manager_name ----------------------------------------------------------


def test_use_base_manager_makes_the_named_manager_the_base_manager():
    assert Book._meta.base_manager_name == "_etag_lock_base_manager"
    assert Book._base_manager is Book._meta.managers_map["_etag_lock_base_manager"]
    assert "base_manager" in vars(type(Book._meta))  # still a cached_property


# -- Collector: SET_NULL/SET(value) through the base manager, the others fetched ---------


def test_collector_related_objects_is_a_base_manager_queryset():
    from django_etag_lock.querysets import VersionedQuerySet
    from tests.testapp.models import Article, Author

    field = Article._meta.get_field("editor")
    related = Collector(using="default").related_objects(Article, [field], [Author(pk=1)])
    assert isinstance(related, VersionedQuerySet)
    assert related.model is Article


def test_collector_laziness_of_the_set_handlers():
    from django.db import models

    assert getattr(models.SET_NULL, "lazy_sub_objs", False)
    assert getattr(models.SET(None), "lazy_sub_objs", False)
    assert not getattr(models.SET(lambda: None), "lazy_sub_objs", False)
    assert not getattr(models.SET_DEFAULT, "lazy_sub_objs", False)
    assert models.SET(lambda: None).deconstruct()[0] == "django.db.models.SET"
    assert compat.collector_writes_fetched_rows(models.SET_DEFAULT)
    assert compat.collector_writes_fetched_rows(models.SET(lambda: None))
    assert not compat.collector_writes_fetched_rows(models.SET_NULL)
    assert not compat.collector_writes_fetched_rows(models.CASCADE)


def test_collector_sends_pre_delete_before_its_field_updates():
    from tests.testapp.models import Article, Author

    author = Author.objects.create(name="a")
    article = Article.objects.create(title="t", reviewer=author)
    seen: list[Any] = []

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        seen.append(Article._base_manager.get(pk=article.pk).reviewer_id)

    pk = author.pk
    pre_delete.connect(receiver, sender=Author, dispatch_uid="test-order")
    try:
        author.delete()
    finally:
        pre_delete.disconnect(sender=Author, dispatch_uid="test-order")
    assert seen == [pk]  # the row still pointed at the author: not yet updated
    assert Article._base_manager.get(pk=article.pk).reviewer_id is None


def test_database_on_delete_operation():
    from django.db import models

    assert compat.database_on_delete_operation(models.SET_NULL) is None
    if hasattr(models, "DB_SET_NULL"):
        assert compat.database_on_delete_operation(models.DB_SET_NULL) == "SET NULL"


# -- django-ninja ---------------------------------------------------------------------


def test_ninja_run_checks_is_the_auth_step_that_run_calls_before_validating():
    from ninja.operation import AsyncOperation, Operation

    for cls in (Operation, AsyncOperation):
        method = getattr(cls, compat.NINJA_RUN_CHECKS)
        assert tuple(inspect.signature(method).parameters) == compat.NINJA_RUN_CHECKS_PARAMETERS
        source = inspect.getsource(cls.run)
        checks = source.index(f"self.{compat.NINJA_RUN_CHECKS}(request)")
        assert checks < source.index("self._get_values("), cls
    assert inspect.iscoroutinefunction(getattr(AsyncOperation, compat.NINJA_RUN_CHECKS))
    assert not inspect.iscoroutinefunction(getattr(Operation, compat.NINJA_RUN_CHECKS))


def test_ninja_run_checks_returns_none_or_the_refusal():
    from ninja import NinjaAPI
    from ninja.security import APIKeyHeader

    class Key(APIKeyHeader):
        param_name = "X-API-Key"

        def authenticate(self, request: Any, key: str | None) -> str | None:
            return key if key == "k" else None

    api = NinjaAPI(urls_namespace="compat-ninja")

    @api.get("/x", auth=Key())
    def view(request: Any) -> None:
        return None

    operation = view._ninja_operation  # type: ignore[attr-defined]
    operation.api = api
    refused = getattr(operation, compat.NINJA_RUN_CHECKS)(RequestFactory().get("/x"))
    assert refused.status_code == 401
    allowed = RequestFactory().get("/x", headers={"X-API-Key": "k"})
    assert getattr(operation, compat.NINJA_RUN_CHECKS)(allowed) is None


def test_ninja_clone_keeps_our_operation_class_and_the_routes_own_openapi_extra():
    from customers.ninja_api import update_customer

    from django_etag_lock.ninja import ETagLockOperation

    operation = update_customer._ninja_operation  # type: ignore[attr-defined]
    assert type(operation) is ETagLockOperation
    clone = operation.clone()
    assert type(clone) is ETagLockOperation
    assert clone.__dict__["openapi_extra"] is None
    assert clone.openapi_extra is not None


# -- the compiled save (fastsave) ------------------------------------------------------


def test_plain_update_queryset_accepts_the_base_managers_queryset_and_nothing_more():
    assert compat.plain_update_queryset(Book._base_manager.using("default"))
    assert not compat.plain_update_queryset(Book._base_manager.filter(pages=1))
    assert not compat.plain_update_queryset(Book._base_manager.order_by("pages"))
    assert not compat.plain_update_queryset(Book._base_manager.extra(where=["1 = 1"]))
    assert not compat.plain_update_queryset(Book._base_manager.all()[:1])
    assert not compat.plain_update_queryset(Book._base_manager.none())

    class Custom(QuerySet):  # type: ignore[type-arg]
        def _update(self, values, returning_fields=None):  # type: ignore[no-untyped-def]
            return super()._update(values)

    assert not compat.plain_update_queryset(Custom(model=Book))


def test_queryset_update_is_what_save_uses_and_keeps_its_leading_parameter():
    assert list(inspect.signature(QuerySet._update).parameters)[:2] == ["self", "values"]
    assert compat._QUERYSET_UPDATE is QuerySet._update


def test_outermost_execute_wrapper_runs_outside_installed_wrappers_and_is_removed():
    order: list[str] = []

    def outer(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        order.append("installed")
        return execute(sql, params, many, context)

    def first(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        order.append("outermost")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(outer):
        with compat.outermost_execute_wrapper(connection, first):
            Book.objects.count()
        assert connection.execute_wrappers == [outer]
    assert order == ["outermost", "installed"]
    assert connection.execute_wrappers == []


def test_local_concrete_fields_are_the_tables_columns_in_order():
    names = [f.attname for f in compat.local_concrete_fields(Book)]
    assert names == ["id", "version", "title", "pages", "updated_at"]


def test_cached_related_reads_only_a_loaded_forward_relation():
    from tests.testapp.models import Order, OrderLine

    order = Order.objects.create(reference="c")
    line = OrderLine.objects.create(order=order, sku="x")
    field = OrderLine._meta.get_field("order")
    assert compat.cached_related(line, field) is order
    fresh = OrderLine.objects.get(pk=line.pk)
    with CaptureQueriesContext(connection) as ctx:
        assert compat.cached_related(fresh, field) is None
    assert ctx.captured_queries == []
    assert inspect.signature(field.is_cached).parameters.keys() == {"instance"}
    assert inspect.signature(field.get_cached_value).parameters.keys() >= {"instance"}


# -- the compiled save's way to the database (fastsave.execute_compare_and_set) ----------


def test_manager_queryset_using_builds_what_get_queryset_using_returns():
    manager = Book._base_manager
    built = compat.manager_queryset_using(manager, "default")
    django_way = manager.get_queryset().using("default")
    assert built is not None
    assert type(built) is type(django_way)
    for attr in ("_db", "_hints", "_for_write", "_sticky_filter", "_iterable_class", "_fields"):
        assert getattr(built, attr) == getattr(django_way, attr), attr
    assert str(built.query) == str(django_way.query)
    assert inspect.getsource(BaseManager.get_queryset).count("_queryset_class(") == 1


def test_manager_queryset_using_leaves_overridden_managers_and_querysets_alone():
    class Filtering(type(Book._base_manager)):  # type: ignore[misc]
        def get_queryset(self):  # type: ignore[no-untyped-def]
            return super().get_queryset().filter(pages=1)

    class OwnUsing(QuerySet):  # type: ignore[type-arg]
        def using(self, alias):  # type: ignore[no-untyped-def]
            return super().using(alias)

    filtering = Filtering()
    filtering.model = Book
    own = type(Book._base_manager).from_queryset(OwnUsing)()
    own.model = Book
    assert compat.manager_queryset_using(filtering, "default") is None
    assert compat.manager_queryset_using(own, "default") is None
    assert "pages" in str(Book._base_manager.__class__.using(filtering, "default").query)


def test_cursor_and_execute_take_the_steps_execute_on_driver_cursor_repeats():
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

    def calls(function: Any, names: list[str]) -> list[int]:
        source = inspect.getsource(function)
        return [source.index(name) for name in names]

    steps = ["close_if_health_check_failed()", "ensure_connection()", "wrap_database_errors"]
    steps += ["_prepare_cursor(self.create_cursor(name))"]
    positions = calls(BaseDatabaseWrapper._cursor, steps)
    assert positions == sorted(positions)
    prepare = inspect.getsource(BaseDatabaseWrapper._prepare_cursor)
    assert "validate_thread_sharing()" in prepare
    assert "queries_logged" in prepare
    assert "self.force_debug_cursor or settings.DEBUG" in inspect.getsource(
        BaseDatabaseWrapper.queries_logged.fget
    )
    positions = calls(
        CursorWrapper._execute,
        ["apps.ready", "validate_no_broken_transaction()", "wrap_database_errors", "execute(sql"],
    )
    assert positions == sorted(positions)
    assert "execute_wrappers" in inspect.getsource(CursorWrapper._execute_with_wrappers)


def test_cursor_unobserved_follows_every_way_of_observing_a_statement(monkeypatch):
    from django.db import connections
    from django.db.backends.utils import CursorWrapper

    conn = connections["default"]
    assert compat.cursor_unobserved(conn)
    with conn.execute_wrapper(lambda execute, *args: execute(*args)):
        assert not compat.cursor_unobserved(conn)
    with CaptureQueriesContext(conn):
        assert not compat.cursor_unobserved(conn)
    with override_settings(DEBUG=True):
        assert not compat.cursor_unobserved(conn)
    with monkeypatch.context() as patch:
        patch.setattr(conn, "cursor", conn.cursor)
        assert not compat.cursor_unobserved(conn)
    for name in ("execute", "_execute", "_execute_with_wrappers"):
        with monkeypatch.context() as patch:
            patch.setattr(CursorWrapper, name, lambda self, *args: None)
            assert not compat.cursor_unobserved(conn), name
    with monkeypatch.context() as patch:
        patch.setattr(type(conn), "make_cursor", lambda self, cursor: cursor)
        assert not compat.cursor_unobserved(conn)
    assert compat.cursor_unobserved(conn)


def test_execute_on_driver_cursor_returns_the_rowcount_and_closes_the_cursor():
    from django.db import connections

    book = BookFactory(pages=1)
    table = connection.ops.quote_name(Book._meta.db_table)
    sql = f"UPDATE {table} SET {connection.ops.quote_name('pages')} = %s WHERE id = %s"
    assert compat.execute_on_driver_cursor(connections["default"], sql, [7, book.pk]) == 1
    assert compat.execute_on_driver_cursor(connections["default"], sql, [7, -1]) == 0
    assert Book.objects.get(pk=book.pk).pages == 7


def test_sqlite_cursor_converts_a_sequence_of_params_with_convert_query():
    pytest.importorskip("sqlite3")
    import sqlite3

    from django.db.backends.sqlite3.base import SQLiteCursorWrapper

    assert compat._sqlite() == (SQLiteCursorWrapper.execute, sqlite3.Cursor.execute)
    assert SQLiteCursorWrapper.__bases__ == (sqlite3.Cursor,)
    source = inspect.getsource(SQLiteCursorWrapper.execute)
    assert "self.convert_query(query, param_names=param_names)" in source
    assert "super().execute(query, params)" in source
    assert list(inspect.signature(SQLiteCursorWrapper.convert_query).parameters) == [
        "self",
        "query",
        "param_names",
    ]
