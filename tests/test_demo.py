"""The demo project: ``manage.py demo``, the start page at ``/`` and ``conflict_walkthrough``."""

from __future__ import annotations

import html
import io
import json
import re
import shlex

import pytest
from customers.management.commands.conflict_walkthrough import ALICE_NOTES, BOB_EMAIL
from customers.models import Customer
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.http import HttpResponse
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def seed() -> Customer:
    call_command("demo", no_serve=True, password="pw", stdout=io.StringIO())
    return Customer.objects.get(customer_id="A375")


# -- manage.py demo -------------------------------------------------------------------


def test_demo_without_serving_seeds_customers_and_creates_the_superuser():
    out = io.StringIO()
    call_command("demo", no_serve=True, password="s3cret", port=8123, stdout=out)
    assert set(Customer.objects.values_list("customer_id", flat=True)) == {
        "A375",
        "B112",
        "C501",
        "D240",
    }
    user = get_user_model().objects.get(username="demo")
    assert user.is_superuser
    assert user.is_staff
    assert user.check_password("s3cret")
    assert "password: s3cret" in out.getvalue()
    assert "http://127.0.0.1:8123/" in out.getvalue()


def test_demo_run_twice_keeps_the_customers_and_their_edits():
    customer = seed()
    customer.notes = "edited"
    customer.save()
    seed()
    assert Customer.objects.count() == 4
    assert Customer.objects.get(customer_id="A375").notes == "edited"


# -- the start page -------------------------------------------------------------------


def commands_on(page: str) -> list[list[str]]:
    """The curl commands shown on the page, split like a shell would."""
    blocks = re.findall(r"<pre><code>(curl .*?)</code></pre>", page, flags=re.S)
    return [shlex.split(html.unescape(block).replace("\\\n", " ")) for block in blocks]


def replay(client: Client, argv: list[str]) -> HttpResponse:
    """Run one of the page's curl commands through the test client."""
    assert argv[:2] == ["curl", "-i"]
    method, url, headers, data = "GET", "", {}, None
    rest = iter(argv[2:])
    for arg in rest:
        if arg == "-X":
            method = next(rest)
        elif arg == "-H":
            name, _, value = next(rest).partition(": ")
            headers[name] = value
        elif arg == "-d":
            data = next(rest)
        else:
            url = arg
    assert url.startswith("http://testserver/")
    content_type = headers.pop("Content-Type", "application/octet-stream")
    return client.generic(
        method, url.removeprefix("http://testserver"), data or "", content_type, headers=headers
    )


def test_start_page_links_the_admin_change_page_of_a375_and_the_api():
    customer = seed()
    response = Client().get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"http://testserver/admin/customers/customer/{customer.pk}/change/" in page
    assert f"http://testserver/api/customers/{customer.pk}/" in page
    assert "http://testserver/api/schema/" in page
    assert "http://testserver/admin/customers/customer/" in page
    assert "conflict_walkthrough" in page
    assert f"is at version <strong>{customer.version}</strong>" in page


def test_start_page_curl_commands_answer_200_then_412_then_428_as_the_page_says():
    customer = seed()
    page = Client().get("/").content.decode()
    commands = commands_on(page)
    assert len(commands) == 5  # four on the JSON API, one on the HAL API
    client = Client()

    read = replay(client, commands[0])
    assert read.status_code == 200
    assert read["ETag"] == f'"{customer.version}"'

    write = replay(client, commands[1])
    assert write.status_code == 200
    assert write["ETag"] == f'"{customer.version + 1}"'

    stale = replay(client, commands[2])
    assert stale.status_code == 412
    assert stale["Content-Type"] == "application/problem+json"
    assert json.loads(stale.content)["status"] == 412

    unconditional = replay(client, commands[3])
    assert unconditional.status_code == 428

    hal = replay(client, commands[4])
    assert hal.status_code == 200
    assert hal["Content-Type"] == "application/hal+json"
    assert hal["ETag"] == write["ETag"]

    row = Customer.objects.get(pk=customer.pk)
    assert row.version == customer.version + 1
    assert row.email == customer.email  # neither refused write got through
    # The page promises a 304 for If-None-Match with the new tag.
    assert f"If-None-Match: {write['ETag']}" in html.unescape(page)
    conditional = client.get(
        f"/api/customers/{customer.pk}/", headers={"If-None-Match": write["ETag"]}
    )
    assert conditional.status_code == 304


def test_start_page_commands_follow_the_current_version():
    customer = seed()
    customer.save()
    customer.save()
    page = html.unescape(Client().get("/").content.decode())
    assert f'If-Match: "{customer.version}"' in page


def test_start_page_without_the_demo_customer_says_how_to_seed():
    response = Client().get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "manage.py demo --no-serve" in page
    assert commands_on(page) == []


def test_start_page_links_the_hal_api_and_a375_there():
    customer = seed()
    page = Client().get("/").content.decode()
    assert 'href="http://testserver/hal/"' in page
    assert f"http://testserver/hal/customers/{customer.customer_id}/" in page


def test_start_page_leaves_out_the_hal_api_when_it_is_not_served():
    import testproject.urls

    seed()

    class WithoutHal:  # a URLconf may be any (hashable) object with urlpatterns
        urlpatterns = [
            pattern
            for pattern in testproject.urls.urlpatterns
            if not str(pattern.pattern).startswith("hal")
        ]

    with override_settings(ROOT_URLCONF=WithoutHal):
        response = Client().get("/")
    assert response.status_code == 200
    assert "/hal/" not in response.content.decode()


# -- manage.py conflict_walkthrough ---------------------------------------------------


def test_conflict_walkthrough_shows_200_then_412_then_428_and_loses_nothing():
    customer = seed()
    out = io.StringIO()
    call_command("conflict_walkthrough", stdout=out)
    text = out.getvalue()
    statuses = re.findall(r"-> (\d{3}) ", text)
    assert statuses == ["200", "200", "200", "412", "428", "200", "200"]
    assert "urn:django-etag-lock:problem:precondition-failed" in text
    assert "urn:django-etag-lock:problem:precondition-required" in text
    assert "No update was lost." in text
    row = Customer.objects.get(pk=customer.pk)
    assert (row.notes, row.email) == (ALICE_NOTES, BOB_EMAIL)
    assert row.version == customer.version + 2  # Alice's write and Bob's retry, nothing else


def test_conflict_walkthrough_can_run_again():
    customer = seed()
    call_command("conflict_walkthrough", stdout=io.StringIO())
    call_command("conflict_walkthrough", stdout=io.StringIO())
    assert Customer.objects.get(pk=customer.pk).version == customer.version + 4


def test_conflict_walkthrough_on_another_customer():
    seed()
    call_command("conflict_walkthrough", customer="C501", stdout=io.StringIO())
    assert Customer.objects.get(customer_id="C501").email == BOB_EMAIL


def test_conflict_walkthrough_without_the_customer_says_how_to_seed():
    with pytest.raises(CommandError, match=r"manage.py demo --no-serve"):
        call_command("conflict_walkthrough", stdout=io.StringIO())
