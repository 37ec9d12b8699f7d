"""HTTP at the edges (issue 15): exact 304s, Location and Content-Location, conditional POST,
create-only PUT, 409 for unique races and the write_refused signal of the DRF door.

Requests go through the full middleware stack of tests/settings.py (sessions, locale,
CommonMiddleware, CSRF, auth), as a deployment's would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
from customers.models import Customer
from django.db.models.signals import pre_save
from django.test import override_settings
from rest_framework.test import APIClient

from django_etag_lock.etags import Reason
from django_etag_lock.problems import PROBLEM_TYPE_UNIQUE_CONFLICT
from django_etag_lock.rest_framework import PROBLEM_TYPE_PRECONDITION_FAILED
from django_etag_lock.signals import Source, write_refused
from tests.factories import BookFactory, CustomerFactory
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
HAL = "application/hal+json"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    data: dict[str, Any] = json.loads(response.content)
    assert data["status"] == response.status_code
    return data


def vary(response: Any) -> set[str]:
    return {value.strip().lower() for value in response.get("Vary", "").split(",")} - {""}


@pytest.fixture
def refused() -> Iterator[list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal")
        sent.append({"sender": sender, **kwargs})

    write_refused.connect(receiver, weak=False)
    try:
        yield sent
    finally:
        write_refused.disconnect(receiver)


# -- 1. exact 304s ------------------------------------------------------------------------

_VALIDATORS = ("ETag", "Cache-Control", "Last-Modified")


def assert_304_matches(full: Any, not_modified: Any) -> None:
    assert full.status_code == 200
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert "Content-Type" not in not_modified
    # RFC 9110 8.6: no Content-Length, or exactly the 200's (CommonMiddleware adds one).
    assert not_modified["Content-Length"] == full["Content-Length"]
    if full.wsgi_request.method == "GET":
        assert full["Content-Length"] == str(len(full.content))
    assert vary(not_modified) == vary(full)
    for name in _VALIDATORS:
        assert not_modified.get(name) == full.get(name), name


@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_304_carries_the_headers_and_length_of_the_200(api, method, accept):
    customer = CustomerFactory()
    url = f"/api/customers/{customer.pk}/"
    full = getattr(api, method)(url, HTTP_ACCEPT=accept, HTTP_ACCEPT_LANGUAGE="de")
    again = getattr(api, method)(
        url, HTTP_ACCEPT=accept, HTTP_ACCEPT_LANGUAGE="de", HTTP_IF_NONE_MATCH=full["ETag"]
    )
    assert_304_matches(full, again)
    assert "accept-language" in vary(again)  # LocaleMiddleware ran after the view
    if accept == "text/html":
        # The browsable API reads the session; the 304 says so too (RFC 9110 15.4.5).
        assert "cookie" in vary(again)


def test_304_from_if_modified_since_matches_the_200(api):
    customer = CustomerFactory()
    url = f"/api/customers/{customer.pk}/"
    full = api.get(url, HTTP_ACCEPT="application/json")
    again = api.get(
        url, HTTP_ACCEPT="application/json", HTTP_IF_MODIFIED_SINCE=full["Last-Modified"]
    )
    assert_304_matches(full, again)


def test_304_of_the_hal_demo_keeps_its_media_type_vary_and_length(api):
    customer = CustomerFactory(customer_id="H304")
    url = f"/hal/customers/{customer.customer_id}/"
    full = api.get(url, HTTP_ACCEPT=HAL)
    again = api.get(url, HTTP_ACCEPT=HAL, HTTP_IF_NONE_MATCH=f"W/{full['ETag']}")
    assert_304_matches(full, again)


def test_stale_if_none_match_still_gets_the_full_200(api):
    customer = CustomerFactory()
    response = api.get(f"/api/customers/{customer.pk}/", HTTP_IF_NONE_MATCH='"999"')
    assert response.status_code == 200
    assert response.json()["customer_id"] == customer.customer_id


# -- 2. what a validator describes -------------------------------------------------------


def test_201_carries_the_location_of_the_created_resource(api):
    response = api.post(
        "/api/customers/",
        {"customer_id": "L-1", "given_name": "Grace", "family_name": "Hopper"},
        format="json",
    )
    assert response.status_code == 201
    created = Customer.objects.get(customer_id="L-1")
    assert response["Location"] == f"http://testserver/api/customers/{created.pk}/"
    assert response["Content-Location"] == response["Location"]
    follow = api.get(response["Location"])
    assert follow.status_code == 200
    assert follow["ETag"] == response["ETag"] == '"1"'
    assert follow.json() == response.json()


def test_201_of_a_generic_view_reverses_its_named_detail_route(api):
    response = api.post("/t/generic-books/", {"title": "Dune"}, format="json")
    assert response.status_code == 201
    book = Book.objects.get(title="Dune")
    assert response["Location"] == f"http://testserver/t/generic-books/{book.pk}/"
    assert response["ETag"] == '"1"'


def test_201_without_a_reversible_detail_route_carries_no_validators(api):
    # Without Location, an ETag on a 201 would describe the collection (RFC 9110 9.3.3).
    response = api.post("/t/unlocated-books/", {"title": "Emma"}, format="json")
    assert response.status_code == 201
    assert Book.objects.filter(title="Emma").exists()
    for name in ("Location", "ETag", "Last-Modified", "Content-Location"):
        assert name not in response, name


def test_a_location_the_view_sets_itself_is_kept(api):
    response = api.post(
        "/hal/customers/",
        {"customer_id": "L-2", "given_name": "Ada", "family_name": "L"},
        format="json",
        HTTP_ACCEPT=HAL,
    )
    assert response.status_code == 201
    assert response["Location"] == "http://testserver/hal/customers/L-2/"
    assert response["ETag"] == '"1"'


@pytest.mark.parametrize("method", ["put", "patch"])
def test_200_to_a_write_says_it_holds_the_new_representation(api, method):
    customer = CustomerFactory()
    url = f"/api/customers/{customer.pk}/"
    body = {"customer_id": customer.customer_id, "given_name": "New", "family_name": "Name"}
    response = getattr(api, method)(url, body, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200
    # A path-absolute reference: resolved against the request's URI it is the target.
    assert response["Content-Location"] == url
    assert urljoin(f"https://api.example{url}", response["Content-Location"]) == (
        f"https://api.example{url}"
    )
    read = api.get(url)
    assert response["ETag"] == read["ETag"] == '"2"'
    assert response.json() == read.json()


def test_content_location_keeps_the_query_and_escapes_the_path(api):
    customer = CustomerFactory()
    url = f"/api/customers/{customer.pk}/"
    response = api.patch(
        f"{url}?fields=given_name&n=%C3%A9", {"given_name": "Q"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200
    assert response["Content-Location"] == f"{url}?fields=given_name&n=%C3%A9"


def test_content_location_echoes_no_host_header(api):
    customer = CustomerFactory()
    url = f"/api/customers/{customer.pk}/"
    response = api.patch(
        url, {"given_name": "H"}, format="json", HTTP_IF_MATCH='"1"', HTTP_HOST="attacker.example"
    )
    assert response.status_code == 200
    assert response["Content-Location"] == url
    assert "attacker" not in str(response.headers)


@override_settings(ALLOWED_HOSTS=["api.example"])
def test_a_write_without_common_middleware_is_not_followed_by_a_disallowed_host_400():
    # Nothing before the view validated Host: the 200 names the target by its path and
    # so does not need to (building an absolute URI here raised DisallowedHost, a 400,
    # after the row was already written).
    from customers.api import CustomerViewSet
    from rest_framework.test import APIRequestFactory

    customer = CustomerFactory()
    view = CustomerViewSet.as_view({"patch": "partial_update"})
    request = APIRequestFactory().patch(
        f"/api/customers/{customer.pk}/",
        {"given_name": "Hosted"},
        format="json",
        HTTP_IF_MATCH='"1"',
        HTTP_HOST="not-allowed.example",
    )
    response = view(request, pk=str(customer.pk))
    assert response.status_code == 200
    assert response["Content-Location"] == f"/api/customers/{customer.pk}/"
    customer.refresh_from_db()
    assert (customer.given_name, customer.version) == ("Hosted", 2)


def test_a_path_that_reads_as_another_host_gets_an_absolute_content_location(rf):
    from django_etag_lock.rest_framework.mixins import _target_reference

    request = rf.patch("/api/customers/1/")
    request.path = "//evil.example/api/customers/1/"
    assert _target_reference(request) == "http://testserver//evil.example/api/customers/1/"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/customers/1/", ""),
        ("/api/customers/1/", "fields=given_name&n=%C3%A9"),
        ("/api/caf%C3%A9/1/", "q=a b"),
        ("/api/a%20b/%2F/", "x=%0A&y=\u00e9"),
        ("/api/customers/1/", "?"),
    ],
)
def test_the_target_reference_is_the_requests_full_path(rf, path, query):
    from django_etag_lock.rest_framework.mixins import _target_reference

    request = rf.patch(path)
    request.META["QUERY_STRING"] = query
    assert _target_reference(request) == request.get_full_path()
    assert _target_reference(request) == request.get_full_path()  # cached path, same answer


def test_a_delete_and_a_read_carry_no_content_location(api):
    customer = CustomerFactory()
    url = f"/api/customers/{customer.pk}/"
    assert "Content-Location" not in api.get(url)
    deleted = api.delete(url, HTTP_IF_MATCH='"1"')
    assert deleted.status_code == 204
    assert "Content-Location" not in deleted


# -- 3. conditional POST and the collection ---------------------------------------------

_NEW = {"customer_id": "P-1", "given_name": "Alan", "family_name": "Turing"}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"HTTP_IF_MATCH": '"no-such-tag"'}, Reason.IF_MATCH_FAILED),
        ({"HTTP_IF_NONE_MATCH": "*"}, Reason.IF_NONE_MATCH_FAILED),
    ],
)
def test_a_false_condition_on_post_is_412_and_creates_nothing(api, headers, reason):
    response = api.post("/api/customers/", _NEW, format="json", **headers)
    body = problem(response)
    assert response.status_code == 412
    assert body["type"] == PROBLEM_TYPE_PRECONDITION_FAILED
    assert body["reason"] == reason
    assert not Customer.objects.exists()


@pytest.mark.parametrize("headers", [{"HTTP_IF_MATCH": "*"}, {"HTTP_IF_NONE_MATCH": '"1"'}])
def test_a_true_condition_on_post_creates(api, headers):
    response = api.post("/api/customers/", _NEW, format="json", **headers)
    assert response.status_code == 201
    assert Customer.objects.filter(customer_id="P-1").exists()


def test_malformed_if_match_on_post_is_400_and_creates_nothing(api):
    response = api.post("/api/customers/", _NEW, format="json", HTTP_IF_MATCH="7")
    assert response.status_code == 400
    assert problem(response)["reason"] == Reason.MALFORMED_IF_MATCH
    assert not Customer.objects.exists()


def test_if_none_match_star_on_an_existing_collection_is_304(api):
    CustomerFactory()
    full = api.get("/api/customers/", HTTP_ACCEPT="application/json")
    again = api.get("/api/customers/", HTTP_ACCEPT="application/json", HTTP_IF_NONE_MATCH="*")
    assert_304_matches(full, again)


def test_if_match_with_a_tag_on_a_collection_read_is_412(api):
    response = api.get("/api/customers/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert problem(response)["reason"] == Reason.IF_MATCH_FAILED


# -- 4. create-only PUT ------------------------------------------------------------------

_PERSON = {"given_name": "Katherine", "family_name": "Johnson"}


def test_create_only_put_creates_at_the_client_chosen_id(api):
    url = "/hal/customers/C-900/"
    response = api.put(url, _PERSON, format="json", HTTP_IF_NONE_MATCH="*", HTTP_ACCEPT=HAL)
    assert response.status_code == 201
    assert response["ETag"] == '"1"'
    assert response["Location"] == f"http://testserver{url}"
    customer = Customer.objects.get(customer_id="C-900")
    assert (customer.given_name, customer.version) == ("Katherine", 1)
    follow = api.get(url, HTTP_ACCEPT=HAL)
    assert follow["ETag"] == response["ETag"]


def test_create_only_put_to_an_existing_resource_is_412_and_writes_nothing(api, refused):
    CustomerFactory(customer_id="C-901", given_name="First")
    response = api.put("/hal/customers/C-901/", _PERSON, format="json", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 412
    assert problem(response)["reason"] == Reason.IF_NONE_MATCH_FAILED
    assert Customer.objects.get(customer_id="C-901").given_name == "First"
    assert [(s["source"], s["reason"]) for s in refused] == [
        (Source.REST_FRAMEWORK, Reason.IF_NONE_MATCH_FAILED)
    ]


def test_create_only_put_with_a_different_id_in_the_body_is_400(api):
    response = api.put(
        "/hal/customers/C-902/",
        {**_PERSON, "customer_id": "C-903"},
        format="json",
        HTTP_IF_NONE_MATCH="*",
    )
    assert response.status_code == 400
    assert "customer_id" in json.loads(response.content)["errors"]
    assert not Customer.objects.exists()


def test_create_only_put_losing_at_the_unique_constraint_is_412_concurrent_create(api):
    def racing_creator(sender: Any, instance: Customer, **kwargs: Any) -> None:
        if instance.customer_id == "C-904" and instance.given_name != "Winner":
            Customer.objects.create(customer_id="C-904", given_name="Winner")

    pre_save.connect(racing_creator, sender=Customer)
    try:
        response = api.put("/hal/customers/C-904/", _PERSON, format="json", HTTP_IF_NONE_MATCH="*")
    finally:
        pre_save.disconnect(racing_creator, sender=Customer)
    assert response.status_code == 412
    body = problem(response)
    assert (body["reason"], body["header"]) == (Reason.CONCURRENT_CREATE, "If-None-Match")
    # The request's transaction (the receiver's row with it) was rolled back.
    assert not Customer.objects.filter(customer_id="C-904").exists()


def test_without_the_opt_in_create_only_put_keeps_todays_answers(api):
    book = BookFactory()
    missing = api.put("/t/books/987654/", {"title": "x"}, format="json", HTTP_IF_NONE_MATCH="*")
    assert missing.status_code == 404
    existing = api.put(
        f"/t/books/{book.pk}/", {"title": "x"}, format="json", HTTP_IF_NONE_MATCH="*"
    )
    assert existing.status_code == 428
    assert not Book.objects.filter(pk=987654).exists()


@override_settings(ETAG_LOCK_CREATE_ON_PUT=True)
def test_the_setting_opts_every_view_in(api):
    response = api.put(
        "/t/books/987654/", {"title": "Chosen"}, format="json", HTTP_IF_NONE_MATCH="*"
    )
    assert response.status_code == 201
    assert response["Location"] == "http://testserver/t/books/987654/"
    assert Book.objects.get(pk=987654).title == "Chosen"


@override_settings(ETAG_LOCK_CREATE_ON_PUT=True)
def test_a_put_with_if_match_to_a_missing_resource_is_still_404(api):
    response = api.put(
        "/t/books/987654/",
        {"title": "x"},
        format="json",
        HTTP_IF_NONE_MATCH="*",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 404
    assert not Book.objects.exists()


@override_settings(ETAG_LOCK_CREATE_ON_PUT=True)
def test_a_patch_with_if_none_match_star_never_creates(api):
    response = api.patch("/t/books/987654/", {"title": "x"}, format="json", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 404
    assert not Book.objects.exists()


# -- 5. unique races are 409 -------------------------------------------------------------


def _taken_meanwhile(customer_id: str) -> Any:
    """A pre_save receiver: another client stores ``customer_id`` just before this write."""

    def receiver(sender: Any, instance: Customer, **kwargs: Any) -> None:
        if instance.given_name != "Other":
            Customer._base_manager.filter(customer_id=customer_id).delete()
            Customer.objects.create(customer_id=customer_id, given_name="Other")

    return receiver


def test_a_create_losing_a_unique_race_is_409_naming_the_field(api, refused):
    receiver = _taken_meanwhile("U-1")
    pre_save.connect(receiver, sender=Customer)
    try:
        response = api.post("/api/customers/", {**_PERSON, "customer_id": "U-1"}, format="json")
    finally:
        pre_save.disconnect(receiver, sender=Customer)
    assert response.status_code == 409
    body = problem(response)
    assert body["type"] == PROBLEM_TYPE_UNIQUE_CONFLICT
    assert body["reason"] == Reason.UNIQUE_CONFLICT
    assert body["fields"] == ["customer_id"]
    assert "customer_id" in body["detail"]
    assert not Customer.objects.exists()
    assert [(s["source"], s["model"], s["pk"], s["reason"]) for s in refused] == [
        (Source.REST_FRAMEWORK, Customer, None, Reason.UNIQUE_CONFLICT)
    ]


def test_an_update_losing_a_unique_race_is_409_and_writes_nothing(api):
    customer = CustomerFactory(customer_id="U-2", given_name="Mine")
    receiver = _taken_meanwhile("U-3")
    pre_save.connect(receiver, sender=Customer)
    try:
        response = api.patch(
            f"/api/customers/{customer.pk}/",
            {"customer_id": "U-3"},
            format="json",
            HTTP_IF_MATCH='"1"',
        )
    finally:
        pre_save.disconnect(receiver, sender=Customer)
    assert response.status_code == 409
    assert problem(response)["fields"] == ["customer_id"]
    row = Customer.objects.get(pk=customer.pk)
    assert (row.customer_id, row.version) == ("U-2", 1)
    assert not Customer.objects.filter(customer_id="U-3").exists()


def test_a_unique_value_taken_before_the_request_is_still_drfs_400(api):
    CustomerFactory(customer_id="U-4")
    response = api.post("/api/customers/", {**_PERSON, "customer_id": "U-4"}, format="json")
    assert response.status_code == 400
    assert "customer_id" in response.json()


# -- 8. write_refused from the DRF door -------------------------------------------------


def test_a_stale_patch_sends_one_signal_with_the_versions(api, refused):
    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).update()
    response = api.patch(
        f"/api/customers/{customer.pk}/", {"notes": "x"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 412
    (sent,) = refused
    assert sent["sender"] is Customer
    assert sent["source"] == Source.REST_FRAMEWORK
    assert (sent["model"], sent["pk"], sent["reason"]) == (
        Customer,
        customer.pk,
        Reason.IF_MATCH_FAILED,
    )
    assert (sent["expected_version"], sent["current_version"]) == (1, 2)
    assert sent["request"].path == f"/api/customers/{customer.pk}/"


def test_a_428_sends_a_signal_without_an_expected_version(api, refused):
    customer = CustomerFactory()
    response = api.delete(f"/api/customers/{customer.pk}/")
    assert response.status_code == 428
    assert [(s["reason"], s["expected_version"], s["current_version"]) for s in refused] == [
        (Reason.IF_MATCH_MISSING, None, 1)
    ]


def test_a_race_lost_after_the_check_is_reported_once_by_the_door(api, refused):
    customer = CustomerFactory()

    def other_writer(sender: Any, instance: Customer, **kwargs: Any) -> None:
        Customer.objects.filter(pk=instance.pk).update()

    pre_save.connect(other_writer, sender=Customer)
    try:
        response = api.patch(
            f"/api/customers/{customer.pk}/", {"notes": "x"}, format="json", HTTP_IF_MATCH='"1"'
        )
    finally:
        pre_save.disconnect(other_writer, sender=Customer)
    assert response.status_code == 412
    assert [(s["source"], s["reason"], s["expected_version"]) for s in refused] == [
        (Source.REST_FRAMEWORK, Reason.CONCURRENT_WRITE, 1)
    ]


def test_reads_and_successful_writes_send_nothing(api, refused):
    customer = CustomerFactory()
    url = f"/api/customers/{customer.pk}/"
    assert api.get(url, HTTP_IF_MATCH='"9"').status_code == 412  # a read, not a write
    assert api.patch(url, {"notes": "x"}, format="json", HTTP_IF_MATCH='"1"').status_code == 200
    assert refused == []


@override_settings(ETAG_LOCK_CREATE_ON_PUT=True)
def test_create_only_put_at_an_identifier_the_field_refuses_is_400(api):
    response = api.put("/t/books/abc/", {"title": "x"}, format="json", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 400
    assert "pk" in response.json()
    assert not Book.objects.exists()


def test_create_only_put_at_a_too_long_identifier_is_400(api):
    response = api.put(
        f"/hal/customers/{'C' * 17}/", _PERSON, format="json", HTTP_IF_NONE_MATCH="*"
    )
    assert response.status_code == 400
    assert not Customer.objects.exists()


def test_the_409_answers_in_the_clients_language(api):
    receiver = _taken_meanwhile("U-5")
    pre_save.connect(receiver, sender=Customer)
    try:
        response = api.post(
            "/api/customers/",
            {**_PERSON, "customer_id": "U-5"},
            format="json",
            HTTP_ACCEPT_LANGUAGE="de",
        )
    finally:
        pre_save.disconnect(receiver, sender=Customer)
    body = problem(response)
    assert (response.status_code, body["title"]) == (409, "Konflikt")
    assert body["detail"].startswith(
        "Eine andere Anfrage hat soeben denselben Wert für customer_id"
    )


def test_the_mixin_adds_no_update_action_to_a_read_only_viewset():
    from rest_framework.routers import SimpleRouter
    from rest_framework.viewsets import ReadOnlyModelViewSet

    from django_etag_lock.rest_framework import ETagLockMixin
    from tests.testapp.views import BookSerializer

    class ReadOnlyBooks(ETagLockMixin, ReadOnlyModelViewSet):  # type: ignore[type-arg]
        queryset = Book.objects.all()
        serializer_class = BookSerializer

    # A router maps PUT to "update" whenever the viewset has one.
    methods = SimpleRouter().get_method_map(ReadOnlyBooks, {"put": "update", "get": "retrieve"})
    assert methods == {"get": "retrieve"}
