"""The django-ninja door: the DRF mixin's request -> response table on Ninja routes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from customers.models import Customer
from customers.ninja_api import api as demo_api
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from ninja import NinjaAPI, Schema

import django_etag_lock.ninja as door
from django_etag_lock.ninja import ETagSchema, etag_lock
from django_etag_lock.problems import (
    PROBLEM_TYPE_MALFORMED_PRECONDITION,
    PROBLEM_TYPE_PRECONDITION_FAILED,
    PROBLEM_TYPE_PRECONDITION_REQUIRED,
)
from tests.factories import BookFactory, CustomerFactory, ShelfFactory
from tests.testapp.models import Book, PlainBook, ShelfItem

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
JSON = "application/json"


@pytest.fixture
def client() -> Client:
    return Client()


def url(pk: int, prefix: str = "/ninja/customers") -> str:
    return f"{prefix}/{pk}"


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    data: dict[str, Any] = json.loads(response.content)
    assert data["status"] == response.status_code
    return data


def patch(client: Client, target: str, body: Any, **headers: str) -> Any:
    return client.patch(target, json.dumps(body), content_type=JSON, headers=headers)


def stored(obj: Any) -> Any:
    return type(obj)._base_manager.get(pk=obj.pk)


def bump(obj: Any) -> None:
    type(obj).objects.filter(pk=obj.pk).update()


# -- reads ------------------------------------------------------------------------------


def test_get_sends_the_strong_etag_cache_control_and_last_modified(client):
    customer = CustomerFactory()
    response = client.get(url(customer.pk))
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response["Cache-Control"] == "private, no-cache"
    assert "Last-Modified" in response
    assert json.loads(response.content)["etag"] == '"1"'


def test_head_is_served_with_the_etag_and_no_body(client):
    customer = CustomerFactory()
    response = client.head(url(customer.pk))
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response.content == b""


@pytest.mark.parametrize("value", ['"1"', 'W/"1"', "*", '"9", "1"'])
def test_if_none_match_that_matches_is_304_with_the_validators(client, value):
    customer = CustomerFactory()
    response = client.get(url(customer.pk), headers={"If-None-Match": value})
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == '"1"'
    assert response["Cache-Control"] == "private, no-cache"
    assert "Last-Modified" in response
    assert "Content-Type" not in response


def test_if_none_match_with_a_stale_tag_is_200(client):
    customer = CustomerFactory()
    bump(customer)
    response = client.get(url(customer.pk), headers={"If-None-Match": '"1"'})
    assert response.status_code == 200
    assert response["ETag"] == '"2"'


def test_list_items_carry_their_own_etag_and_the_list_none(client):
    first, second = BookFactory(pages=20), BookFactory(pages=30)
    bump(second)
    response = client.get("/t/ninja/books")
    assert response.status_code == 200
    assert "ETag" not in response
    tags = {item["id"]: item["etag"] for item in json.loads(response.content)}
    assert tags == {first.pk: '"1"', second.pk: '"2"'}


def test_unknown_row_is_ninjas_404(client):
    response = client.get(url(999999), headers={"If-Match": '"1"'})
    assert response.status_code == 404
    assert json.loads(response.content) == {"detail": "Not Found"}


def test_a_path_value_of_the_wrong_type_is_404_not_500(client):
    BookFactory(pages=20)
    response = client.get("/t/ninja/books/not-a-number")
    assert response.status_code in (404, 422)


def test_a_row_outside_the_scoped_queryset_is_404(client):
    book = BookFactory(pages=1)
    assert client.get(f"/t/ninja/books/{book.pk}").status_code == 404
    response = patch(client, f"/t/ninja/books/{book.pk}", {"pages": 5}, **{"If-Match": '"1"'})
    assert response.status_code == 404
    assert stored(book).pages == 1


# -- writes -----------------------------------------------------------------------------


def test_create_answers_201_with_the_etag(client):
    body = {"customer_id": "N1", "given_name": "G", "family_name": "F"}
    response = client.post("/ninja/customers", json.dumps(body), content_type=JSON)
    assert response.status_code == 201
    assert response["ETag"] == '"1"'
    assert json.loads(response.content)["etag"] == '"1"'


def test_patch_with_the_current_tag_answers_200_with_the_new_etag(client):
    customer = CustomerFactory()
    response = patch(client, url(customer.pk), {"notes": "n"}, **{"If-Match": '"1"'})
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert json.loads(response.content)["etag"] == '"2"'
    assert stored(customer).notes == "n"


def test_put_with_the_current_tag_answers_200_with_the_new_etag(client):
    customer = CustomerFactory()
    body = {"customer_id": customer.customer_id, "given_name": "New", "family_name": "F"}
    response = client.put(
        url(customer.pk), json.dumps(body), content_type=JSON, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert stored(customer).given_name == "New"


def test_delete_with_the_current_tag_is_204(client):
    customer = CustomerFactory()
    response = client.delete(url(customer.pk), headers={"If-Match": '"1"'})
    assert response.status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_update_if_version_route_answers_with_the_written_rows_etag(client):
    book = BookFactory(pages=20)
    response = patch(client, f"/t/ninja/books/{book.pk}", {"pages": 21}, **{"If-Match": '"1"'})
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert stored(book).pages == 21


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_write_without_if_match_is_428_and_writes_nothing(client, method):
    customer = CustomerFactory(notes="keep")
    body = {"customer_id": "X", "given_name": "G", "family_name": "F", "notes": "mine"}
    response = getattr(client, method)(url(customer.pk), json.dumps(body), content_type=JSON)
    assert response.status_code == 428
    data = problem(response)
    assert data["type"] == PROBLEM_TYPE_PRECONDITION_REQUIRED
    assert data["reason"] == "if-match-missing"
    assert data["header"] == "If-Match"
    assert data["instance"] == url(customer.pk)
    assert response["Cache-Control"] == "no-store"
    assert "ETag" not in response
    assert stored(customer).notes == "keep"


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_stale_if_match_is_412_with_the_current_tag_and_writes_nothing(client, method):
    customer = CustomerFactory(notes="keep")
    bump(customer)
    body = {"customer_id": "X", "given_name": "G", "family_name": "F", "notes": "mine"}
    response = getattr(client, method)(
        url(customer.pk), json.dumps(body), content_type=JSON, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 412
    data = problem(response)
    assert data["type"] == PROBLEM_TYPE_PRECONDITION_FAILED
    assert data["reason"] == "if-match-failed"
    assert data["current_etag"] == '"2"'
    assert response["ETag"] == '"2"'
    assert stored(customer).notes == "keep"
    assert stored(customer).version == 2


def test_weak_tag_in_if_match_is_412(client):
    customer = CustomerFactory()
    response = patch(client, url(customer.pk), {"notes": "n"}, **{"If-Match": 'W/"1"'})
    assert response.status_code == 412
    assert "strong comparison" in problem(response)["detail"]


def test_if_match_star_and_lists_match(client):
    customer = CustomerFactory()
    assert patch(client, url(customer.pk), {"notes": "a"}, **{"If-Match": "*"}).status_code == 200
    response = patch(client, url(customer.pk), {"notes": "b"}, **{"If-Match": '"9", "2"'})
    assert response.status_code == 200
    assert response["ETag"] == '"3"'


@pytest.mark.parametrize("value", ["1", '"1', "W/1"])
def test_malformed_if_match_on_a_write_is_a_400_problem(client, value):
    customer = CustomerFactory(notes="keep")
    response = patch(client, url(customer.pk), {"notes": "n"}, **{"If-Match": value})
    assert response.status_code == 400
    data = problem(response)
    assert data["type"] == PROBLEM_TYPE_MALFORMED_PRECONDITION
    assert data["reason"] == "malformed-if-match"
    assert stored(customer).notes == "keep"


def test_if_none_match_star_on_a_write_of_an_existing_row_is_412(client):
    customer = CustomerFactory()
    response = patch(
        client, url(customer.pk), {"notes": "n"}, **{"If-Match": '"1"', "If-None-Match": "*"}
    )
    assert response.status_code == 412
    assert problem(response)["reason"] == "if-none-match-failed"


# -- order: authentication, 404, preconditions, then the body -------------------------------


def test_stale_tag_with_an_invalid_body_is_412_not_422(client):
    customer = CustomerFactory()
    bump(customer)
    response = patch(
        client, url(customer.pk), {"notes": ["not", "a", "string"]}, **{"If-Match": '"1"'}
    )
    assert response.status_code == 412


def test_missing_tag_with_an_invalid_body_is_428(client):
    customer = CustomerFactory()
    response = patch(client, url(customer.pk), {"notes": ["x"]})
    assert response.status_code == 428


def test_fresh_tag_with_an_invalid_body_is_ninjas_422_and_writes_nothing(client):
    customer = CustomerFactory(notes="keep")
    response = patch(client, url(customer.pk), {"notes": ["x"]}, **{"If-Match": '"1"'})
    assert response.status_code == 422
    assert stored(customer).notes == "keep"


def test_authentication_comes_before_404_and_preconditions(client):
    customer = CustomerFactory()
    target = url(customer.pk, "/t/ninja/auth/customers")
    assert patch(client, target, {"notes": "n"}).status_code == 401
    assert patch(client, url(999999, "/t/ninja/auth/customers"), {}).status_code == 401
    assert patch(client, target, {"notes": "n"}, **{"X-Key": "secret"}).status_code == 428
    ok = patch(client, target, {"notes": "n"}, **{"X-Key": "secret", "If-Match": '"1"'})
    assert ok.status_code == 200


def test_404_comes_before_428(client):
    assert patch(client, url(999999), {"notes": "n"}).status_code == 404


# -- a race lost after the check ---------------------------------------------------------


@pytest.fixture
def lose_race(monkeypatch):
    """Another writer commits right after the preconditions pass."""

    def arm(delete: bool = False) -> None:
        original = door._check

        def check_then_lose_race(route, operation, request):
            result = original(route, operation, request)
            state = getattr(request, door._STATE, None)
            if result is None and state is not None and state.instance is not None:
                instance = state.instance
                if delete:
                    type(instance).objects.filter(pk=instance.pk).delete()
                else:
                    bump(instance)
            return result

        monkeypatch.setattr(door, "_check", check_then_lose_race)

    return arm


@pytest.mark.parametrize(
    "target", ["/ninja/customers", "/t/ninja/async/customers", "/t/ninja/books"]
)
def test_race_lost_after_the_check_is_412_concurrent_write(client, lose_race, target):
    row = BookFactory(pages=20) if "books" in target else CustomerFactory(notes="keep")
    lose_race()
    body = {"pages": 30} if "books" in target else {"notes": "mine"}
    response = patch(client, f"{target}/{row.pk}", body, **{"If-Match": '"1"'})
    assert response.status_code == 412
    data = problem(response)
    assert data["reason"] == "concurrent-write"
    assert data["current_etag"] == '"2"'
    assert response["ETag"] == '"2"'
    assert stored(row).version == 2
    if "books" in target:
        assert stored(row).pages == 20
    else:
        assert stored(row).notes == "keep"


@pytest.mark.parametrize(
    "target", ["/ninja/customers", "/t/ninja/async/customers", "/t/ninja/books"]
)
def test_race_lost_to_a_delete_is_412_concurrent_delete(client, lose_race, target):
    row = BookFactory(pages=20) if "books" in target else CustomerFactory()
    lose_race(delete=True)
    response = client.delete(f"{target}/{row.pk}", headers={"If-Match": '"1"'})
    assert response.status_code == 412
    data = problem(response)
    assert data["reason"] == "concurrent-delete"
    assert "current_etag" not in data
    assert not type(row).objects.filter(pk=row.pk).exists()


def test_race_lost_rolls_back_the_views_other_writes(client, lose_race):
    shelf = ShelfFactory(name="keep")
    lose_race()
    response = patch(
        client, f"/t/ninja/shelves/{shelf.pk}", {"name": "mine", "item": "a"}, **{"If-Match": '"1"'}
    )
    assert response.status_code == 412
    assert not ShelfItem.objects.filter(shelf=shelf).exists()
    assert stored(shelf).name == "keep"


def test_other_writes_are_kept_when_the_write_wins(client):
    shelf = ShelfFactory()
    response = patch(
        client, f"/t/ninja/shelves/{shelf.pk}", {"name": "mine", "item": "a"}, **{"If-Match": '"1"'}
    )
    assert response.status_code == 200
    assert ShelfItem.objects.filter(shelf=shelf, label="a").exists()


# -- async views --------------------------------------------------------------------------


def test_async_routes_answer_the_same_table(client):
    customer = CustomerFactory(notes="keep")
    target = url(customer.pk, "/t/ninja/async/customers")
    read = client.get(target)
    assert (read.status_code, read["ETag"]) == (200, '"1"')
    assert client.get(target, headers={"If-None-Match": '"1"'}).status_code == 304
    assert patch(client, target, {"notes": "n"}).status_code == 428
    written = patch(client, target, {"notes": "n"}, **{"If-Match": '"1"'})
    assert (written.status_code, written["ETag"]) == (200, '"2"')
    assert patch(client, target, {"notes": "x"}, **{"If-Match": '"1"'}).status_code == 412
    assert client.delete(target, headers={"If-Match": '"2"'}).status_code == 204


# -- settings shared with DRF, per-route options --------------------------------------------


def test_require_if_match_setting_is_shared_with_drf(client):
    customer = CustomerFactory()
    with override_settings(ETAG_LOCK_REQUIRE_IF_MATCH=False):
        response = patch(client, url(customer.pk), {"notes": "n"})
    assert response.status_code == 200
    assert response["ETag"] == '"2"'


def test_cache_control_setting_is_shared_with_drf(client):
    customer = CustomerFactory()
    with override_settings(ETAG_LOCK_CACHE_CONTROL="private, max-age=0"):
        assert client.get(url(customer.pk))["Cache-Control"] == "private, max-age=0"
    with override_settings(ETAG_LOCK_CACHE_CONTROL=None):
        assert "Cache-Control" not in client.get(url(customer.pk))


def test_per_route_options_override_the_settings(client):
    customer = CustomerFactory()
    target = url(customer.pk, "/t/ninja/optional/customers")
    assert patch(client, target, {"notes": "a"}).status_code == 200
    refused = patch(client, target, {"notes": "b"}, **{"If-Match": "*"})
    assert refused.status_code == 412
    assert problem(refused)["reason"] == "if-match-star-refused"
    assert patch(client, target, {"notes": "c"}, **{"If-Match": '"1"'}).status_code == 412


def test_412_includes_the_representation_when_the_setting_enables_it(client):
    customer = CustomerFactory(notes="now")
    bump(customer)
    with override_settings(ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412=True):
        response = patch(client, url(customer.pk), {"notes": "n"}, **{"If-Match": '"1"'})
    data = problem(response)
    assert data["current"]["notes"] == "now"
    assert data["current"]["etag"] == '"2"'


def test_race_lost_412_includes_the_representation_when_enabled(client, lose_race):
    customer = CustomerFactory(notes="now")
    lose_race()
    with override_settings(ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412=True):
        response = patch(client, url(customer.pk), {"notes": "n"}, **{"If-Match": '"1"'})
    assert problem(response)["current"]["etag"] == '"2"'


def test_412_has_no_representation_by_default(client):
    customer = CustomerFactory()
    bump(customer)
    response = patch(client, url(customer.pk), {"notes": "n"}, **{"If-Match": '"1"'})
    assert "current" not in problem(response)


# -- the same problem bodies as the DRF door ------------------------------------------------


def _without_instance(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "instance"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 428), ({"If-Match": '"1"'}, 412), ({"If-Match": "1"}, 400)],
)
def test_problem_bodies_equal_the_drf_doors(client, headers, status):
    customer = CustomerFactory()
    bump(customer)
    ninja = patch(client, url(customer.pk), {"notes": "n"}, **headers)
    drf = patch(client, f"/api/customers/{customer.pk}/", {"notes": "n"}, **headers)
    assert ninja.status_code == drf.status_code == status
    assert _without_instance(problem(ninja)) == _without_instance(problem(drf))
    for header in ("ETag", "Cache-Control"):
        assert ninja.get(header) == drf.get(header)


# -- OpenAPI ------------------------------------------------------------------------------


@pytest.fixture
def schema() -> dict[str, Any]:
    return dict(demo_api.get_openapi_schema())


def test_openapi_write_routes_show_if_match_and_the_problem_responses(schema):
    for method in ("put", "patch", "delete"):
        operation = schema["paths"]["/ninja/customers/{pk}"][method]
        headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
        assert headers["If-Match"]["required"] is True
        assert headers["If-None-Match"]["required"] is False
        assert len(operation["parameters"]) == 3  # pk, If-Match, If-None-Match: once each
        for status in (400, 412, 428):
            assert PROBLEM in operation["responses"][status]["content"]
        assert operation["responses"][404]


def test_openapi_read_route_shows_etag_and_304(schema):
    operation = schema["paths"]["/ninja/customers/{pk}"]["get"]
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert headers["If-None-Match"]["required"] is False
    assert headers["If-Match"]["required"] is False
    assert "ETag" in operation["responses"][200]["headers"]
    assert "Last-Modified" in operation["responses"][200]["headers"]
    assert "ETag" in operation["responses"][304]["headers"]
    assert 428 not in operation["responses"]
    assert "head" in schema["paths"]["/ninja/customers/{pk}"]


def test_openapi_create_route_shows_the_etag_of_the_201(schema):
    operation = schema["paths"]["/ninja/customers"]["post"]
    assert "ETag" in operation["responses"][201]["headers"]
    assert not [p for p in operation["parameters"] if p["in"] == "header"]


def test_openapi_list_items_have_an_etag_property(schema):
    item = schema["components"]["schemas"]["CustomerOut"]
    assert item["properties"]["etag"]["type"] == "string"


def test_openapi_keeps_the_routes_own_openapi_extra():
    api = NinjaAPI(urls_namespace="test-ninja-extra")

    @api.patch(
        "/books/{pk}",
        openapi_extra={"responses": {409: {"description": "mine"}}, "x-mine": True},
    )
    @etag_lock(Book)
    def edit(request: HttpRequest, pk: int, book: Book) -> None:
        return None

    operation = api.get_openapi_schema(path_prefix="")["paths"]["/books/{pk}"]["patch"]
    assert operation["x-mine"] is True
    assert operation["responses"][409] == {"description": "mine"}
    assert 412 in operation["responses"]


# -- configuration errors ----------------------------------------------------------------


def test_unversioned_model_is_refused_naming_the_fix():
    with pytest.raises(ImproperlyConfigured, match=r"PlainBook.*VersionedModel"):
        etag_lock(PlainBook)


def test_detail_route_without_the_instance_argument_is_refused():
    api = NinjaAPI(urls_namespace="test-ninja-noarg")
    with pytest.raises(ImproperlyConfigured, match="takes no argument 'book'"):

        @api.get("/books/{pk}")
        @etag_lock(Book)
        def read(request: HttpRequest, pk: int) -> None:
            return None


class Steering(Schema):
    title: str
    version: int


def test_a_body_schema_with_version_is_refused():
    api = NinjaAPI(urls_namespace="test-ninja-version")
    with pytest.raises(ImproperlyConfigured, match="carries 'version'"):

        @api.patch("/books/{pk}")
        @etag_lock(Book)
        def edit(request: HttpRequest, pk: int, payload: Steering, book: Book) -> None:
            return None


def test_a_list_route_needs_no_decorator_and_says_so():
    api = NinjaAPI(urls_namespace="test-ninja-list")
    with pytest.raises(ImproperlyConfigured, match="a list needs no decorator"):

        @api.get("/books")
        @etag_lock(Book)
        def books(request: HttpRequest) -> None:
            return None


def test_calling_the_view_outside_ninja_says_how_to_fix_it():
    @etag_lock(Book)
    def read(request: HttpRequest, pk: int, book: Book) -> None:
        return None

    with pytest.raises(ImproperlyConfigured, match="outside its Ninja operation"):
        read(HttpRequest(), pk=1)


def test_etag_schema_field_resolves_from_the_version():
    class Out(ETagSchema):
        title: str

    book = BookFactory()
    bump(book)
    assert Out.from_orm(stored(book)).etag == '"2"'


# -- query counts against plain Ninja ------------------------------------------------------

_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _count(call: Any) -> tuple[int, list[str], Any]:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    sql = [q["sql"].strip() for q in ctx.captured_queries]
    control = [s.split(" ")[0] for s in sql if s.upper().startswith(_CONTROL)]
    return len(sql) - len(control), control, response


@pytest.mark.django_db(transaction=True)
def test_query_counts_equal_plain_ninja(client):
    ours, plain = CustomerFactory(), CustomerFactory()
    ou, pu = url(ours.pk), url(plain.pk, "/t/ninja/plain/customers")
    cases = {
        "GET": (lambda: client.get(ou), lambda: client.get(pu), 200, 200),
        "PATCH": (
            lambda: patch(client, ou, {"notes": "n"}, **{"If-Match": '"1"'}),
            lambda: patch(client, pu, {"notes": "n"}),
            200,
            200,
        ),
        "304": (
            lambda: client.get(ou, headers={"If-None-Match": '"2"'}),
            lambda: client.get(pu),
            304,
            200,
        ),
        "412": (
            lambda: patch(client, ou, {"notes": "m"}, **{"If-Match": '"1"'}),
            lambda: client.get(pu),
            412,
            200,
        ),
        "DELETE": (
            lambda: client.delete(ou, headers={"If-Match": '"2"'}),
            lambda: client.delete(pu),
            204,
            204,
        ),
    }
    for name, (ours_call, plain_call, ours_status, plain_status) in cases.items():
        ours_n, ours_control, ours_r = _count(ours_call)
        plain_n, plain_control, plain_r = _count(plain_call)
        assert (ours_r.status_code, plain_r.status_code) == (ours_status, plain_status), name
        assert ours_n == plain_n, (name, ours_n, plain_n)
        if name in ("PATCH", "DELETE"):
            # The one addition on purpose: the write's transaction, so a lost race
            # rolls back everything the view wrote.
            assert sorted(ours_control) == sorted([*plain_control, "BEGIN", "COMMIT"]), name
        else:
            assert ours_control == plain_control, name
