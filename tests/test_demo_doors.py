"""The demo's other doors: the start page links them, and each answers as documented."""

from __future__ import annotations

import io
import json
import re

import pytest
from customers.models import Customer
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer() -> Customer:
    call_command("demo", no_serve=True, password="pw", stdout=io.StringIO())
    return Customer.objects.get(customer_id="A375")


def links(page: str) -> dict[str, str]:
    """{id: href} of the page's links that have an id."""
    return {ident: href for href, ident in re.findall(r'<a href="([^"]+)" id="([\w-]+)"', page)}


def test_start_page_links_the_edit_page_and_the_ninja_api(customer):
    client = Client()
    page = client.get("/").content.decode()
    found = links(page)
    assert found["edit-link"] == f"http://testserver/customers/{customer.pk}/edit/"
    assert found["ninja-link"] == "http://testserver/ninja/customers"
    edit = client.get(found["edit-link"])
    assert edit.status_code == 200
    assert "_etag_lock_version" in edit.content.decode()
    listed = json.loads(client.get(found["ninja-link"]).content)
    assert {item["customer_id"] for item in listed} >= {"A375"}
    assert all(item["etag"].startswith('"') for item in listed)


def test_start_page_shows_working_commands_for_ninja_and_the_json_view(customer):
    client = Client()
    page = client.get("/").content.decode()
    for path in (f"/ninja/customers/{customer.pk}", f"/json/customers/{customer.pk}"):
        assert f"curl -i http://testserver{path}" in page
        response = client.get(path)
        assert response.status_code == 200
        assert response["ETag"] == f'"{customer.version}"'


def test_ninja_docs_page_is_served(customer):
    assert Client().get("/ninja/docs").status_code == 200


def test_demo_async_api_is_the_ready_adrf_viewset_and_answers_the_table(customer):
    from customers.async_api import AsyncCustomerViewSet

    from django_etag_lock.rest_framework.adrf import AsyncETagLockModelViewSet

    assert issubclass(AsyncCustomerViewSet, AsyncETagLockModelViewSet)
    assert AsyncCustomerViewSet.view_is_async
    client = Client()
    page = client.get("/").content.decode()
    assert f"curl -i http://testserver/async-api/customers/{customer.pk}/" in page
    target = f"/async-api/customers/{customer.pk}/"
    read = client.get(target)
    assert (read.status_code, read["ETag"]) == (200, f'"{customer.version}"')
    body = json.dumps({"notes": "n"})
    assert client.patch(target, body, content_type="application/json").status_code == 428
    written = client.patch(
        target, body, content_type="application/json", headers={"If-Match": read["ETag"]}
    )
    assert (written.status_code, written["ETag"]) == (200, f'"{customer.version + 1}"')
