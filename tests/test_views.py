"""Django's own views: VersionedUpdateView, VersionedDeleteView and etag_lock_view."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from customers.models import Customer
from customers.views import CustomerUpdate
from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models.signals import pre_save
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.views.generic.edit import UpdateView

from django_etag_lock.conditional import Preconditions
from django_etag_lock.forms import CURRENT_TOKEN_FIELD, OVERWRITE_VALUE, TOKEN_FIELD
from django_etag_lock.problems import (
    PROBLEM_TYPE_PRECONDITION_FAILED,
    PROBLEM_TYPE_PRECONDITION_REQUIRED,
)
from django_etag_lock.views import VersionedUpdateView, etag_lock_view
from tests.factories import CustomerFactory, ShelfFactory
from tests.testapp.models import PlainBook, Shelf, ShelfItem

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
JSON = "application/json"


@pytest.fixture
def client() -> Client:
    return Client()


def edit_url(customer: Customer) -> str:
    return f"/customers/{customer.pk}/edit/"


def delete_url(customer: Customer) -> str:
    return f"/customers/{customer.pk}/delete/"


def hidden(page: str, name: str) -> str | None:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    return html.unescape(match.group(1)) if match else None


def field_value(page: str, name: str) -> str | None:
    """The value a text input or textarea named ``name`` shows."""
    if match := re.search(rf'<textarea name="{name}"[^>]*>\s*(.*?)</textarea>', page, re.S):
        return html.unescape(match.group(1))
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag:
            value = re.search(r'value="([^"]*)"', tag)
            return html.unescape(value.group(1)) if value else ""
    return None


def form_data(customer: Customer, token: str, **changes: str) -> dict[str, str]:
    data = {
        "given_name": customer.given_name,
        "family_name": customer.family_name,
        "email": customer.email,
        "notes": customer.notes,
        TOKEN_FIELD: token,
    }
    data.update(changes)
    return data


def open_editor(client: Client, customer: Customer) -> str:
    """GET the edit page; the signed version token it carries."""
    page = client.get(edit_url(customer))
    assert page.status_code == 200
    token = hidden(page.content.decode(), TOKEN_FIELD)
    assert token
    return token


def someone_else_saves(customer: Customer, **changes: Any) -> None:
    row = Customer.objects.get(pk=customer.pk)
    for name, value in changes.items():
        setattr(row, name, value)
    row.save()


def stored(obj: Any) -> Any:
    return type(obj)._base_manager.get(pk=obj.pk)


# -- UpdateView: the happy path and bad tokens --------------------------------------------


def test_edit_page_carries_the_signed_version(client):
    customer = CustomerFactory()
    assert open_editor(client, customer)


def test_save_with_a_current_token_writes_and_redirects(client):
    customer = CustomerFactory(notes="")
    token = open_editor(client, customer)
    response = client.post(edit_url(customer), form_data(customer, token, notes="mine"))
    assert response.status_code == 302
    row = stored(customer)
    assert (row.notes, row.version) == ("mine", 2)


@pytest.mark.parametrize("token", ["", "forged:token", None])
def test_save_without_a_genuine_token_saves_nothing_and_says_why(client, token):
    customer = CustomerFactory(notes="keep")
    data = form_data(customer, token or "", notes="mine")
    if token is None:
        del data[TOKEN_FIELD]
    response = client.post(edit_url(customer), data)
    assert response.status_code == 200
    assert "cannot be saved safely" in response.content.decode()
    assert stored(customer).notes == "keep"


# -- UpdateView: a save that lost -----------------------------------------------------------


def test_stale_save_rerenders_with_the_conflict_and_keeps_the_typing(client):
    customer = CustomerFactory(notes="", email="old@example.com")
    token = open_editor(client, customer)
    someone_else_saves(customer, email="theirs@example.com")
    response = client.post(edit_url(customer), form_data(customer, token, notes="mine"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="etag-lock-conflict"' in page
    assert "Nothing was saved" in page
    rows = dict(re.findall(r'data-field="(\w+)">.*?class="etag-lock-status">([^<]*)<', page, re.S))
    assert set(rows) >= {"email", "notes"}
    assert "only by you" in rows["notes"]
    # The form: my typing where I changed something, their value elsewhere.
    assert field_value(page, "notes") == "mine"
    assert field_value(page, "email") == "theirs@example.com"
    assert 'id="etag-lock-overwrite"' in page
    assert 'id="etag-lock-discard"' in page
    row = stored(customer)
    assert (row.notes, row.email, row.version) == ("", "theirs@example.com", 2)


def test_save_over_the_current_version_writes_my_values(client):
    customer = CustomerFactory(notes="")
    token = open_editor(client, customer)
    someone_else_saves(customer, email="theirs@example.com")
    page = client.post(edit_url(customer), form_data(customer, token, notes="mine"))
    body = page.content.decode()
    data = form_data(
        stored(customer),
        hidden(body, TOKEN_FIELD) or "",
        notes=field_value(body, "notes") or "",
        email=field_value(body, "email") or "",
    )
    data[CURRENT_TOKEN_FIELD] = hidden(body, CURRENT_TOKEN_FIELD) or ""
    data["_etag_lock_overwrite"] = OVERWRITE_VALUE
    response = client.post(edit_url(customer), data)
    assert response.status_code == 302
    row = stored(customer)
    assert (row.notes, row.email, row.version) == ("mine", "theirs@example.com", 3)


def test_save_over_is_checked_against_the_version_it_showed(client):
    customer = CustomerFactory(notes="")
    token = open_editor(client, customer)
    someone_else_saves(customer, email="theirs@example.com")
    body = client.post(edit_url(customer), form_data(customer, token, notes="mine"))
    body = body.content.decode()
    someone_else_saves(customer, given_name="Third")
    data = form_data(stored(customer), hidden(body, TOKEN_FIELD) or "", notes="mine")
    data[CURRENT_TOKEN_FIELD] = hidden(body, CURRENT_TOKEN_FIELD) or ""
    data["_etag_lock_overwrite"] = OVERWRITE_VALUE
    response = client.post(edit_url(customer), data)
    assert response.status_code == 200
    assert 'id="etag-lock-conflict"' in response.content.decode()
    assert stored(customer).notes == ""


def test_a_plain_save_after_a_conflict_conflicts_again(client):
    customer = CustomerFactory(notes="")
    token = open_editor(client, customer)
    someone_else_saves(customer, email="theirs@example.com")
    body = client.post(edit_url(customer), form_data(customer, token, notes="mine"))
    again = client.post(
        edit_url(customer),
        form_data(stored(customer), hidden(body.content.decode(), TOKEN_FIELD) or "", notes="x"),
    )
    assert again.status_code == 200
    assert 'id="etag-lock-conflict"' in again.content.decode()
    assert stored(customer).notes == ""


def test_a_row_deleted_meanwhile_answers_410_and_saves_nothing(client):
    customer = CustomerFactory()
    token = open_editor(client, customer)
    data = form_data(customer, token, notes="mine")
    Customer.objects.filter(pk=customer.pk).delete()
    response = client.post(edit_url(customer), data)
    # get_object() runs first: the row is gone before the form is even built.
    assert response.status_code == 404
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_a_row_deleted_between_load_and_save_answers_410(client, monkeypatch):
    customer = CustomerFactory()
    token = open_editor(client, customer)
    original = CustomerUpdate.get_object

    def load_then_lose(self, queryset=None):
        obj = original(self, queryset)
        Customer.objects.filter(pk=obj.pk).delete()
        return obj

    monkeypatch.setattr(CustomerUpdate, "get_object", load_then_lose)
    response = client.post(edit_url(customer), form_data(customer, token, notes="mine"))
    assert response.status_code == 410
    assert "deleted by someone else" in response.content.decode()
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_htmx_gets_the_conflict_as_a_partial(client):
    customer = CustomerFactory(notes="")
    token = open_editor(client, customer)
    someone_else_saves(customer, email="theirs@example.com")
    response = client.post(
        edit_url(customer), form_data(customer, token, notes="mine"), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith("<form")
    assert "<html" not in page
    assert 'id="etag-lock-conflict"' in page
    assert field_value(page, "notes") == "mine"


def test_htmx_get_gets_the_form_partial(client):
    customer = CustomerFactory()
    page = client.get(edit_url(customer), headers={"HX-Request": "true"}).content.decode()
    assert page.lstrip().startswith("<form")
    assert hidden(page, TOKEN_FIELD)


def test_a_lost_save_rolls_back_what_pre_save_receivers_wrote(client):
    shelf = ShelfFactory(name="keep")
    page = client.get(f"/t/shelf-edit/{shelf.pk}/").content.decode()
    token = hidden(page, TOKEN_FIELD)
    Shelf.objects.filter(pk=shelf.pk).update(name="theirs")

    def add_item(sender, instance, **kwargs):
        ShelfItem.objects.create(shelf=instance, label="side effect")

    pre_save.connect(add_item, sender=Shelf)
    try:
        response = client.post(f"/t/shelf-edit/{shelf.pk}/", {"name": "mine", TOKEN_FIELD: token})
    finally:
        pre_save.disconnect(add_item, sender=Shelf)
    assert response.status_code == 200
    assert not ShelfItem.objects.filter(shelf=shelf).exists()
    assert stored(shelf).name == "theirs"


# -- UpdateView: configuration errors ------------------------------------------------------


def test_a_form_class_without_the_version_is_refused_naming_the_fix():
    class Plain(forms.ModelForm):  # type: ignore[type-arg]
        class Meta:
            model = Customer
            fields = ["notes"]

    class View(VersionedUpdateView):
        model = Customer
        form_class = Plain

    view = View()
    with pytest.raises(ImproperlyConfigured, match="VersionedModelForm"):
        view.get_form_class()


def test_without_the_admin_app_the_first_request_says_what_to_install(client, monkeypatch):
    from django.apps import apps

    installed = apps.is_installed
    monkeypatch.setattr(
        apps, "is_installed", lambda name: name != "django.contrib.admin" and installed(name)
    )
    customer = CustomerFactory()
    with pytest.raises(ImproperlyConfigured, match=r"'django\.contrib\.admin'"):
        client.get(edit_url(customer))


def test_an_unversioned_model_is_refused_naming_the_fix():
    class View(VersionedUpdateView):
        model = PlainBook
        fields = ["title"]

    with pytest.raises(
        ImproperlyConfigured, match=r"not a django_etag_lock\.models\.VersionedModel"
    ):
        View().get_form_class()


# -- DeleteView ---------------------------------------------------------------------------


def open_delete(client: Client, customer: Customer) -> str:
    page = client.get(delete_url(customer))
    assert page.status_code == 200
    token = hidden(page.content.decode(), TOKEN_FIELD)
    assert token
    return token


def test_delete_with_the_version_it_showed_deletes(client):
    customer = CustomerFactory()
    token = open_delete(client, customer)
    response = client.post(delete_url(customer), {TOKEN_FIELD: token})
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_delete_without_a_token_deletes_nothing_and_says_why(client):
    customer = CustomerFactory()
    response = client.post(delete_url(customer), {})
    assert response.status_code == 200
    assert "nothing was deleted" in response.content.decode()
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_stale_delete_deletes_nothing_and_confirms_the_current_version(client):
    customer = CustomerFactory(notes="")
    token = open_delete(client, customer)
    someone_else_saves(customer, notes="theirs")
    response = client.post(delete_url(customer), {TOKEN_FIELD: token})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="etag-lock-conflict"' in page
    assert "Nothing was deleted" in page
    assert 'data-field="notes"' in page
    assert Customer.objects.filter(pk=customer.pk).exists()
    current = hidden(page, TOKEN_FIELD)
    assert current
    assert current != token
    assert client.post(delete_url(customer), {TOKEN_FIELD: current}).status_code == 302
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_htmx_delete_conflict_is_a_partial(client):
    customer = CustomerFactory()
    token = open_delete(client, customer)
    someone_else_saves(customer, notes="theirs")
    response = client.post(
        delete_url(customer), {TOKEN_FIELD: token}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert page.lstrip().startswith("<form")
    assert 'id="etag-lock-conflict"' in page


# -- function-based JSON views -------------------------------------------------------------


def json_url(customer: Customer) -> str:
    return f"/json/customers/{customer.pk}"


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    data: dict[str, Any] = json.loads(response.content)
    assert data["status"] == response.status_code
    return data


def patch(client: Client, target: str, body: Any, **headers: str) -> Any:
    return client.patch(target, json.dumps(body), content_type=JSON, headers=headers)


def test_json_view_get_sends_the_validators_and_answers_304(client):
    customer = CustomerFactory()
    response = client.get(json_url(customer))
    assert response["ETag"] == '"1"'
    assert response["Cache-Control"] == "private, no-cache"
    assert "Last-Modified" in response
    not_modified = client.get(json_url(customer), headers={"If-None-Match": '"1"'})
    assert not_modified.status_code == 304
    assert not_modified["ETag"] == '"1"'


def test_json_view_writes_need_a_current_if_match(client):
    customer = CustomerFactory(notes="")
    missing = patch(client, json_url(customer), {"notes": "a"})
    assert missing.status_code == 428
    assert problem(missing)["type"] == PROBLEM_TYPE_PRECONDITION_REQUIRED
    written = patch(client, json_url(customer), {"notes": "a"}, **{"If-Match": '"1"'})
    assert (written.status_code, written["ETag"]) == (200, '"2"')
    stale = patch(client, json_url(customer), {"notes": "b"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    assert problem(stale)["type"] == PROBLEM_TYPE_PRECONDITION_FAILED
    assert problem(stale)["current_etag"] == '"2"'
    malformed = patch(client, json_url(customer), {"notes": "b"}, **{"If-Match": "2"})
    assert malformed.status_code == 400
    assert stored(customer).notes == "a"
    assert client.delete(json_url(customer), headers={"If-Match": '"2"'}).status_code == 204


def test_json_view_unknown_row_is_a_json_404(client):
    response = client.get("/json/customers/999999", headers={"If-Match": '"1"'})
    assert response.status_code == 404
    assert json.loads(response.content) == {"detail": "No Customer matches the given query."}


@pytest.fixture
def lose_race(monkeypatch):
    original = Preconditions.evaluate

    def evaluate_then_lose(self, request, instance):
        decision = original(self, request, instance)
        if instance is not None:
            type(instance).objects.filter(pk=instance.pk).update()
        return decision

    monkeypatch.setattr(Preconditions, "evaluate", evaluate_then_lose)


def test_json_view_race_lost_after_the_check_is_412_and_rolls_back(client, lose_race):
    shelf = ShelfFactory(name="keep")
    response = patch(client, f"/t/shelf-json/{shelf.pk}", {"name": "mine"}, **{"If-Match": '"1"'})
    assert response.status_code == 412
    assert problem(response)["reason"] == "concurrent-write"
    assert response["ETag"] == '"2"'
    assert not ShelfItem.objects.filter(shelf=shelf).exists()
    assert stored(shelf).name == "keep"


def test_json_view_update_if_version_race_is_412(client, lose_race):
    customer = CustomerFactory(notes="keep")
    response = patch(client, json_url(customer), {"notes": "mine"}, **{"If-Match": '"1"'})
    assert response.status_code == 412
    assert problem(response)["reason"] == "concurrent-write"
    assert stored(customer).notes == "keep"


@pytest.mark.parametrize(("headers", "status"), [({}, 428), ({"If-Match": '"9"'}, 412)])
def test_json_view_problem_bodies_equal_the_drf_doors(client, headers, status):
    customer = CustomerFactory()
    ours = patch(client, json_url(customer), {"notes": "n"}, **headers)
    drf = patch(client, f"/api/customers/{customer.pk}/", {"notes": "n"}, **headers)
    assert ours.status_code == drf.status_code == status
    strip = lambda body: {k: v for k, v in body.items() if k != "instance"}  # noqa: E731
    assert strip(problem(ours)) == strip(problem(drf))


def test_json_view_on_an_unversioned_model_is_refused():
    with pytest.raises(ImproperlyConfigured, match="PlainBook"):
        etag_lock_view(PlainBook)


def test_json_view_without_the_url_kwarg_says_how_to_fix_it():
    @etag_lock_view(Shelf, url_kwarg="shelf_id")
    def view(request, shelf):
        raise AssertionError("not reached")

    with pytest.raises(ImproperlyConfigured, match="passes no 'shelf_id'"):
        view(RequestFactory().get("/"), pk=1)


# -- query counts against plain Django ------------------------------------------------------

_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _count(call: Any) -> tuple[int, list[str], Any]:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    sql = [q["sql"].strip() for q in ctx.captured_queries]
    control = [s.split(" ")[0] for s in sql if s.upper().startswith(_CONTROL)]
    return len(sql) - len(control), control, response


@pytest.mark.django_db(transaction=True)
def test_update_view_costs_the_queries_of_djangos_own(client):
    ours, plain = CustomerFactory(), CustomerFactory()
    page_n, _, page = _count(lambda: client.get(edit_url(ours)))
    plain_page_n, _, _ = _count(lambda: client.get(f"/t/plain-edit/{plain.pk}/"))
    assert page_n == plain_page_n
    token = hidden(page.content.decode(), TOKEN_FIELD) or ""
    save_n, save_control, saved = _count(
        lambda: client.post(edit_url(ours), form_data(ours, token, notes="n"))
    )
    plain_n, plain_control, plain_saved = _count(
        lambda: client.post(f"/t/plain-edit/{plain.pk}/", form_data(plain, "", notes="n"))
    )
    assert (saved.status_code, plain_saved.status_code) == (302, 302)
    assert save_n == plain_n
    assert sorted(save_control) == sorted([*plain_control, "BEGIN", "COMMIT"])


@pytest.mark.django_db(transaction=True)
def test_json_view_costs_the_queries_of_a_plain_view(client):
    ours, plain = CustomerFactory(), CustomerFactory()
    read_n, _, _ = _count(lambda: client.get(json_url(ours)))
    plain_read_n, _, _ = _count(lambda: client.get(f"/t/plain-json/{plain.pk}"))
    assert read_n == plain_read_n
    write_n, _, written = _count(
        lambda: patch(client, json_url(ours), {"notes": "n"}, **{"If-Match": '"1"'})
    )
    plain_write_n, _, _ = _count(lambda: patch(client, f"/t/plain-json/{plain.pk}", {"notes": "n"}))
    assert written.status_code == 200
    assert write_n == plain_write_n


def test_update_view_is_djangos_update_view():
    assert issubclass(VersionedUpdateView, UpdateView)
