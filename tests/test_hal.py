"""The demo's HAL API (testproject/customers/hal.py): shapes, links, ETags, preconditions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from customers.hal import HalCustomerViewSet
from customers.models import Customer
from django.test import Client

from django_etag_lock.rest_framework import (
    PROBLEM_TYPE_MALFORMED_PRECONDITION,
    PROBLEM_TYPE_PRECONDITION_FAILED,
    PROBLEM_TYPE_PRECONDITION_REQUIRED,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

HAL = "application/hal+json"
PROBLEM = "application/problem+json"
BASE = "http://testserver"


@pytest.fixture
def a375() -> Customer:
    customer: Customer = CustomerFactory(customer_id="A375", given_name="Ada")
    return customer


def item_url(customer_id: str) -> str:
    return f"/hal/customers/{customer_id}/"


def hal(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == HAL
    data: dict[str, Any] = json.loads(response.content)
    return data


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    data: dict[str, Any] = json.loads(response.content)
    assert data["status"] == response.status_code
    return data


def send(client: Client, method: str, url: str, body: Any = None, **headers: str) -> Any:
    data = "" if body is None else json.dumps(body)
    return getattr(client, method)(url, data, content_type="application/json", headers=headers)


def stored(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def hrefs(document: Any) -> list[str]:
    """Every ``href`` anywhere in a HAL document, embedded resources included."""
    if isinstance(document, dict):
        found = [document["href"]] if isinstance(document.get("href"), str) else []
        return found + [href for value in document.values() for href in hrefs(value)]
    if isinstance(document, list):
        return [href for value in document for href in hrefs(value)]
    return []


def expand(template: str, customer_id: str) -> str:
    return template.replace("{customerId}", customer_id)


# -- the home resource --------------------------------------------------------------------


def test_home_links_self_the_collection_and_a_templated_customer_rel(client):
    response = client.get("/hal/")
    assert response.status_code == 200
    assert hal(response) == {
        "_links": {
            "self": {"href": f"{BASE}/hal/"},
            "customers": {"href": f"{BASE}/hal/customers/"},
            "customer": {"href": f"{BASE}/hal/customers/{{customerId}}/", "templated": True},
        }
    }


def test_home_templated_link_expands_to_the_item_resource(client, a375):
    template = hal(client.get("/hal/"))["_links"]["customer"]["href"]
    response = client.get(expand(template, "A375"))
    assert response.status_code == 200
    assert hal(response)["_links"]["self"]["href"] == expand(template, "A375")


def test_home_answers_head_without_a_body(client):
    response = client.head("/hal/")
    assert response.status_code == 200
    assert response["Content-Type"] == HAL
    assert response.content == b""


def test_hrefs_are_absolute_for_the_host_and_scheme_of_the_request(client, a375):
    for url in ("/hal/", "/hal/customers/", item_url("A375")):
        document = hal(client.get(url, headers={"host": "api.example.com"}, secure=True))
        found = hrefs(document)
        assert found
        assert all(href.startswith("https://api.example.com/hal/") for href in found), found


# -- the item resource --------------------------------------------------------------------


def test_item_has_links_etag_and_fields_and_is_found_by_customer_id(client, a375):
    Customer.objects.filter(pk=a375.pk).update()
    response = client.get(item_url("A375"))
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert response.has_header("Last-Modified")
    data = hal(response)
    assert data["_links"] == {
        "self": {"href": f"{BASE}/hal/customers/A375/"},
        "collection": {"href": f"{BASE}/hal/customers/"},
    }
    assert data["_etag"] == response["ETag"]
    assert data["customer_id"] == "A375"
    assert data["given_name"] == "Ada"
    assert data["version"] == 2
    assert "id" not in data


def test_item_is_not_found_by_primary_key(client):
    customer = CustomerFactory(customer_id="B112")
    response = client.get(item_url(str(customer.pk)))
    assert response.status_code == 404
    assert problem(response)["type"] == "about:blank"


def test_item_head_sends_the_etag_without_a_body(client, a375):
    response = client.head(item_url("A375"))
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response.content == b""


def test_customer_id_with_a_slash_gets_a_link_that_resolves_back_to_it(client):
    CustomerFactory(customer_id="EU/77")
    listed = hal(client.get("/hal/customers/"))["_embedded"]["customers"]
    href = listed[0]["_links"]["self"]["href"]
    assert href == f"{BASE}/hal/customers/EU/77/"
    response = client.get(href)
    assert response.status_code == 200
    assert hal(response)["customer_id"] == "EU/77"


# -- the collection -----------------------------------------------------------------------


def test_collection_embeds_every_customer_under_the_customers_rel(client, a375):
    CustomerFactory(customer_id="B112")
    response = client.get("/hal/customers/")
    assert response.status_code == 200
    assert not response.has_header("ETag")
    data = hal(response)
    assert data["_links"]["self"] == {"href": f"{BASE}/hal/customers/"}
    assert data["_links"]["customer"]["templated"] is True
    assert set(data["_embedded"]) == {"customers"}
    items = data["_embedded"]["customers"]
    assert [item["customer_id"] for item in items] == ["A375", "B112"]
    for item in items:
        assert item["_links"]["self"]["href"] == f"{BASE}/hal/customers/{item['customer_id']}/"


def test_embedded_etag_is_exactly_the_etag_header_of_the_item(client, a375):
    b112 = CustomerFactory(customer_id="B112")
    Customer.objects.filter(pk=b112.pk).update()
    Customer.objects.filter(pk=b112.pk).update()
    items = hal(client.get("/hal/customers/"))["_embedded"]["customers"]
    tags = {item["customer_id"]: item["_etag"] for item in items}
    assert tags == {"A375": '"1"', "B112": '"3"'}
    for item in items:
        assert client.get(item["_links"]["self"]["href"])["ETag"] == item["_etag"]


def test_embedded_etag_edits_the_item_without_another_get(client, a375):
    item = hal(client.get("/hal/customers/"))["_embedded"]["customers"][0]
    response = send(
        client, "patch", item["_links"]["self"]["href"], {"notes": "VIP"}, if_match=item["_etag"]
    )
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert hal(response)["_etag"] == '"2"'
    assert stored(a375).notes == "VIP"


def test_post_to_the_collection_creates_201_with_etag_and_location(client):
    body = {"customer_id": "E900", "given_name": "Grace", "family_name": "Hopper"}
    response = send(client, "post", "/hal/customers/", body)
    assert response.status_code == 201
    assert response["ETag"] == '"1"'
    assert response["Location"] == f"{BASE}/hal/customers/E900/"
    data = hal(response)
    assert data["_etag"] == '"1"'
    assert data["_links"]["self"]["href"] == response["Location"]
    created = Customer.objects.get(customer_id="E900")
    assert (created.given_name, created.version) == ("Grace", 1)


def test_post_accepts_a_hal_json_body(client):
    body = json.dumps({"customer_id": "E901", "given_name": "G", "family_name": "H"})
    response = client.post("/hal/customers/", body, content_type=HAL)
    assert response.status_code == 201
    assert Customer.objects.filter(customer_id="E901").exists()


def test_post_with_a_taken_customer_id_is_a_400_problem_with_field_errors(client, a375):
    body = {"customer_id": "A375", "given_name": "X", "family_name": "Y"}
    response = send(client, "post", "/hal/customers/", body)
    assert response.status_code == 400
    data = problem(response)
    assert data["type"] == "about:blank"
    assert data["title"] == "Bad Request"
    assert set(data["errors"]) == {"customer_id"}
    assert Customer.objects.count() == 1


# -- writes and their preconditions ------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_write_without_if_match_is_428_problem_and_writes_nothing(client, a375, method):
    body = {"given_name": "Eve", "family_name": "X"}
    response = send(client, method, item_url("A375"), None if method == "delete" else body)
    assert response.status_code == 428
    data = problem(response)
    assert data["type"] == PROBLEM_TYPE_PRECONDITION_REQUIRED
    assert data["instance"] == "/hal/customers/A375/"
    assert not response.has_header("ETag")
    assert stored(a375).version == 1
    assert stored(a375).given_name == "Ada"


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_stale_if_match_is_412_problem_and_writes_nothing(client, a375, method):
    stale = client.get(item_url("A375"))["ETag"]
    Customer.objects.filter(pk=a375.pk).update(notes="theirs")
    body = {"given_name": "Eve", "family_name": "X"}
    response = send(
        client, method, item_url("A375"), None if method == "delete" else body, if_match=stale
    )
    assert response.status_code == 412
    data = problem(response)
    assert data["type"] == PROBLEM_TYPE_PRECONDITION_FAILED
    assert data["current_etag"] == '"2"'
    assert response["ETag"] == '"2"'
    row = stored(a375)
    assert (row.version, row.given_name, row.notes) == (2, "Ada", "theirs")


def test_patch_with_the_current_tag_is_200_hal_with_the_new_etag(client, a375):
    tag = client.get(item_url("A375"))["ETag"]
    response = send(client, "patch", item_url("A375"), {"notes": "mine"}, if_match=tag)
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    data = hal(response)
    assert data["_etag"] == '"2"'
    assert data["_links"]["self"]["href"] == f"{BASE}/hal/customers/A375/"
    assert stored(a375).notes == "mine"


def test_put_with_the_current_tag_replaces_the_customer(client, a375):
    body = {"given_name": "Ann", "family_name": "Smith", "email": "", "notes": "n"}
    response = send(client, "put", item_url("A375"), body, if_match='"1"')
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    row = stored(a375)
    assert (row.given_name, row.family_name, row.notes, row.version) == ("Ann", "Smith", "n", 2)


def test_delete_with_the_current_tag_is_204(client, a375):
    response = send(client, "delete", item_url("A375"), if_match='"1"')
    assert response.status_code == 204
    assert not Customer.objects.filter(pk=a375.pk).exists()


def test_customer_id_cannot_be_changed_by_a_write(client, a375):
    response = send(client, "patch", item_url("A375"), {"customer_id": "Z999"}, if_match='"1"')
    assert response.status_code == 200
    assert hal(response)["customer_id"] == "A375"
    assert stored(a375).customer_id == "A375"


def test_stale_tag_with_an_invalid_body_is_412_not_400(client, a375):
    Customer.objects.filter(pk=a375.pk).update()
    response = send(client, "patch", item_url("A375"), {"email": "nope"}, if_match='"1"')
    assert response.status_code == 412


def test_current_tag_with_an_invalid_body_is_a_400_problem_and_writes_nothing(client, a375):
    response = send(client, "patch", item_url("A375"), {"email": "nope"}, if_match='"1"')
    assert response.status_code == 400
    assert set(problem(response)["errors"]) == {"email"}
    assert stored(a375).version == 1


def test_unquoted_if_match_is_a_400_malformed_problem(client, a375):
    response = send(client, "patch", item_url("A375"), {"notes": "x"}, if_match="1")
    assert response.status_code == 400
    assert problem(response)["type"] == PROBLEM_TYPE_MALFORMED_PRECONDITION
    assert stored(a375).version == 1


def test_race_lost_after_the_check_is_412_through_the_hal_view(client, a375, monkeypatch):
    checked = HalCustomerViewSet.check_preconditions

    def check_then_lose_race(self: HalCustomerViewSet, instance: Customer) -> None:
        checked(self, instance)
        Customer.objects.filter(pk=instance.pk).update(notes="theirs")

    monkeypatch.setattr(HalCustomerViewSet, "check_preconditions", check_then_lose_race)
    response = send(client, "patch", item_url("A375"), {"notes": "mine"}, if_match='"1"')
    assert response.status_code == 412
    assert problem(response)["reason"] == "concurrent-write"
    assert stored(a375).notes == "theirs"


# -- conditional reads --------------------------------------------------------------------


def test_if_none_match_with_the_current_tag_is_304_with_etag_and_no_body(client, a375):
    tag = client.get(item_url("A375"))["ETag"]
    response = client.get(item_url("A375"), headers={"if-none-match": tag})
    assert response.status_code == 304
    assert response["ETag"] == tag
    assert not response.has_header("Content-Type")
    assert response.content == b""


def test_if_none_match_with_a_stale_tag_is_200(client, a375):
    Customer.objects.filter(pk=a375.pk).update()
    response = client.get(item_url("A375"), headers={"if-none-match": '"1"'})
    assert response.status_code == 200
    assert hal(response)["_etag"] == '"2"'


# -- errors and content types -------------------------------------------------------------


def test_method_not_allowed_is_a_405_problem_with_allow(client):
    response = client.post("/hal/", "{}", content_type="application/json")
    assert response.status_code == 405
    assert problem(response)["title"] == "Method Not Allowed"
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("url", ["/hal/", "/hal/customers/", item_url("A375")])
def test_a_client_that_accepts_only_plain_json_gets_the_hal_document_as_json(client, a375, url):
    as_json = client.get(url, headers={"accept": "application/json"})
    as_hal = client.get(url, headers={"accept": HAL})
    assert as_json.status_code == 200
    assert as_json["Content-Type"] == "application/json"
    assert as_json.content == as_hal.content
    assert as_json.get("ETag") == as_hal.get("ETag")
    assert "Accept" in as_json["Vary"]


@pytest.mark.parametrize("accept", [None, "*/*", "application/*", f"application/json;q=0.5, {HAL}"])
def test_hal_json_is_what_a_client_gets_unless_it_asks_for_plain_json(client, a375, accept):
    headers = {} if accept is None else {"accept": accept}
    response = client.get(item_url("A375"), headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"] == HAL


def test_a_plain_json_client_edits_through_the_hal_api(client, a375):
    read = client.get(item_url("A375"), headers={"accept": "application/json"})
    saved = send(
        client,
        "patch",
        item_url("A375"),
        {"notes": "json"},
        accept="application/json",
        **{"If-Match": read["ETag"]},
    )
    assert saved.status_code == 200
    assert saved["Content-Type"] == "application/json"
    assert json.loads(saved.content)["notes"] == "json"


@pytest.mark.parametrize("url", ["/hal/", item_url("A375")])
def test_not_acceptable_is_a_406_problem_listing_the_available_media_types(client, a375, url):
    response = client.get(url, headers={"accept": "application/xml"})
    assert response.status_code == 406
    body = problem(response)
    assert body["title"] == "Not Acceptable"
    assert body["available"] == [HAL, "application/json"]
    assert "application/hal+json, application/json" in body["detail"]


def test_a_client_that_accepts_hal_json_gets_it(client, a375):
    response = client.get(item_url("A375"), headers={"accept": HAL})
    assert response.status_code == 200
    assert response["Content-Type"] == HAL


def test_problem_details_are_sent_even_to_a_client_that_accepts_only_hal(client, a375):
    response = send(client, "patch", item_url("A375"), {"notes": "x"}, accept=HAL)
    assert response.status_code == 428
    assert response["Content-Type"] == PROBLEM


# -- lookup values no row can hold ---------------------------------------------------------


@pytest.mark.parametrize(
    "customer_id",
    ["%00", "A%00375", "%00%00", "x" * 300, "%F0%9F%98%80", "%ED%A0%80", "%FF"],
    ids=["nul", "nul-inside", "nuls", "too-long", "emoji", "surrogate-bytes", "invalid-utf8"],
)
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_lookup_value_the_database_cannot_hold_is_a_404_problem(
    client, a375, method, customer_id
):
    if method == "get":
        response = client.get(item_url(customer_id))
    else:
        response = send(
            client, method, item_url(customer_id), {"notes": "x"}, **{"If-Match": '"1"'}
        )
    assert response.status_code == 404
    assert problem(response)["title"] == "Not Found"
    assert stored(a375).version == 1
