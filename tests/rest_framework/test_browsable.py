"""The browsable API of ETag-locked views: forms that send If-Match, problems as pages."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from customers.api import CustomerViewSet
from customers.models import Customer
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.test import APIClient, APIRequestFactory

from django_etag_lock.rest_framework.browsable import (
    ETagLockBrowsableAPIRenderer,
    IfMatchFormsMixin,
    ProblemBrowsableAPIRenderer,
)
from tests.factories import BookFactory, CustomerFactory

pytestmark = pytest.mark.django_db

HTML = "text/html; q=1.0, */*"  # what DRF's ajax-form.js sends
PROBLEM = "application/problem+json"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def url(customer: Customer) -> str:
    return f"/api/customers/{customer.pk}/"


def shown_tag(response: Any) -> str | None:
    match = re.search(
        r'<script id="etag-lock-if-match" type="application/json">(.*?)</script>',
        response.content.decode(),
    )
    return json.loads(match.group(1)) if match else None


def write(api: APIClient, customer: Customer, accept: str | None, if_match: str | None) -> Any:
    headers = {"HTTP_IF_MATCH": if_match} if if_match is not None else {}
    if accept is not None:
        headers["HTTP_ACCEPT"] = accept
    return api.patch(url(customer), {"notes": "x"}, format="json", **headers)


# -- the page's forms ---------------------------------------------------------------------


def test_detail_page_carries_the_tag_of_the_version_it_shows(api):
    customer = CustomerFactory()
    customer.save()
    response = api.get(url(customer), HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert shown_tag(response) == '"2"'
    assert "django_etag_lock/rest_framework/if-match.js" in response.content.decode()


def test_page_after_a_write_carries_the_new_tag(api):
    customer = CustomerFactory()
    response = write(api, customer, HTML, '"1"')
    assert response.status_code == 200
    assert shown_tag(response) == '"2"'


def test_list_page_has_no_tag_for_its_forms(api):
    CustomerFactory()
    response = api.get("/api/customers/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert shown_tag(response) is None
    assert "if-match.js" not in response.content.decode()


def test_drfs_own_browsable_renderer_is_replaced_and_a_projects_subclass_is_kept():
    class BrandedRenderer(BrowsableAPIRenderer):
        template = "rest_framework/api.html"

    class Branded(CustomerViewSet):
        renderer_classes = [JSONRenderer, BrandedRenderer]

    class Default(CustomerViewSet):
        renderer_classes = [JSONRenderer, BrowsableAPIRenderer]

    default = [type(r) for r in Default().get_renderers()]
    branded = [type(r) for r in Branded().get_renderers()]
    assert default == [JSONRenderer, ETagLockBrowsableAPIRenderer]
    assert branded == [JSONRenderer, BrandedRenderer]


def test_a_projects_renderer_with_the_mixin_gets_the_tag(api):
    class BrandedRenderer(IfMatchFormsMixin, BrowsableAPIRenderer):
        pass

    class Branded(CustomerViewSet):
        renderer_classes = [JSONRenderer, BrandedRenderer]

    customer = CustomerFactory()
    request = APIRequestFactory().get(url(customer), HTTP_ACCEPT="text/html")
    response = Branded.as_view({"get": "retrieve"})(request, pk=customer.pk).render()
    assert shown_tag(response) == '"1"'


# -- problems for a browser asking for HTML ------------------------------------------------


@pytest.mark.parametrize(
    ("if_match", "status", "says"),
    [
        ('"0"', 412, "this resource changed after the page you sent it from was loaded"),
        (None, 428, "did not say which version of the resource it was based on"),
        ("0", 400, "conditional header could not be read"),
    ],
)
def test_problem_for_a_browser_is_a_readable_page(api, if_match, status, says):
    customer = CustomerFactory()
    response = write(api, customer, HTML, if_match)
    assert response.status_code == status
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert 'id="etag-lock-problem"' in page
    assert says in page
    assert f'href="{url(customer)}"' in page  # the reload link: a plain GET
    assert '<b>Content-Type:</b> <span class="lit">application/problem+json</span>' in page
    assert shown_tag(response) is None
    assert 'data-method="PUT"' not in page  # no form that would resend a stale tag
    assert Customer.objects.get(pk=customer.pk).version == 1


def test_412_page_shows_the_sent_and_the_current_tag(api):
    customer = CustomerFactory()
    customer.save()
    response = write(api, customer, HTML, '"1"')
    page = response.content.decode()
    assert re.search(r'id="etag-lock-sent"><code>&quot;1&quot;</code>', page)
    assert re.search(r'id="etag-lock-current"><code>&quot;2&quot;</code>', page)
    assert response["ETag"] == '"2"'


@pytest.mark.parametrize(
    "accept",
    [None, "application/json", "*/*", f"{PROBLEM}, */*;q=0.1", "application/json, text/html;q=0.9"],
)
@pytest.mark.parametrize("if_match", ['"0"', None, "0"])
def test_every_other_client_still_gets_problem_json(api, accept, if_match):
    customer = CustomerFactory()
    response = write(api, customer, accept, if_match)
    assert response.status_code in (412, 428, 400)
    assert response["Content-Type"] == PROBLEM
    assert json.loads(response.content)["status"] == response.status_code


def test_a_view_without_the_browsable_api_answers_problem_json_to_html_clients(api):
    book = BookFactory()
    response = api.patch(f"/t/books/{book.pk}/", {"pages": 2}, format="json", HTTP_ACCEPT=HTML)
    assert response.status_code == 428
    assert response["Content-Type"] == PROBLEM


def test_problem_renderer_is_only_used_for_problems():
    assert ProblemBrowsableAPIRenderer.media_type == "text/html"
    assert not issubclass(ProblemBrowsableAPIRenderer, IfMatchFormsMixin)
