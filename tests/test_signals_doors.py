"""write_refused and unconditional_write from the doors that are not DRF: django-ninja and
Django's own views (etag_lock_view and the editing views). Same fields as the DRF door
(tests/rest_framework/test_http_edges.py), sources "ninja" and "views"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from customers.models import Customer
from django.db.models.signals import pre_save
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from django_etag_lock.etags import Reason
from django_etag_lock.forms import TOKEN_FIELD
from django_etag_lock.signals import Source, unconditional_write, write_refused
from django_etag_lock.views import etag_lock_view
from tests.factories import BookFactory, CustomerFactory
from tests.test_views import delete_url, edit_url, form_data, hidden, someone_else_saves

pytestmark = pytest.mark.django_db

JSON = "application/json"
NINJA = "/ninja/customers"
NINJA_ASYNC = "/t/ninja/async/customers"
NINJA_BOOKS = "/t/ninja/books"
VIEW = "/json/customers"


def _collect(signal: Any) -> Iterator[list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal")
        sent.append({"sender": sender, **kwargs})

    signal.connect(receiver, weak=False)
    try:
        yield sent
    finally:
        signal.disconnect(receiver)


@pytest.fixture
def refused() -> Iterator[list[dict[str, Any]]]:
    yield from _collect(write_refused)


@pytest.fixture
def unconditional() -> Iterator[list[dict[str, Any]]]:
    yield from _collect(unconditional_write)


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def other_writer_wins() -> Iterator[None]:
    """Another writer commits between the door's check and the write's compare-and-set."""

    def bump(sender: Any, instance: Any, **kwargs: Any) -> None:
        type(instance)._base_manager.filter(pk=instance.pk).update()

    pre_save.connect(bump, weak=False, dispatch_uid="h18-other-writer")
    try:
        yield
    finally:
        pre_save.disconnect(dispatch_uid="h18-other-writer")


def patch(client: Client, target: str, body: Any, **headers: str) -> Any:
    return client.patch(target, json.dumps(body), content_type=JSON, headers=headers)


def summary(sent: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(s["source"], s["reason"], s["expected_version"], s["current_version"]) for s in sent]


# -- 412 and 428 answered by the door ---------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "source"),
    [(NINJA, Source.NINJA), (NINJA_ASYNC, Source.NINJA), (VIEW, Source.VIEWS)],
)
def test_a_stale_patch_sends_one_signal_with_the_versions(client, refused, prefix, source):
    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).update()
    response = patch(client, f"{prefix}/{customer.pk}", {"notes": "x"}, **{"If-Match": '"1"'})
    assert response.status_code == 412
    (sent,) = refused
    assert sent["sender"] is Customer
    assert (sent["source"], sent["model"], sent["pk"], sent["reason"]) == (
        source,
        Customer,
        customer.pk,
        Reason.IF_MATCH_FAILED,
    )
    assert (sent["expected_version"], sent["current_version"]) == (1, 2)
    assert isinstance(sent["request"], HttpRequest)
    assert sent["request"].path == f"{prefix}/{customer.pk}"


@pytest.mark.parametrize(("prefix", "source"), [(NINJA, Source.NINJA), (VIEW, Source.VIEWS)])
def test_a_428_sends_a_signal_without_an_expected_version(client, refused, prefix, source):
    customer = CustomerFactory()
    response = client.delete(f"{prefix}/{customer.pk}")
    assert response.status_code == 428
    assert summary(refused) == [(source, Reason.IF_MATCH_MISSING, None, 1)]


@pytest.mark.parametrize(("prefix", "source"), [(NINJA, Source.NINJA), (VIEW, Source.VIEWS)])
def test_an_if_none_match_refusal_of_a_write_is_reported_with_its_reason(
    client, refused, prefix, source
):
    customer = CustomerFactory()
    response = patch(
        client,
        f"{prefix}/{customer.pk}",
        {"notes": "x"},
        **{"If-Match": '"1"', "If-None-Match": '"1"'},
    )
    assert response.status_code == 412
    assert summary(refused) == [(source, Reason.IF_NONE_MATCH_FAILED, 1, 1)]


@pytest.mark.parametrize("prefix", [NINJA, VIEW])
def test_reads_malformed_headers_and_successful_writes_send_nothing(client, refused, prefix):
    customer = CustomerFactory()
    target = f"{prefix}/{customer.pk}"
    assert client.get(target, headers={"If-Match": '"9"'}).status_code == 412  # a read
    assert client.get(target, headers={"If-None-Match": '"1"'}).status_code == 304
    assert patch(client, target, {"notes": "x"}, **{"If-Match": "1"}).status_code == 400
    assert patch(client, target, {"notes": "x"}, **{"If-Match": '"1"'}).status_code == 200
    assert client.delete(target, headers={"If-Match": '"2"'}).status_code == 204
    assert refused == []


# -- a race lost after the check: reported once, by the door ----------------------------


@pytest.fixture
def ninja_race(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Another writer updates (or deletes) the row right after the Ninja door's check."""
    import django_etag_lock.ninja as door

    def arm(delete: bool = False) -> None:
        original = door._check

        def check_then_lose(route: Any, operation: Any, request: Any) -> Any:
            result = original(route, operation, request)
            state = getattr(request, door._STATE, None)
            if result is None and state is not None and state.instance is not None:
                rows = type(state.instance)._base_manager.filter(pk=state.instance.pk)
                rows.delete() if delete else rows.update()
            return result

        monkeypatch.setattr(door, "_check", check_then_lose)

    return arm


@pytest.mark.parametrize(
    ("target", "body"),
    [(NINJA, {"notes": "mine"}), (NINJA_ASYNC, {"notes": "mine"}), (NINJA_BOOKS, {"pages": 30})],
)
def test_a_ninja_race_lost_after_the_check_is_reported_once_by_the_door(
    client, refused, ninja_race, target, body
):
    row = BookFactory(pages=20) if "books" in target else CustomerFactory()
    ninja_race()
    response = patch(client, f"{target}/{row.pk}", body, **{"If-Match": '"1"'})
    assert response.status_code == 412
    assert json.loads(response.content)["reason"] == "concurrent-write"
    assert summary(refused) == [(Source.NINJA, Reason.CONCURRENT_WRITE, 1, 2)]
    assert refused[0]["pk"] == row.pk
    assert refused[0]["request"].path == f"{target}/{row.pk}"


@pytest.mark.parametrize("target", [NINJA, NINJA_ASYNC])
def test_a_ninja_race_lost_to_a_delete_is_reported_once_as_concurrent_delete(
    client, refused, ninja_race, target
):
    customer = CustomerFactory()
    ninja_race(delete=True)
    response = client.delete(f"{target}/{customer.pk}", headers={"If-Match": '"1"'})
    assert response.status_code == 412
    assert summary(refused) == [(Source.NINJA, Reason.CONCURRENT_DELETE, 1, None)]


def test_a_view_race_lost_after_the_check_is_reported_once_by_the_door(
    client, refused, monkeypatch
):
    from django_etag_lock.conditional import Preconditions

    customer = CustomerFactory()
    original = Preconditions.evaluate

    def evaluate_then_lose(self: Any, request: Any, instance: Any) -> Any:
        decision = original(self, request, instance)
        Customer.objects.filter(pk=customer.pk).update()
        return decision

    monkeypatch.setattr(Preconditions, "evaluate", evaluate_then_lose)
    response = patch(client, f"{VIEW}/{customer.pk}", {"notes": "mine"}, **{"If-Match": '"1"'})
    assert response.status_code == 412
    assert summary(refused) == [(Source.VIEWS, Reason.CONCURRENT_WRITE, 1, 2)]
    assert refused[0]["request"].path == f"{VIEW}/{customer.pk}"


def test_an_async_view_race_lost_after_the_check_is_reported_once_by_the_door(
    refused, other_writer_wins
):
    customer = CustomerFactory()

    @etag_lock_view(Customer)
    async def rename(request: HttpRequest, pk: int, customer: Customer) -> HttpResponse:
        customer.notes = "mine"
        await customer.asave()
        return HttpResponse(status=204)

    request = RequestFactory().patch(f"/async-json/{customer.pk}", HTTP_IF_MATCH='"1"')
    response = async_to_sync(rename)(request, pk=customer.pk)
    assert response.status_code == 412
    assert summary(refused) == [(Source.VIEWS, Reason.CONCURRENT_WRITE, 1, 2)]
    assert refused[0]["request"] is request


# -- writes let through without If-Match ------------------------------------------------


@pytest.mark.parametrize(("prefix", "source"), [(NINJA, Source.NINJA), (VIEW, Source.VIEWS)])
@override_settings(ETAG_LOCK_REQUIRE_IF_MATCH=False)
def test_a_write_without_if_match_where_optional_sends_unconditional_write(
    client, refused, unconditional, prefix, source
):
    customer = CustomerFactory()
    target = f"{prefix}/{customer.pk}"
    assert client.get(target).status_code == 200
    assert patch(client, target, {"notes": "x"}, **{"If-Match": '"1"'}).status_code == 200
    assert unconditional == []
    assert patch(client, target, {"notes": "y"}).status_code == 200
    (sent,) = unconditional
    assert (sent["sender"], sent["source"], sent["model"], sent["pk"]) == (
        Customer,
        source,
        Customer,
        customer.pk,
    )
    assert sent["request"].path == target
    assert refused == []


# -- the editing views: a stale form save, reported like the admin's ----------------------


def test_a_stale_edit_form_save_is_reported_once_as_the_views_with_the_request(client, refused):
    customer = CustomerFactory(notes="")
    page = client.get(edit_url(customer)).content.decode()
    token = hidden(page, TOKEN_FIELD)
    assert token
    someone_else_saves(customer, notes="theirs")
    response = client.post(edit_url(customer), form_data(customer, token, given_name="Mine"))
    assert response.status_code == 200
    assert 'id="etag-lock-conflict"' in response.content.decode()
    assert summary(refused) == [(Source.VIEWS, Reason.CONCURRENT_WRITE, 1, 2)]
    assert (refused[0]["model"], refused[0]["pk"]) == (Customer, customer.pk)
    assert refused[0]["request"].path == edit_url(customer)


def test_a_stale_delete_confirmation_is_reported_once_as_the_views(client, refused):
    customer = CustomerFactory()
    page = client.get(delete_url(customer)).content.decode()
    token = hidden(page, TOKEN_FIELD)
    assert token
    someone_else_saves(customer, notes="theirs")
    response = client.post(delete_url(customer), {TOKEN_FIELD: token})
    assert response.status_code == 200
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert summary(refused) == [(Source.VIEWS, Reason.CONCURRENT_WRITE, 1, 2)]
    assert refused[0]["request"].path == delete_url(customer)


def test_editing_view_reads_and_current_saves_send_nothing(client, refused):
    customer = CustomerFactory(notes="")
    page = client.get(edit_url(customer)).content.decode()
    token = hidden(page, TOKEN_FIELD)
    assert token
    response = client.post(edit_url(customer), form_data(customer, token, notes="mine"))
    assert response.status_code == 302
    page = client.get(delete_url(customer)).content.decode()
    assert client.post(delete_url(customer), {TOKEN_FIELD: hidden(page, TOKEN_FIELD)}).status_code
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert refused == []
