"""Pins of the private and undocumented Django admin API the admin integration uses
(the ``# --- admin ---`` section of django_etag_lock/compat.py), on every Django line.

A failure here means a Django release changed something the admin integration relies
on: fix the compat entry, not the callers.
"""

from __future__ import annotations

import inspect
import json
import re

import pytest
from customers.models import Customer
from django import forms
from django.contrib import admin
from django.contrib.admin import utils as admin_utils
from django.contrib.admin.helpers import AdminForm
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User
from django.db import models
from django.test import RequestFactory
from django.utils.safestring import SafeString

from django_etag_lock import compat
from django_etag_lock.admin import VersionedAdminMixin
from django_etag_lock.admin.list_editable import VersionedChangelistFormSet
from django_etag_lock.forms import TOKEN_FIELD
from tests.admin.helpers import (
    changelist_url,
    client_for,
    delete_url,
    edit_rows,
    form_values,
    messages_of,
    select,
)
from tests.factories import CustomerFactory
from tests.testapp.models import Book

pytestmark = pytest.mark.urls("tests.admin.urls")


class CustomerForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Customer
        fields = ["given_name", "family_name"]


@pytest.mark.parametrize(
    ("name", "parameters"), sorted(compat.ADMIN_UNDOCUMENTED_OVERRIDES.items())
)
def test_overridden_undocumented_model_admin_methods_keep_their_parameters(
    name: str, parameters: tuple[str, ...]
) -> None:
    signature = inspect.signature(getattr(admin.ModelAdmin, name))
    names = tuple(signature.parameters)

    if name == "response_action":  # the override passes further parameters on
        assert names[: len(parameters)] == parameters
        assert all(signature.parameters[p].default is not signature.empty for p in names[3:])
    else:
        assert names == parameters


def test_mixin_overrides_exactly_the_listed_undocumented_methods() -> None:
    overridden = {
        name
        for klass in VersionedAdminMixin.__mro__
        if klass.__module__.startswith("django_etag_lock.admin")
        for name in vars(klass)
        if callable(getattr(admin.ModelAdmin, name, None))
    }
    documented = {
        "changeform_view",
        "changelist_view",
        "check",
        "delete_model",
        "delete_queryset",
        "delete_view",
        "get_changelist_form",
        "get_changelist_formset",
        "get_form",
        "get_queryset",
    }
    assert overridden == documented | set(compat.ADMIN_UNDOCUMENTED_OVERRIDES)


@pytest.mark.django_db
def test_delete_confirmation_contains_the_anchor_input_once() -> None:
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    customer = CustomerFactory()

    page = client_for(user).get(delete_url(customer)).content.decode()

    assert page.count(compat.DELETE_CONFIRMATION_ANCHOR) == 1


@pytest.mark.django_db
def test_delete_selected_confirmation_writes_one_selected_input_per_row() -> None:
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    customers = [CustomerFactory(), CustomerFactory()]
    client = client_for(user)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")

    page = client.post(changelist_url(Customer), select(values, "delete_selected", *customers))

    found = compat.selected_action_input().findall(page.content.decode())
    assert sorted(found) == sorted(
        f'<input type="hidden" name="_selected_action" value="{c.pk}">' for c in customers
    )


def test_flatten_fieldsets_lists_every_field_of_every_fieldset() -> None:
    fieldsets = [(None, {"fields": ["a", ("b", "c")]}), ("More", {"fields": ["d"]})]

    assert compat.flatten_fieldsets(fieldsets) == ["a", "b", "c", "d"]


def test_unquote_reverses_the_admin_url_quoting_of_a_pk() -> None:
    assert compat.unquote(quote("a/b_c:d")) == "a/b_c:d"


def test_display_for_field_displays_as_the_changelist_without_links() -> None:
    parameters = inspect.signature(admin_utils.display_for_field).parameters
    assert list(parameters) == ["value", "field", "empty_value_display", "avoid_link"]

    boolean = compat.display_for_field(True, models.BooleanField(), "-")

    assert isinstance(boolean, SafeString)
    assert "icon-yes" in boolean
    assert compat.display_for_field(None, Book._meta.get_field("title"), "(none)") == "(none)"
    author = models.ForeignKey(User, on_delete=models.CASCADE)
    assert "<a" not in str(compat.display_for_field(User(pk=1, username="u"), author, "-"))


def test_add_hidden_fieldset_makes_admin_form_render_the_field() -> None:
    form = CustomerForm()
    form.fields[TOKEN_FIELD] = forms.CharField(widget=forms.HiddenInput, required=False)
    adminform = AdminForm(form, [(None, {"fields": ["given_name"]})], {})

    compat.add_hidden_fieldset(adminform, TOKEN_FIELD)

    rendered = [
        (fieldset.classes, [field.field.name for line in fieldset for field in line])
        for fieldset in adminform
    ]
    assert rendered == [("", ["given_name"]), ("hidden", [TOKEN_FIELD])]


@pytest.mark.django_db
def test_changed_field_labels_read_the_change_message_django_writes() -> None:
    customer = CustomerFactory(given_name="Ada")
    form = CustomerForm(
        {"given_name": "Adeline", "family_name": customer.family_name}, instance=customer
    )
    assert form.is_valid()
    request = RequestFactory().post("/")
    message = admin.ModelAdmin(Customer, admin.site).construct_change_message(request, form, [])

    entry = LogEntry(change_message=json.dumps(message))

    assert compat.changed_field_labels(entry) == ["Given name"]
    assert compat.changed_field_labels(LogEntry(change_message="not json")) == []


def test_render_with_renders_the_companion_after_the_widget_and_leaves_the_original() -> None:
    form = CustomerForm(initial={"given_name": "Ada"})
    widget = forms.HiddenInput()

    clone = compat.render_with(widget, form["family_name"])

    rendered = clone.render("form-0-id", "7")
    assert rendered.startswith('<input type="hidden" name="form-0-id" value="7"')
    assert rendered.endswith(str(form["family_name"]))
    assert isinstance(clone, forms.HiddenInput)
    assert type(clone) is type(compat.render_with(forms.HiddenInput(), form["given_name"]))
    assert type(widget) is forms.HiddenInput
    assert widget.render("x", "1") == '<input type="hidden" name="x" value="1">'


@pytest.mark.django_db
def test_changelist_renders_each_row_token_once_beside_the_pk() -> None:
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    customers = [CustomerFactory(), CustomerFactory()]

    page = client_for(user).get(changelist_url(Customer, "actions")).content.decode()

    tokens = re.findall(rf'<input type="hidden" name="form-(\d+)-{TOKEN_FIELD}"', page)
    assert sorted(tokens) == [str(i) for i in range(len(customers))]
    for i in range(len(customers)):
        pk_then_token = (
            rf'name="form-{i}-id"[^>]*><input type="hidden" name="form-{i}-{TOKEN_FIELD}"'
        )
        assert re.search(pk_then_token, page)


class _NothingChanged(VersionedChangelistFormSet):
    def etag_lock_leave_stale_alone(self) -> None:
        for form in self.forms:
            form.etag_lock_left_alone = True


@pytest.mark.django_db
def test_changelist_view_saves_only_the_forms_that_report_a_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # list_editable relies on Django's changelist_view() validating the formset and
    # then saving only forms whose has_changed() is true.
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    customer = CustomerFactory(customer_id="C0", email="ada@example.com")
    client = client_for(user)
    values = form_values(client.get(changelist_url(Customer, "actions")), "changelist-form")
    monkeypatch.setattr(
        VersionedChangelistFormSet,
        "etag_lock_leave_stale_alone",
        _NothingChanged.etag_lock_leave_stale_alone,
    )

    response = client.post(
        changelist_url(Customer, "actions"), edit_rows(values, C0="new@example.com")
    )

    assert response.status_code == 302
    assert messages_of(response) == []
    customer.refresh_from_db()
    assert (customer.email, customer.version) == ("ada@example.com", 1)
