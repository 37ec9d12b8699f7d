"""A real HAL client, halchemy, against the demo's HAL API served live (``/hal/``).

halchemy copies the ``ETag`` of the response a resource came from (or, for a resource
embedded in another, its ``_etag`` field) into ``If-Match`` on PUT, PATCH and DELETE;
these tests check that the library's preconditions and that behaviour fit together.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import halchemy
import pytest
from customers.models import Customer
from requests import HTTPError
from requests.adapters import HTTPAdapter

from django_etag_lock.rest_framework import (
    PROBLEM_TYPE_PRECONDITION_FAILED,
    PROBLEM_TYPE_PRECONDITION_REQUIRED,
)
from tests.factories import CustomerFactory

TIMEOUT = 20


class TimeoutAdapter(HTTPAdapter):
    """halchemy has no timeout option; a stuck server must fail the test, not hang it."""

    def send(self, request: Any, timeout: Any = None, **kwargs: Any) -> Any:
        return super().send(request, timeout=timeout or TIMEOUT, **kwargs)


def server_request_threads() -> set[threading.Thread]:
    """The live server's threads, one per client connection (named after their target)."""
    return {t for t in threading.enumerate() if t.name.endswith("(process_request_thread)")}


@pytest.fixture
def api(live_server: Any) -> Iterator[Any]:
    client = halchemy.Api(f"{live_server.url}/hal/")
    # halchemy's built-in default sends "Authorization: Basic root:password"; the demo
    # is anonymous, and made-up credentials would only be rejected.
    client.remove_headers(["Authorization"])
    # Report statuses on the resource (the default), whatever a local .halchemy says.
    client.error_handling.raise_for_status_codes = None
    client._api.mount("http://", TimeoutAdapter())
    before = server_request_threads()
    yield client
    client._api.close()
    # A resource from an error response keeps the requests response, and with it the
    # socket, in a reference cycle; free them so the server's thread for that connection
    # ends now, closing its database connection, not after the server has stopped.
    gc.collect()
    for thread in server_request_threads() - before:
        thread.join(timeout=TIMEOUT)
        assert not thread.is_alive(), f"{thread.name} still serves a closed session"


@pytest.fixture
def a375() -> Customer:
    customer: Customer = CustomerFactory(customer_id="A375", given_name="Ada", notes="")
    return customer


def status(resource: Any) -> int:
    code: int = resource._halchemy.response.status_code
    return code


def sent_if_match(resource: Any) -> str | None:
    value: str | None = resource._halchemy.request.headers.get("If-Match")
    return value


def row() -> Customer:
    return Customer.objects.get(customer_id="A375")


def get_a375(api: Any) -> Any:
    home = api.home.get()
    assert status(home) == 200
    return api.follow(home).to("customer").with_template_values({"customerId": "A375"}).get()


def test_halchemy_navigates_patches_and_gets_412_for_a_stale_resource(api, a375):
    home = api.home.get()
    assert status(home) == 200
    assert home._halchemy.response.headers["Content-Type"] == "application/hal+json"
    assert home.links == ["self", "customers", "customer"]

    customer = api.follow(home).to("customer").with_template_values({"customerId": "A375"}).get()
    assert status(customer) == 200
    assert customer["customer_id"] == "A375"
    assert customer._halchemy.response.headers["ETag"] == '"1"'

    patched = api.follow(customer).to("self").patch({"notes": "first"})
    assert status(patched) == 200
    assert sent_if_match(patched) == '"1"'
    assert patched["_etag"] == patched._halchemy.response.headers["ETag"] == '"2"'
    assert (row().notes, row().version) == ("first", 2)

    # The same resource again: halchemy resends its old ETag, the server refuses.
    stale = api.follow(customer).to("self").patch({"notes": "stale"})
    assert status(stale) == 412
    assert sent_if_match(stale) == '"1"'
    response = stale._halchemy.response
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.body["type"] == PROBLEM_TYPE_PRECONDITION_FAILED
    assert response.body["current_etag"] == '"2"'
    # A problem document is not HAL: halchemy hands back an empty resource.
    assert dict(stale) == {}
    assert (row().notes, row().version) == ("first", 2)

    # Chained from the PATCH result, which carries the new ETag: accepted.
    chained = api.follow(patched).to("self").patch({"notes": "second"})
    assert status(chained) == 200
    assert sent_if_match(chained) == '"2"'
    assert (row().notes, row().version) == ("second", 3)


def test_halchemy_raises_on_412_when_configured_to(api, a375):
    customer = get_a375(api)
    Customer.objects.filter(pk=a375.pk).update(notes="theirs")
    api.error_handling.raise_for_status_codes = ">399"
    with pytest.raises(HTTPError) as excinfo:
        api.follow(customer).to("self").patch({"notes": "mine"})
    assert status(excinfo.value.args[0]) == 412
    assert (row().notes, row().version) == ("theirs", 2)


def test_halchemy_edits_an_embedded_item_through_its_etag_field(api, a375):
    CustomerFactory(customer_id="B112")
    Customer.objects.filter(pk=a375.pk).update()
    home = api.home.get()
    collection = api.follow(home).to("customers").get()
    assert status(collection) == 200
    items = {item["customer_id"]: item for item in collection.embedded_many("customers")}
    assert set(items) == {"A375", "B112"}
    item = items["A375"]
    assert item["_etag"] == '"2"'

    edited = api.follow(item).to("self").patch({"notes": "from the list"})
    assert status(edited) == 200
    assert sent_if_match(edited) == '"2"'
    assert (row().notes, row().version) == ("from the list", 3)

    # The list is now out of date for A375: its _etag no longer matches.
    again = api.follow(item).to("self").patch({"notes": "from a stale list"})
    assert status(again) == 412
    assert (row().notes, row().version) == ("from the list", 3)


def test_halchemy_deletes_with_the_current_etag_and_not_with_a_stale_one(api, a375):
    customer = get_a375(api)
    patched = api.follow(customer).to("self").patch({"notes": "last words"})
    assert status(patched) == 200

    refused = api.follow(customer).to("self").delete()
    assert status(refused) == 412
    assert row().notes == "last words"

    deleted = api.follow(patched).to("self").delete()
    assert status(deleted) == 204
    assert sent_if_match(deleted) == '"2"'
    assert not Customer.objects.filter(customer_id="A375").exists()


def test_halchemy_creates_through_the_collection_link(api):
    home = api.home.get()
    created = (
        api.follow(home)
        .to("customers")
        .post({"customer_id": "E900", "given_name": "Grace", "family_name": "Hopper"})
    )
    assert status(created) == 201
    headers = created._halchemy.response.headers
    assert headers["ETag"] == created["_etag"] == '"1"'
    assert headers["Location"] == created["_links"]["self"]["href"]
    assert Customer.objects.get(customer_id="E900").given_name == "Grace"

    patched = api.follow(created).to("self").patch({"notes": "new"})
    assert status(patched) == 200
    assert Customer.objects.get(customer_id="E900").version == 2


def test_a_write_to_a_bare_url_sends_no_if_match_and_gets_428(api, a375):
    # Without a resource halchemy has no ETag to send.
    response = api.using_endpoint("/customers/A375/").patch({"notes": "blind"})
    assert status(response) == 428
    assert sent_if_match(response) is None
    assert response._halchemy.response.body["type"] == PROBLEM_TYPE_PRECONDITION_REQUIRED
    assert (row().notes, row().version) == ("", 1)
