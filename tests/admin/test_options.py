"""VersionedModelAdmin as composed (django_etag_lock/admin/options.py), as the demo
project installs it.
"""

from __future__ import annotations

import pytest
from customers.models import Customer
from django.core.management import call_command
from django.test import Client

from tests.admin.helpers import (
    change_url,
    form_values,
    token_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.admin.urls")]


def test_demo_superuser_can_use_the_protected_customer_admin() -> None:
    call_command("demo", no_serve=True, password="demo-pw", stdout=None)
    client = Client()
    assert client.login(username="demo", password="demo-pw")
    a375 = Customer.objects.get(customer_id="A375")

    values = form_values(client.get(change_url(a375)), "customer_form")

    assert token_of(values).version == a375.version
