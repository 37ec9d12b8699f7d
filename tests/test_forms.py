"""VersionedModelForm in a plain Django view, as docs/admin.md ("Forms outside the admin") shows.

The view is the documented one, plus the overwrite button a view may offer; the tests
drive it with Django's test client and check the page and the database.
"""

from __future__ import annotations

import html
import re

import pytest
from customers.models import Customer
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template import engines
from django.test import Client
from django.urls import path, reverse

from django_etag_lock import changes, tokens
from django_etag_lock.exceptions import StaleObjectError, VersionFieldError
from django_etag_lock.forms import (
    CURRENT_TOKEN_FIELD,
    OVERWRITE_VALUE,
    TOKEN_FIELD,
    FieldChange,
    VersionedModelForm,
    VersionToken,
    model_value,
    same_value,
    snapshot_fields,
)
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_forms")]


class CustomerForm(VersionedModelForm):
    class Meta:
        model = Customer
        fields = ["given_name", "family_name", "email"]


PAGE = engines["django"].from_string(
    """<form method="post" id="customer-form">{{ form.as_div }}
{% if changes %}<input type="hidden" name="{{ current_field }}" value="{{ current_token }}">
<table id="changes">{% for c in changes %}
<tr data-field="{{ c.name }}" data-status="{{ c.status }}">\
<td>{{ c.started }}</td><td>{{ c.current }}</td><td>{{ c.mine }}</td></tr>{% endfor %}
</table>
<button name="_etag_lock_overwrite" value="{{ overwrite_value }}">Save mine over theirs</button>
{% endif %}</form>"""
)


def edit_customer(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = CustomerForm(request.POST or None, instance=customer)
    found: list[FieldChange] = []
    current_token = ""
    if request.method == "POST" and form.is_valid():
        try:
            form.save()
            return HttpResponseRedirect(request.path)
        except StaleObjectError:
            current = Customer.objects.get(pk=pk)
            found = form.etag_lock_changes(current)
            current_token = form.etag_lock_snapshot(current).sign()
    context = {
        "form": form,
        "changes": found,
        "current_field": CURRENT_TOKEN_FIELD,
        "current_token": current_token,
        "overwrite_value": OVERWRITE_VALUE,
    }
    return HttpResponse(PAGE.render(context, request))


def add_customer(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None, instance=Customer(customer_id="N1"))
    if request.method == "POST" and form.is_valid():
        form.save()
        return HttpResponseRedirect(request.path)
    return HttpResponse(PAGE.render({"form": form}, request))


urlpatterns = [
    path("customers/<int:pk>/", edit_customer, name="edit-customer"),
    path("customers/add/", add_customer, name="add-customer"),
]


@pytest.fixture
def ada() -> Customer:
    return CustomerFactory(
        customer_id="A375", given_name="Ada", family_name="Lovelace", email="ada@example.com"
    )


def url(customer: Customer) -> str:
    return reverse("edit-customer", args=[customer.pk])


def inputs(response: HttpResponse) -> dict[str, str]:
    """The form's ``<input>`` values by name (what a browser would send back)."""
    page = response.content.decode()
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input[^>]* name="([^"]+)"[^>]* value="([^"]*)"', page)
    }


def token_in(values: dict[str, str], name: str = TOKEN_FIELD) -> VersionToken:
    token = VersionToken.load(values[name], Customer)
    assert token is not None
    return token


def changes_on(response: HttpResponse) -> dict[str, tuple[str, ...]]:
    """``{field: (status, started, current, mine)}`` from the page's changes table."""
    rows = re.findall(
        r'<tr data-field="(\w+)" data-status="(\w+)"><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>',
        response.content.decode(),
    )
    return {name: tuple(rest) for name, *rest in rows}


def test_get_renders_the_signed_version_and_the_values_the_editor_sees(ada: Customer) -> None:
    values = inputs(Client().get(url(ada)))

    token = token_in(values)
    assert (token.pk, token.version) == (str(ada.pk), 1)
    assert dict(token.values) == {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.com",
    }
    assert values["given_name"] == "Ada"


def test_fresh_post_saves_and_bumps_the_version(ada: Customer) -> None:
    client = Client()
    values = inputs(client.get(url(ada)))

    response = client.post(url(ada), {**values, "given_name": "Adeline"})

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Adeline", 2)


def test_stale_post_writes_nothing_and_shows_what_changed(ada: Customer) -> None:
    client = Client()
    values = inputs(client.get(url(ada)))
    Customer.objects.filter(pk=ada.pk).update(family_name="King", given_name="Augusta")

    response = client.post(
        url(ada), {**values, "given_name": "Adeline", "email": "adeline@example.com"}
    )

    assert response.status_code == 200
    assert changes_on(response) == {
        "given_name": ("both", "Ada", "Augusta", "Adeline"),
        "family_name": ("theirs", "Lovelace", "King", "Lovelace"),
        "email": ("mine", "ada@example.com", "ada@example.com", "adeline@example.com"),
    }
    ada.refresh_from_db()
    assert (ada.given_name, ada.family_name, ada.email, ada.version) == (
        "Augusta",
        "King",
        "ada@example.com",
        2,
    )


def test_same_change_on_both_sides_is_reported_as_same(ada: Customer) -> None:
    client = Client()
    values = inputs(client.get(url(ada)))
    Customer.objects.filter(pk=ada.pk).update(family_name="King")

    response = client.post(url(ada), {**values, "family_name": "King"})

    assert changes_on(response) == {"family_name": ("same", "Lovelace", "King", "King")}


def test_resending_the_stale_form_conflicts_again(ada: Customer) -> None:
    client = Client()
    values = inputs(client.get(url(ada)))
    Customer.objects.filter(pk=ada.pk).update(family_name="King")
    client.post(url(ada), {**values, "given_name": "Adeline"})

    response = client.post(url(ada), {**values, "given_name": "Adeline"})

    assert response.status_code == 200
    assert "family_name" in changes_on(response)
    assert Customer.objects.get(pk=ada.pk).given_name == "Ada"


@pytest.mark.parametrize("kind", ["tampered", "missing", "other row"])
def test_tampered_missing_or_foreign_token_is_a_form_error_and_writes_nothing(
    kind: str, ada: Customer
) -> None:
    client = Client()
    values = inputs(client.get(url(ada)))
    if kind == "tampered":
        genuine = values[TOKEN_FIELD]
        values[TOKEN_FIELD] = genuine[:-3] + ("AAA" if genuine[-3:] != "AAA" else "BBB")
    elif kind == "missing":
        del values[TOKEN_FIELD]
    else:
        grace = CustomerFactory(customer_id="B112", given_name="Grace")
        values[TOKEN_FIELD] = inputs(client.get(url(grace)))[TOKEN_FIELD]

    response = client.post(url(ada), {**values, "given_name": "Adeline"})

    assert response.status_code == 200
    assert "does not say which version of the customer you started from" in html.unescape(
        response.content.decode()
    )
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Ada", 1)


def test_overwrite_saves_my_values_over_the_version_shown(ada: Customer) -> None:
    client = Client()
    values = inputs(client.get(url(ada)))
    Customer.objects.filter(pk=ada.pk).update(family_name="King")
    conflict = inputs(client.post(url(ada), {**values, "given_name": "Adeline"}))
    assert token_in(conflict, CURRENT_TOKEN_FIELD).version == 2

    response = client.post(
        url(ada), {**conflict, "given_name": "Adeline", "_etag_lock_overwrite": OVERWRITE_VALUE}
    )

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.given_name, ada.family_name, ada.version) == ("Adeline", "Lovelace", 3)


def test_overwrite_is_checked_again_when_a_third_edit_lands_meanwhile(ada: Customer) -> None:
    client = Client()
    values = inputs(client.get(url(ada)))
    Customer.objects.filter(pk=ada.pk).update(family_name="King")
    conflict = inputs(client.post(url(ada), {**values, "given_name": "Adeline"}))
    Customer.objects.filter(pk=ada.pk).update(email="third@example.com")

    response = client.post(
        url(ada), {**conflict, "given_name": "Adeline", "_etag_lock_overwrite": OVERWRITE_VALUE}
    )

    assert response.status_code == 200
    assert changes_on(response)["email"][:3] == ("theirs", "ada@example.com", "third@example.com")
    ada.refresh_from_db()
    assert (ada.given_name, ada.email, ada.version) == ("Ada", "third@example.com", 3)


def test_new_row_needs_no_token() -> None:
    client = Client()
    page = client.get(reverse("add-customer"))
    assert TOKEN_FIELD not in inputs(page)

    response = client.post(
        reverse("add-customer"), {"given_name": "Zoe", "family_name": "Zed", "email": ""}
    )

    assert response.status_code == 302
    assert Customer.objects.get(customer_id="N1").version == 1


def test_save_without_validating_first_refuses_to_write(ada: Customer) -> None:
    form = CustomerForm({"given_name": "X", "family_name": "Y"}, instance=ada)

    with pytest.raises(VersionFieldError, match="call is_valid"):
        form.save()
    assert Customer.objects.get(pk=ada.pk).given_name == "Ada"


def test_names_that_moved_to_tokens_and_changes_still_import_from_forms() -> None:
    assert VersionToken is tokens.VersionToken
    assert FieldChange is changes.FieldChange
    assert model_value is changes.model_value
    assert same_value is changes.same_value
    assert snapshot_fields is changes.snapshot_fields
