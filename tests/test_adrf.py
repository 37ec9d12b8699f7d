"""Async DRF (adrf): ETagLockMixin on adrf's async viewsets answers the DRF table."""

from __future__ import annotations

import inspect
import json
from contextlib import contextmanager
from typing import Any

import pytest
from customers.async_api import AsyncCustomerSerializer
from customers.models import Customer
from django.db import connection
from django.db.models.signals import pre_save
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_etag_lock.rest_framework import (
    PROBLEM_TYPE_MALFORMED_PRECONDITION,
    PROBLEM_TYPE_PRECONDITION_FAILED,
    PROBLEM_TYPE_PRECONDITION_REQUIRED,
    ETagLockMixin,
)
from tests.factories import CustomerFactory, ShelfFactory
from tests.testapp import adrf_views
from tests.testapp.models import Shelf, ShelfItem

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
JSON = "application/json"


@pytest.fixture
def client() -> Client:
    return Client()


def url(pk: int, prefix: str = "customers") -> str:
    return f"/t/async/{prefix}/{pk}/"


def send(client: Client, method: str, target: str, body: Any = None, **headers: str) -> Any:
    return getattr(client, method)(
        target, json.dumps(body or {}), content_type=JSON, headers=headers
    )


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    data: dict[str, Any] = json.loads(response.content)
    assert data["status"] == response.status_code
    return data


def stored(obj: Any) -> Any:
    return type(obj)._base_manager.get(pk=obj.pk)


def bump(obj: Any) -> None:
    type(obj).objects.filter(pk=obj.pk).update()


def test_the_viewsets_are_async():
    assert adrf_views.AsyncCustomerViewSet.view_is_async
    assert issubclass(adrf_views.AsyncCustomerViewSet, ETagLockMixin)


def test_async_retrieve_sends_the_validators_and_answers_304(client):
    customer = CustomerFactory()
    response = client.get(url(customer.pk))
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response["Cache-Control"] == "private, no-cache"
    assert "Last-Modified" in response
    assert json.loads(response.content)["etag"] == '"1"'
    not_modified = client.get(url(customer.pk), headers={"If-None-Match": '"1"'})
    assert not_modified.status_code == 304
    assert not_modified["ETag"] == '"1"'


def test_async_list_items_carry_their_own_etag(client):
    first, second = CustomerFactory(), CustomerFactory()
    bump(second)
    response = client.get("/t/async/customers/")
    assert "ETag" not in response
    tags = {item["id"]: item["etag"] for item in json.loads(response.content)}
    assert tags == {first.pk: '"1"', second.pk: '"2"'}


def test_async_create_answers_201_with_the_etag(client):
    body = {"customer_id": "AC1", "given_name": "G", "family_name": "F"}
    response = send(client, "post", "/t/async/customers/", body)
    assert response.status_code == 201
    assert response["ETag"] == '"1"'


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_async_write_without_if_match_is_428(client, method):
    customer = CustomerFactory(notes="keep")
    body = {"customer_id": "X", "given_name": "G", "family_name": "F", "notes": "mine"}
    response = send(client, method, url(customer.pk), body)
    assert response.status_code == 428
    assert problem(response)["type"] == PROBLEM_TYPE_PRECONDITION_REQUIRED
    assert response["Cache-Control"] == "no-store"
    assert stored(customer).notes == "keep"


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_async_stale_write_is_412_and_writes_nothing(client, method):
    customer = CustomerFactory(notes="keep")
    bump(customer)
    body = {"customer_id": "X", "given_name": "G", "family_name": "F", "notes": "mine"}
    response = send(client, method, url(customer.pk), body, **{"If-Match": '"1"'})
    assert response.status_code == 412
    data = problem(response)
    assert data["type"] == PROBLEM_TYPE_PRECONDITION_FAILED
    assert data["current_etag"] == '"2"'
    assert response["ETag"] == '"2"'
    assert stored(customer).notes == "keep"


def test_async_malformed_if_match_is_400(client):
    customer = CustomerFactory()
    response = send(client, "patch", url(customer.pk), {"notes": "n"}, **{"If-Match": "1"})
    assert response.status_code == 400
    assert problem(response)["type"] == PROBLEM_TYPE_MALFORMED_PRECONDITION


def test_async_current_writes_answer_with_the_new_etag(client):
    customer = CustomerFactory()
    patched = send(client, "patch", url(customer.pk), {"notes": "n"}, **{"If-Match": '"1"'})
    assert (patched.status_code, patched["ETag"]) == (200, '"2"')
    body = {"customer_id": customer.customer_id, "given_name": "New", "family_name": "F"}
    put = send(client, "put", url(customer.pk), body, **{"If-Match": '"2"'})
    assert (put.status_code, put["ETag"]) == (200, '"3"')
    assert send(client, "delete", url(customer.pk), **{"If-Match": '"3"'}).status_code == 204


def test_async_stale_tag_with_an_invalid_body_is_412(client):
    customer = CustomerFactory()
    bump(customer)
    response = send(client, "patch", url(customer.pk), {"email": "nope"}, **{"If-Match": '"1"'})
    assert response.status_code == 412


def test_async_404_comes_before_428(client):
    assert send(client, "patch", url(999999), {"notes": "n"}).status_code == 404


@pytest.fixture
def lose_race(monkeypatch):
    """Another writer commits right after the preconditions pass, before the write.

    It writes from the worker thread the write runs in (the event loop may not query),
    just before the write (and its transaction, if it has one) starts.
    """

    def arm(delete: bool = False) -> None:
        original = ETagLockMixin._etag_lock_perform

        def lose_race_then_write(self, action, write, argument, instance, serializer=None):
            if instance is not None:
                queryset = type(instance).objects.filter(pk=instance.pk)
                if delete:
                    queryset.delete()
                else:
                    queryset.update()
            original(self, action, write, argument, instance, serializer)

        monkeypatch.setattr(ETagLockMixin, "_etag_lock_perform", lose_race_then_write)

    return arm


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_async_race_lost_after_the_check_is_412(client, lose_race, method):
    customer = CustomerFactory(notes="keep")
    lose_race()
    body = {"customer_id": customer.customer_id, "given_name": "G", "family_name": "F"}
    response = send(
        client, method, url(customer.pk), {**body, "notes": "mine"}, **{"If-Match": '"1"'}
    )
    assert response.status_code == 412
    data = problem(response)
    assert data["reason"] == "concurrent-write"
    assert data["current_etag"] == '"2"'
    assert stored(customer).notes == "keep"


def test_async_race_lost_to_a_delete_is_412(client, lose_race):
    customer = CustomerFactory()
    lose_race(delete=True)
    response = send(client, "patch", url(customer.pk), {"notes": "x"}, **{"If-Match": '"1"'})
    assert response.status_code == 412
    assert problem(response)["reason"] == "concurrent-delete"


def test_async_race_lost_rolls_back_what_the_write_did_besides(client, lose_race):
    shelf = ShelfFactory(name="keep")
    lose_race()

    def add_item(sender, instance, **kwargs):
        ShelfItem.objects.create(shelf=instance, label="side effect")

    pre_save.connect(add_item, sender=Shelf)
    try:
        response = send(
            client, "patch", url(shelf.pk, "shelves"), {"name": "mine"}, **{"If-Match": '"1"'}
        )
    finally:
        pre_save.disconnect(add_item, sender=Shelf)
    assert response.status_code == 412
    # The receiver ran inside the write's transaction (same worker thread): rolled back.
    assert not ShelfItem.objects.filter(shelf=shelf).exists()
    assert stored(shelf).name == "keep"


def test_async_problem_bodies_equal_the_sync_doors(client):
    customer = CustomerFactory()
    bump(customer)
    for headers in ({}, {"If-Match": '"1"'}):
        ours = send(client, "patch", url(customer.pk), {"notes": "n"}, **headers)
        sync = send(client, "patch", f"/api/customers/{customer.pk}/", {"notes": "n"}, **headers)
        strip = lambda body: {k: v for k, v in body.items() if k != "instance"}  # noqa: E731
        assert strip(problem(ours)) == strip(problem(sync))


_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _count(call: Any) -> tuple[int, list[str], Any]:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    sql = [q["sql"].strip() for q in ctx.captured_queries]
    control = [s.split(" ")[0] for s in sql if s.upper().startswith(_CONTROL)]
    return len(sql) - len(control), control, response


@pytest.mark.django_db(transaction=True)
def test_async_query_counts_equal_plain_adrf(client):
    ours, plain = CustomerFactory(), CustomerFactory()
    ou, pu = url(ours.pk), url(plain.pk, "plain-customers")
    for name, ours_call, plain_call in [
        ("GET", lambda: client.get(ou), lambda: client.get(pu)),
        (
            "PATCH",
            lambda: send(client, "patch", ou, {"notes": "n"}, **{"If-Match": '"1"'}),
            lambda: send(client, "patch", pu, {"notes": "n"}),
        ),
        (
            "DELETE",
            lambda: send(client, "delete", ou, **{"If-Match": '"2"'}),
            lambda: send(client, "delete", pu),
        ),
    ]:
        ours_n, ours_control, ours_r = _count(ours_call)
        plain_n, plain_control, plain_r = _count(plain_call)
        assert ours_r.status_code == plain_r.status_code, (name, ours_r.content)
        assert ours_n == plain_n, (name, ours_n, plain_n)
        # "auto": a stock async write is one statement, so no transaction of ours.
        assert ours_control == plain_control, name


def test_adrf_still_has_the_hooks_and_actions_the_mixin_overrides():
    # Public adrf API the mixin builds on (checked: adrf 0.1.14): if a release renames one,
    # the async path would skip the check, so fail here first.
    from adrf import generics, mixins

    assert inspect.iscoroutinefunction(generics.GenericAPIView.aget_object)
    for mixin, hook in [
        (mixins.CreateModelMixin, "perform_acreate"),
        (mixins.UpdateModelMixin, "perform_aupdate"),
        (mixins.DestroyModelMixin, "perform_adestroy"),
    ]:
        assert inspect.iscoroutinefunction(getattr(mixin, hook)), hook
    actions = {"aretrieve", "aupdate", "partial_aupdate", "acreate"}
    assert actions <= ETagLockMixin.etag_lock_tagged_actions
    for action in actions:
        assert inspect.iscoroutinefunction(getattr(adrf_views.AsyncCustomerViewSet, action))


# -- a transaction only where the write can span statements ("auto", issue 13) --------


def _validated(serializer_class: Any) -> Any:
    serializer = serializer_class(data={"notes": "n"}, partial=True)
    assert serializer.is_valid(), serializer.errors
    return serializer


def test_a_stock_async_write_is_one_statement():
    from django_etag_lock.rest_framework.mixins import single_statement_write

    view, serializer = adrf_views.AsyncCustomerViewSet, _validated(AsyncCustomerSerializer)
    for action in ("create", "update"):
        assert single_statement_write(view, action, Customer, serializer, is_async=True)
    assert single_statement_write(view, "destroy", Customer, None, is_async=True)


class _CustomAsyncUpdateView(adrf_views.AsyncCustomerViewSet):
    async def perform_aupdate(self, serializer):
        await super().perform_aupdate(serializer)


class _CustomAsyncSerializer(AsyncCustomerSerializer):
    async def aupdate(self, instance, validated_data):
        return await super().aupdate(instance, validated_data)


def test_overridden_async_hooks_make_the_write_span_statements():
    from django_etag_lock.rest_framework.mixins import single_statement_write

    stock, custom = _validated(AsyncCustomerSerializer), _validated(_CustomAsyncSerializer)
    view = adrf_views.AsyncCustomerViewSet
    assert not single_statement_write(
        _CustomAsyncUpdateView, "update", Customer, stock, is_async=True
    )
    assert not single_statement_write(view, "update", Customer, custom, is_async=True)
    # The sync rule looks at the sync hooks, which these classes leave alone.
    assert single_statement_write(_CustomAsyncUpdateView, "update", Customer, stock)


def test_without_adrf_registered_an_async_write_may_span_statements(monkeypatch):
    from django_etag_lock.rest_framework import mixins

    monkeypatch.setattr(mixins, "_static_verdicts", {})
    monkeypatch.setattr(mixins, "_STOCK_ASYNC_SERIALIZER", ())
    monkeypatch.delitem(mixins._STOCK_DEFINERS, "perform_aupdate")
    view, serializer = adrf_views.AsyncCustomerViewSet, _validated(AsyncCustomerSerializer)
    assert not mixins.single_statement_write(view, "update", Customer, serializer, is_async=True)


def _patch_customer(client: Client, customer: Any) -> tuple[list[str], Any]:
    body = {"notes": "mine"}
    with CaptureQueriesContext(connection) as ctx:
        response = send(client, "patch", url(customer.pk), body, **{"If-Match": '"1"'})
    sql = [q["sql"].strip().upper() for q in ctx.captured_queries]
    return [s.split(" ")[0] for s in sql if s.startswith(_CONTROL)], response


@pytest.mark.django_db(transaction=True)
def test_a_one_statement_async_patch_opens_no_transaction(client):
    control, response = _patch_customer(client, CustomerFactory())
    assert response.status_code == 200
    assert control == []


@pytest.mark.django_db(transaction=True)
def test_an_async_patch_with_a_receiver_runs_in_a_transaction(client):
    def audit(sender, instance, **kwargs):
        pass

    pre_save.connect(audit, sender=Customer)
    try:
        control, response = _patch_customer(client, CustomerFactory())
    finally:
        pre_save.disconnect(audit, sender=Customer)
    assert response.status_code == 200
    assert control == ["BEGIN", "COMMIT"]


@pytest.mark.django_db(transaction=True)
def test_atomic_writes_true_keeps_the_async_transaction(client, settings):
    settings.ETAG_LOCK_ATOMIC_WRITES = True
    control, response = _patch_customer(client, CustomerFactory())
    assert response.status_code == 200
    assert control == ["BEGIN", "COMMIT"]


def test_an_overridden_etag_lock_write_still_wraps_async_writes(client, monkeypatch):
    entered: list[Any] = []
    original = ETagLockMixin.etag_lock_write

    @contextmanager
    def recording(self, instance=None):
        entered.append(instance)
        with original(self, instance):
            yield

    monkeypatch.setattr(
        adrf_views.AsyncCustomerViewSet, "etag_lock_write", recording, raising=False
    )
    customer = CustomerFactory()
    response = send(client, "patch", url(customer.pk), {"notes": "n"}, **{"If-Match": '"1"'})
    assert response.status_code == 200
    assert [obj.pk for obj in entered] == [customer.pk]
