"""The admin integration, through Django's test client (browser tests: test_admin_browser.py).

Two admins ("alice" and "bob") edit the same rows; every test checks both what the
page says and what the database holds.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import django
import pytest
from customers.models import Customer
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, connections
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse

from django_etag_lock.admin import SEEN_FIELD, VersionedAdminMixin, VersionedModelAdmin
from django_etag_lock.forms import (
    CURRENT_TOKEN_FIELD,
    OVERWRITE_VALUE,
    TOKEN_FIELD,
    VersionToken,
)
from tests.factories import BookFactory, CustomerFactory, RestaurantFactory, ShelfFactory
from tests.testapp.models import Book, PlainBook, Restaurant, Shelf, ShelfItem
from tests.utils import needs_server_db

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_admin")]

# ------------------------------------------------------------- admin sites


class OwnBaseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A project's own ModelAdmin base, which the mixin goes in front of."""

    list_per_page = 50
    fields = ["title", "pages"]


class OverriddenFieldsetsAdmin(VersionedModelAdmin):
    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [("Only the title", {"fields": ["title"]})]  # no super(): our field is absent


BOOK_ADMINS: dict[str, type[admin.ModelAdmin]] = {  # type: ignore[type-arg]
    "plain": VersionedModelAdmin,
    "fields": type("FieldsAdmin", (VersionedModelAdmin,), {"fields": ["title"]}),
    "fieldsets": type(
        "FieldsetsAdmin",
        (VersionedModelAdmin,),
        {
            "fieldsets": [
                ("Numbers", {"fields": ["pages"]}),
                ("Text", {"fields": ["title"], "classes": ["collapse"]}),
            ]
        },
    ),
    "exclude": type("ExcludeAdmin", (VersionedModelAdmin,), {"exclude": ["pages"]}),
    "readonly": type(
        "ReadonlyAdmin",
        (VersionedModelAdmin,),
        {"fields": ["title", "pages"], "readonly_fields": ["pages"]},
    ),
    "overridden": OverriddenFieldsetsAdmin,
    "ownbase": type("OwnBaseVersionedAdmin", (VersionedAdminMixin, OwnBaseAdmin), {}),
}


class ShelfItemInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ShelfItem
    extra = 1


class ShelfAdmin(VersionedModelAdmin):
    inlines = [ShelfItemInline]


class LimitedCustomerAdmin(VersionedModelAdmin):
    """Staff see three fields, and may not edit the email."""

    fields = ["given_name", "family_name", "email"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if request.user.is_superuser else ["email"]


@admin.action(description="Mark notes")
def mark_notes(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    for customer in queryset:
        customer.notes = "marked"
        customer.save()


class ActionCustomerAdmin(VersionedModelAdmin):
    list_display = ["customer_id", "given_name", "email"]
    list_editable = ["email"]
    list_per_page = 2
    actions = [mark_notes]


class AllOrNothingCustomerAdmin(VersionedModelAdmin):
    list_display = ["customer_id", "email"]
    list_editable = ["email"]
    list_editable_all_or_nothing = True


class PartialCustomerAdmin(AllOrNothingCustomerAdmin):
    list_editable_all_or_nothing = False


class RacyCustomerAdmin(VersionedModelAdmin):
    """Someone saves the first selected row after the selection check, before the delete."""

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        if request.POST.get("post"):
            first = Customer.objects.get(pk=request.POST.getlist("_selected_action")[0])
            first.notes = "changed at the last moment"
            first.save()
        return super().get_deleted_objects(objs, request)


CHANGE_FORM_ACTIONS = django.VERSION >= (6, 1)
if CHANGE_FORM_ACTIONS:  # Django 6.1 added actions on the change form.
    mark_notes_anywhere = admin.action(
        mark_notes,
        description="Mark notes",
        location=[admin.ActionLocation.CHANGE_FORM, admin.ActionLocation.CHANGE_LIST],
    )
    ChangeFormActionAdmin: type[VersionedModelAdmin] = type(
        "ChangeFormActionAdmin", (VersionedModelAdmin,), {"actions": [mark_notes_anywhere]}
    )
else:
    ChangeFormActionAdmin = VersionedModelAdmin


RACE: list[Callable[[Any], None]] = []


class RaceCustomerAdmin(VersionedModelAdmin):
    """Runs RACE's writer, in another thread and connection, right before saving."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        for writer in RACE:
            thread = threading.Thread(target=_in_own_connection, args=(writer, obj.pk))
            thread.start()
            thread.join()
        super().save_model(request, obj, form, change)


def _in_own_connection(writer: Callable[[Any], None], pk: Any) -> None:
    try:
        writer(pk)
    finally:
        connections.close_all()


def _site(name: str, registrations: dict[type, type]) -> admin.AdminSite:
    site = admin.AdminSite(name=name)
    for model, model_admin in registrations.items():
        site.register(model, model_admin)
    return site


SITES = {
    **{f"book-{name}": _site(f"book-{name}", {Book: cls}) for name, cls in BOOK_ADMINS.items()},
    "shelf": _site("shelf", {Shelf: ShelfAdmin, Restaurant: VersionedModelAdmin}),
    "limited": _site("limited", {Customer: LimitedCustomerAdmin}),
    "actions": _site("actions", {Customer: ActionCustomerAdmin}),
    "allornothing": _site("allornothing", {Customer: AllOrNothingCustomerAdmin}),
    "partial": _site("partial", {Customer: PartialCustomerAdmin}),
    "racy": _site("racy", {Customer: RacyCustomerAdmin}),
    "formactions": _site("formactions", {Customer: ChangeFormActionAdmin}),
    "race": _site("race", {Customer: RaceCustomerAdmin}),
}

urlpatterns = [
    path("admin/", admin.site.urls),
    *(path(f"{name}/", site.urls) for name, site in SITES.items()),
]

# ------------------------------------------------------------------ helpers


class _FormValues(HTMLParser):
    """What a browser would submit from one form: inputs, textareas, selects."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.values.setdefault(name, []).append(a.get("value", default))
        elif tag == "textarea" and name:
            self._textarea = name
            self.values.setdefault(name, []).append("")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values.setdefault(self._select, []).append(a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.values[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            if self._textarea is not None:
                # Browsers drop the newline right after <textarea>.
                value = self.values[self._textarea][-1]
                self.values[self._textarea][-1] = value.removeprefix("\n")
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_values(response: HttpResponse, form_id: str | None = None) -> dict[str, list[str]]:
    """The values the page's form would submit (the change form, or the first POST form)."""
    html = response.content.decode()
    if form_id is not None:
        start = html.rindex("<form", 0, html.index(f'id="{form_id}"'))
    else:
        start = html.index('<div id="content"')
        start = html.index("<form", start)
    end = html.index("</form>", start)
    parser = _FormValues()
    parser.feed(html[start:end])
    parser.values.pop("csrfmiddlewaretoken", None)
    return parser.values


def with_values(values: dict[str, list[str]], **changes: str) -> dict[str, list[str]]:
    return {**values, **{name: [value] for name, value in changes.items()}}


def messages_of(response: HttpResponse) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def token_of(values: dict[str, list[str]], model: type = Customer) -> VersionToken:
    token = VersionToken.load(values[TOKEN_FIELD][0], model)
    assert token is not None
    return token


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice() -> User:
    return User.objects.create_superuser("alice", "alice@example.com", "pw")


@pytest.fixture
def bob() -> User:
    return User.objects.create_superuser("bob", "bob@example.com", "pw")


def staff_with(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def ada() -> Customer:
    return CustomerFactory(
        customer_id="A375",
        given_name="Ada",
        family_name="Lovelace",
        email="ada@example.com",
        notes="Prefers email.",
    )


def change_url(obj: Any, site: str = "admin") -> str:
    return reverse(f"{site}:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def delete_url(obj: Any, site: str = "admin") -> str:
    return reverse(f"{site}:{obj._meta.app_label}_{obj._meta.model_name}_delete", args=[obj.pk])


def changelist_url(model: type, site: str = "admin") -> str:
    return reverse(f"{site}:{model._meta.app_label}_{model._meta.model_name}_changelist")


def conflict_rows(response: HttpResponse) -> dict[str, tuple[str, str, str, str]]:
    """``{field: (started, now, mine, status class)}`` from the conflict table."""
    html = response.content.decode()
    rows = {}
    for match in re.finditer(
        r'<tr class="etag-lock-(\w+)" data-field="(\w+)">(.*?)</tr>', html, re.DOTALL
    ):
        cells = dict(
            re.findall(r'<td class="etag-lock-(\w+)">(.*?)</td>', match.group(3), re.DOTALL)
        )
        rows[match.group(2)] = (
            cells.get("started", ""),
            cells.get("current", ""),
            cells.get("mine", ""),
            match.group(1),
        )
    return rows


def who_changed(response: HttpResponse) -> dict[str, str]:
    """``{field: text}`` of the conflict table's last column."""
    html = response.content.decode()
    return {
        name: text.strip()
        for name, text in re.findall(
            r'data-field="(\w+)">.*?<td class="etag-lock-status">(.*?)</td>', html, re.DOTALL
        )
    }


def headline(response: HttpResponse) -> str:
    match = re.search(r'id="etag-lock-headline">(.*?)</li>', response.content.decode(), re.DOTALL)
    assert match is not None, "no conflict warning on the page"
    return match.group(1)


@pytest.fixture
def conflict(alice: User, bob: User, ada: Customer) -> dict[str, Any]:
    """Both open A375; alice saves first name + family name; bob then saves first name + email."""
    url = change_url(ada)
    as_alice, as_bob = client_for(alice), client_for(bob)
    alice_form = form_values(as_alice.get(url), "customer_form")
    bob_form = form_values(as_bob.get(url), "customer_form")
    saved = as_alice.post(url, with_values(alice_form, given_name="Adeline", family_name="King"))
    assert saved.status_code == 302
    response = as_bob.post(
        url, with_values(bob_form, given_name="Augusta", email="aug@example.com")
    )
    return {"url": url, "bob": as_bob, "alice": as_alice, "response": response, "started": bob_form}


# -------------------------------------------------------------- change form


@pytest.mark.parametrize("variant", sorted(BOOK_ADMINS))
def test_change_form_carries_the_signed_version_whatever_fields_and_fieldsets_say(
    variant: str, alice: User
) -> None:
    book = BookFactory(title="Dune", pages=412)
    site = f"book-{variant}"
    client = client_for(alice)
    values = form_values(client.get(change_url(book, site)), "book_form")
    assert token_of(values, Book).version == 1
    Book.objects.filter(pk=book.pk).update(title="Dune Messiah")  # someone else, version 2

    response = client.post(change_url(book, site), with_values(values, title="Children of Dune"))

    assert response.status_code == 200
    assert "after you opened it" in headline(response)
    book.refresh_from_db()
    assert (book.title, book.version) == ("Dune Messiah", 2)


def test_fresh_save_writes_bumps_the_version_and_logs(alice: User, ada: Customer) -> None:
    client = client_for(alice)
    values = form_values(client.get(change_url(ada)), "customer_form")

    response = client.post(change_url(ada), with_values(values, given_name="Adeline"))

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Adeline", 2)
    entry = LogEntry.objects.get(object_id=str(ada.pk))
    assert "Given name" in entry.get_change_message()


def test_stale_save_writes_nothing_and_names_who_changed_it_and_when(
    conflict: dict[str, Any], ada: Customer
) -> None:
    response = conflict["response"]

    assert response.status_code == 200
    text = headline(response)
    assert "changed by alice after you opened it" in text
    assert "last change:" in text
    assert "Nothing was saved" in text
    ada.refresh_from_db()
    assert (ada.given_name, ada.family_name, ada.email, ada.version) == (
        "Adeline",
        "King",
        "ada@example.com",
        2,
    )
    assert LogEntry.objects.filter(user__username="bob").count() == 0


def test_conflict_table_shows_started_saved_and_mine_with_who_changed_what(
    conflict: dict[str, Any],
) -> None:
    rows = conflict_rows(conflict["response"])

    assert rows["given_name"] == ("Ada", "Adeline", "Augusta", "both")
    assert rows["family_name"] == ("Lovelace", "King", "Lovelace", "theirs")
    assert rows["email"] == ("ada@example.com", "ada@example.com", "aug@example.com", "mine")
    assert rows["updated_at"][2:] == ("(read-only)", "theirs")
    assert "notes" not in rows
    assert "customer_id" not in rows
    texts = who_changed(conflict["response"])
    assert texts["family_name"] == "Changed only by alice: the form now shows their value."
    assert texts["given_name"] == "Changed by you and by alice: the form keeps your value."
    assert texts["email"] == "Changed only by you: your value is in the form."
    assert texts["updated_at"] == "Changed by alice."  # read-only; every write since is logged


def test_conflict_form_keeps_my_values_and_shows_theirs_where_only_they_changed(
    conflict: dict[str, Any],
) -> None:
    values = form_values(conflict["response"], "customer_form")

    assert values["given_name"] == ["Augusta"]
    assert values["email"] == ["aug@example.com"]
    assert values["family_name"] == ["King"]
    assert values["notes"] == ["Prefers email."]
    # A plain Save still names the version bob started from.
    assert token_of(values).version == 1
    assert token_of({TOKEN_FIELD: values[CURRENT_TOKEN_FIELD]}).version == 2


def test_save_over_the_current_version_writes_my_values_and_keeps_their_other_change(
    conflict: dict[str, Any], ada: Customer
) -> None:
    values = form_values(conflict["response"], "customer_form")

    response = conflict["bob"].post(conflict["url"], {**values, "_continue": OVERWRITE_VALUE})

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.given_name, ada.family_name, ada.email, ada.version) == (
        "Augusta",
        "King",
        "aug@example.com",
        3,
    )


def test_save_over_is_checked_again_when_a_third_edit_lands_meanwhile(
    conflict: dict[str, Any], ada: Customer
) -> None:
    values = form_values(conflict["response"], "customer_form")
    ada.refresh_from_db()
    ada.given_name = "Augusta Ada"
    ada.save()  # a third edit, version 3

    response = conflict["bob"].post(conflict["url"], {**values, "_continue": OVERWRITE_VALUE})

    assert response.status_code == 200
    assert conflict_rows(response)["given_name"] == ("Adeline", "Augusta Ada", "Augusta", "both")
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Augusta Ada", 3)


def test_plain_save_after_a_conflict_conflicts_again(
    conflict: dict[str, Any], ada: Customer
) -> None:
    values = form_values(conflict["response"], "customer_form")

    response = conflict["bob"].post(conflict["url"], {**values, "_save": "Save"})

    assert response.status_code == 200
    assert "Nothing was saved" in headline(response)
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Adeline", 2)


def test_discard_loads_the_current_version(conflict: dict[str, Any]) -> None:
    html = conflict["response"].content.decode()
    link = re.search(r'<a href="([^"]+)" class="button" id="etag-lock-discard">', html)
    assert link is not None
    assert link.group(1) == conflict["url"]

    values = form_values(conflict["bob"].get(link.group(1)), "customer_form")

    assert (values["given_name"], values["email"]) == (["Adeline"], ["ada@example.com"])
    assert token_of(values).version == 2


def test_enter_key_default_is_a_plain_save_not_the_overwrite(conflict: dict[str, Any]) -> None:
    html = conflict["response"].content.decode()
    form = html[html.index('id="customer_form"') :]
    first_button = re.search(r"<button[^>]*>", form)
    assert first_button is not None
    assert 'name="_save"' in first_button.group(0)


def test_change_made_outside_the_admin_is_dated_from_the_auto_now_field(
    alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    values = form_values(client.get(change_url(ada)), "customer_form")
    ada.notes = "Called on Monday."
    ada.save()

    response = client.post(change_url(ada), with_values(values, given_name="Adeline"))

    assert "was changed at" in headline(response)
    assert "changed by" not in headline(response)
    assert conflict_rows(response)["notes"][:2] == ("Prefers email.", "Called on Monday.")


def test_admin_change_plus_a_change_outside_the_admin_says_both(
    conflict: dict[str, Any], ada: Customer
) -> None:
    values = form_values(conflict["response"], "customer_form")
    ada.refresh_from_db()
    ada.notes = "Imported."
    ada.save()

    response = conflict["bob"].post(conflict["url"], {**values, "_save": "Save"})

    assert "changed by alice" in headline(response)
    assert "also changed outside the admin" in headline(response)
    texts = who_changed(response)
    assert texts["notes"].startswith("Changed only by someone else:")
    assert texts["family_name"] == "You and alice made the same change."  # the form took it


def test_change_without_log_or_timestamp_says_only_that_someone_changed_it(alice: User) -> None:
    shelf = ShelfFactory(name="Fiction")
    client = client_for(alice)
    values = form_values(client.get(change_url(shelf, "shelf")), "shelf_form")
    Shelf.objects.filter(pk=shelf.pk).update(name="Novels")

    response = client.post(change_url(shelf, "shelf"), with_values(values, name="Stories"))

    assert "was changed by someone else after you opened it" in headline(response)
    assert conflict_rows(response)["name"] == ("Fiction", "Novels", "Stories", "both")


def test_same_user_in_another_window_is_named_as_such(alice: User, ada: Customer) -> None:
    first, second = client_for(alice), client_for(alice)
    values = form_values(first.get(change_url(ada)), "customer_form")
    other = form_values(second.get(change_url(ada)), "customer_form")
    second.post(change_url(ada), with_values(other, email="new@example.com"))

    response = first.post(change_url(ada), with_values(values, given_name="Adeline"))

    assert "changed by you (in another window)" in headline(response)


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not-a-token",
        "forged",
        "other-row",
    ],
)
def test_missing_forged_or_foreign_version_is_a_form_error_and_writes_nothing(
    token: str | None, alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    values = form_values(client.get(change_url(ada)), "customer_form")
    if token is None:
        del values[TOKEN_FIELD]
    elif token == "forged":
        genuine = values[TOKEN_FIELD][0]
        values[TOKEN_FIELD] = [genuine[:-3] + ("AAA" if genuine[-3:] != "AAA" else "BBB")]
    elif token == "other-row":
        grace = CustomerFactory(customer_id="B112", given_name="Grace")
        values[TOKEN_FIELD] = form_values(client.get(change_url(grace)), "customer_form")[
            TOKEN_FIELD
        ]
    else:
        values[TOKEN_FIELD] = [token]

    response = client.post(change_url(ada), with_values(values, given_name="Adeline"))

    assert response.status_code == 200
    assert "does not say which version of the customer you started from" in (
        response.content.decode()
    )
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Ada", 1)


def test_stale_parent_writes_no_inline_rows_and_keeps_the_inline_input(alice: User) -> None:
    shelf = ShelfFactory(name="Fiction")
    client = client_for(alice)
    values = form_values(client.get(change_url(shelf, "shelf")), "shelf_form")
    Shelf.objects.filter(pk=shelf.pk).update(name="Novels")
    values["items-0-label"] = ["Dune"]

    response = client.post(change_url(shelf, "shelf"), values)

    assert response.status_code == 200
    assert ShelfItem.objects.count() == 0
    assert form_values(response, "shelf_form")["items-0-label"] == ["Dune"]
    shelf.refresh_from_db()
    assert (shelf.name, shelf.version) == ("Novels", 2)


def test_stale_multi_table_child_writes_nothing_in_either_table(alice: User) -> None:
    place = RestaurantFactory(name="Chez Ada", serves="soup")
    client = client_for(alice)
    values = form_values(client.get(change_url(place, "shelf")), "restaurant_form")
    Restaurant.objects.filter(pk=place.pk).update(serves="stew")

    response = client.post(
        change_url(place, "shelf"), with_values(values, name="Chez Bob", serves="pie")
    )

    assert response.status_code == 200
    assert conflict_rows(response)["serves"] == ("soup", "stew", "pie", "both")
    place.refresh_from_db()
    assert (place.name, place.serves, place.version) == ("Chez Ada", "stew", 2)


def test_row_deleted_before_the_post_redirects_and_is_not_reinserted(
    alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    values = form_values(client.get(change_url(ada)), "customer_form")
    Customer.objects.get(pk=ada.pk).delete()

    response = client.post(change_url(ada), with_values(values, given_name="Adeline"))

    assert response.status_code == 302
    assert "doesn\u2019t exist" in messages_of(response)[0]
    assert not Customer.objects.exists()


@pytest.fixture
def race() -> Iterator[list[Callable[[Any], None]]]:
    yield RACE
    RACE.clear()


@needs_server_db
@pytest.mark.django_db(transaction=True)
def test_edit_committed_between_load_and_update_is_caught_by_the_compare_and_set(
    alice: User, ada: Customer, race: list[Callable[[Any], None]]
) -> None:
    client = client_for(alice)
    url = change_url(ada, "race")
    values = form_values(client.get(url), "customer_form")
    race.append(lambda pk: Customer.objects.filter(pk=pk).update(family_name="King"))

    response = client.post(url, with_values(values, given_name="Adeline"))

    assert response.status_code == 200
    assert conflict_rows(response)["family_name"][:2] == ("Lovelace", "King")
    ada.refresh_from_db()
    assert (ada.given_name, ada.family_name, ada.version) == ("Ada", "King", 2)


@needs_server_db
@pytest.mark.django_db(transaction=True)
def test_edit_that_makes_my_values_invalid_meanwhile_shows_the_errors_and_the_warning(
    alice: User, ada: Customer, race: list[Callable[[Any], None]]
) -> None:
    client = client_for(alice)
    url = change_url(ada, "race")
    values = form_values(client.get(url), "customer_form")

    def take_the_id_and_edit(pk: Any) -> None:
        CustomerFactory(customer_id="B112")
        Customer.objects.filter(pk=pk).update(notes="Called.")

    race.append(take_the_id_and_edit)

    response = client.post(url, with_values(values, customer_id="B112", _save="Save"))

    assert response.status_code == 200
    assert "no longer pass its checks" in headline(response)
    assert "Customer with this Customer id already exists." in response.content.decode()
    assert form_values(response, "customer_form")["customer_id"] == ["B112"]
    assert 'id="etag-lock-discard"' in response.content.decode()
    assert 'id="etag-lock-overwrite"' not in response.content.decode()
    ada.refresh_from_db()
    assert (ada.customer_id, ada.notes) == ("A375", "Called.")


@needs_server_db
@pytest.mark.django_db(transaction=True)
def test_delete_committed_between_load_and_update_is_reported_and_not_undone(
    alice: User, ada: Customer, race: list[Callable[[Any], None]]
) -> None:
    client = client_for(alice)
    url = change_url(ada, "race")
    values = form_values(client.get(url), "customer_form")
    race.append(lambda pk: Customer.objects.filter(pk=pk).delete())

    response = client.post(url, with_values(values, given_name="Adeline"))

    assert response.status_code == 302
    assert "was deleted by someone else after you opened it" in messages_of(response)[0]
    assert not Customer.objects.exists()


def test_add_view_needs_no_version(alice: User) -> None:
    client = client_for(alice)
    url = reverse("admin:customers_customer_add")
    values = form_values(client.get(url), "customer_form")
    assert TOKEN_FIELD not in values

    response = client.post(
        url, with_values(values, customer_id="Z999", given_name="Zoe", family_name="Zed")
    )

    assert response.status_code == 302
    assert Customer.objects.get(customer_id="Z999").version == 1


def test_view_only_user_sees_the_form_without_a_version_and_cannot_post(ada: Customer) -> None:
    viewer = staff_with("vera", "view_customer")
    client = client_for(viewer)

    page = client.get(change_url(ada))

    assert page.status_code == 200
    assert TOKEN_FIELD not in page.content.decode()
    assert client.post(change_url(ada), {"given_name": "X"}).status_code == 403


# -------------------------------------------------- permissions and escaping


def test_conflict_table_and_token_hold_only_the_fields_the_user_can_see(
    ada: Customer,
) -> None:
    carol = staff_with("carol", "view_customer", "change_customer")
    client = client_for(carol)
    url = change_url(ada, "limited")
    values = form_values(client.get(url), "customer_form")
    assert set(token_of(values).values) == {"given_name", "family_name", "email"}
    Customer.objects.filter(pk=ada.pk).update(
        family_name="King", email="countess@example.com", notes="secret", customer_id="Z1"
    )

    response = client.post(url, with_values(values, given_name="Augusta"))

    rows = conflict_rows(response)
    assert set(rows) == {"given_name", "family_name", "email"}
    assert rows["email"] == ("ada@example.com", "countess@example.com", "(read-only)", "theirs")
    assert who_changed(response)["email"] == "Changed by someone else."  # not in the log
    assert rows["given_name"][2:] == ("Augusta", "mine")
    assert "secret" not in response.content.decode()
    ada.refresh_from_db()
    assert (ada.given_name, ada.version) == ("Ada", 2)


def test_readonly_user_can_save_over_after_a_conflict(ada: Customer) -> None:
    carol = staff_with("carol", "view_customer", "change_customer")
    client = client_for(carol)
    url = change_url(ada, "limited")
    values = form_values(client.get(url), "customer_form")
    Customer.objects.filter(pk=ada.pk).update(email="countess@example.com")
    conflict_page = client.post(url, with_values(values, given_name="Augusta"))

    response = client.post(
        url, {**form_values(conflict_page, "customer_form"), "_continue": OVERWRITE_VALUE}
    )

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.given_name, ada.email) == ("Augusta", "countess@example.com")


def test_every_value_in_the_conflict_page_is_escaped(alice: User, ada: Customer) -> None:
    client = client_for(alice)
    values = form_values(client.get(change_url(ada)), "customer_form")
    Customer.objects.filter(pk=ada.pk).update(
        given_name="<script>alert(1)</script>", notes='"><img src=x onerror=alert(2)>'
    )

    response = client.post(change_url(ada), with_values(values, family_name="<b>King</b>"))

    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert "<b>King</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in conflict_rows(response)["given_name"][1]
    assert "&lt;b&gt;King&lt;/b&gt;" in conflict_rows(response)["family_name"][2]


# ------------------------------------------------------------------- delete


def test_delete_confirmation_carries_the_version_shown(alice: User, ada: Customer) -> None:
    values = form_values(client_for(alice).get(delete_url(ada)))

    assert values["post"] == ["yes"]
    assert token_of(values).version == 1


def test_stale_delete_deletes_nothing_shows_what_changed_and_can_be_confirmed_again(
    alice: User, bob: User, ada: Customer
) -> None:
    as_alice, as_bob = client_for(alice), client_for(bob)
    confirm = form_values(as_alice.get(delete_url(ada)))
    bob_form = form_values(as_bob.get(change_url(ada)), "customer_form")
    as_bob.post(change_url(ada), with_values(bob_form, family_name="King"))

    response = as_alice.post(delete_url(ada), confirm)

    assert response.status_code == 200
    assert Customer.objects.filter(pk=ada.pk).exists()
    assert "changed by bob" in headline(response)
    assert "Nothing was deleted" in headline(response)
    assert conflict_rows(response)["family_name"][:2] == ("Lovelace", "King")
    assert who_changed(response)["family_name"] == "Changed by bob."
    again = form_values(response)
    assert token_of(again).version == 2

    assert as_alice.post(delete_url(ada), again).status_code == 302
    assert not Customer.objects.filter(pk=ada.pk).exists()


def test_delete_without_the_version_deletes_nothing(alice: User, ada: Customer) -> None:
    response = client_for(alice).post(delete_url(ada), {"post": "yes"})

    assert response.status_code == 302
    assert response["Location"] == delete_url(ada)
    assert "Nothing was deleted" in messages_of(response)[0]
    assert Customer.objects.filter(pk=ada.pk).exists()


def test_delete_with_another_rows_version_is_a_bad_request(alice: User, ada: Customer) -> None:
    client = client_for(alice)
    grace = CustomerFactory(customer_id="B112")
    values = form_values(client.get(delete_url(grace)))

    response = client.post(delete_url(ada), values)

    assert response.status_code == 400
    assert Customer.objects.count() == 2


def test_delete_of_a_row_deleted_meanwhile_says_so(alice: User, ada: Customer) -> None:
    client = client_for(alice)
    values = form_values(client.get(delete_url(ada)))
    Customer.objects.get(pk=ada.pk).delete()

    response = client.post(delete_url(ada), values)

    assert response.status_code == 302
    assert not Customer.objects.exists()


# ------------------------------------------------------------ list_editable


@pytest.fixture
def three() -> list[Customer]:
    return [
        CustomerFactory(customer_id=f"C{i}", given_name=name, email=f"{name.lower()}@example.com")
        for i, name in enumerate(["Ada", "Grace", "Alan"])
    ]


def row_prefix(values: dict[str, list[str]], customer: Customer) -> str:
    for name, value in values.items():
        match = re.fullmatch(r"(form-\d+)-id", name)
        if match and value == [str(customer.pk)]:
            return match.group(1)
    raise AssertionError(f"{customer} is not a row of the list")


def edit_rows(values: dict[str, list[str]], **emails: str) -> dict[str, list[str]]:
    """``edit_rows(values, C0="x@example.com")``: set the email of rows by customer id."""
    edited = dict(values)
    for customer_id, email in emails.items():
        prefix = row_prefix(values, Customer.objects.get(customer_id=customer_id))
        edited[f"{prefix}-email"] = [email]
    edited["_save"] = ["Save"]
    return edited


def test_every_list_editable_row_carries_its_version(alice: User, three: list[Customer]) -> None:
    three[1].save()  # version 2
    values = form_values(client_for(alice).get(changelist_url(Customer)), "changelist-form")

    for customer in three:
        token = token_of({TOKEN_FIELD: values[f"{row_prefix(values, customer)}-{TOKEN_FIELD}"]})
        assert (token.pk, token.version) == (str(customer.pk), customer.version)


def test_list_editable_saves_fresh_rows_and_names_the_stale_ones(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    grace = three[1]
    grace.email = "grace.hopper@example.com"
    grace.save()

    response = client.post(
        changelist_url(Customer), edit_rows(values, C0="ada.new@example.com", C1="g@example.com")
    )

    assert response.status_code == 302
    emails = dict(Customer.objects.values_list("customer_id", "email"))
    assert emails == {
        "C0": "ada.new@example.com",
        "C1": "grace.hopper@example.com",
        "C2": "alan@example.com",
    }
    sent = messages_of(response)
    assert sent[0] == "1 customer was changed successfully."
    assert "Not saved" in sent[1]
    assert str(grace) in sent[1]
    assert str(three[0]) not in sent[1]


def test_list_editable_leaves_alone_stale_rows_the_user_did_not_edit(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    alan = three[2]
    alan.email = "turing@example.com"
    alan.save()

    response = client.post(changelist_url(Customer), edit_rows(values, C0="ada.new@example.com"))

    assert messages_of(response) == ["1 customer was changed successfully."]
    alan.refresh_from_db()
    assert (alan.email, alan.version) == ("turing@example.com", 2)


@pytest.mark.parametrize(
    ("site", "setting", "all_or_nothing"),
    [
        ("admin", False, False),
        ("admin", True, True),
        ("allornothing", False, True),
        ("partial", True, False),
    ],
)
def test_list_editable_all_or_nothing_from_the_setting_or_the_admin_attribute(
    site: str, setting: bool, all_or_nothing: bool, alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, site)
    values = form_values(client.get(url), "changelist-form")
    Customer.objects.filter(pk=three[1].pk).update(given_name="Grace Brewster")

    with override_settings(ETAG_LOCK_ADMIN_LIST_EDITABLE_ALL_OR_NOTHING=setting):
        response = client.post(url, edit_rows(values, C0="new@example.com", C1="g@example.com"))

    emails = dict(Customer.objects.values_list("customer_id", "email"))
    assert emails["C1"] == "grace@example.com"
    if all_or_nothing:
        assert emails["C0"] == "ada@example.com"
        assert "Nothing was saved" in messages_of(response)[0]
    else:
        assert emails["C0"] == "new@example.com"
        assert "Not saved" in messages_of(response)[1]


def test_list_editable_writes_with_one_compare_and_set_per_row(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")

    with CaptureQueriesContext(connection) as queries:
        client.post(changelist_url(Customer), edit_rows(values, C0="new@example.com"))

    table = Customer._meta.db_table
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].upper().startswith("UPDATE")]
    assert len(writes) == 1
    assert table in writes[0]
    where = writes[0][writes[0].upper().index("WHERE") :]
    assert "version" in where


def test_list_editable_row_without_its_version_is_an_error(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    del values[f"{row_prefix(values, three[0])}-{TOKEN_FIELD}"]

    response = client.post(changelist_url(Customer), edit_rows(values, C0="new@example.com"))

    assert response.status_code == 200
    assert "does not say which version" in response.content.decode()
    assert Customer.objects.get(customer_id="C0").email == "ada@example.com"


# ------------------------------------------------------------------ actions


def select(values: dict[str, list[str]], action: str, *customers: Customer) -> dict[str, Any]:
    data = {k: v for k, v in values.items() if not k.startswith("form-")}
    data.update(
        {
            "action": [action],
            "index": ["0"],
            "_selected_action": [str(c.pk) for c in customers],
        }
    )
    return data


def test_changelist_checkboxes_carry_the_version_of_each_row(
    alice: User, three: list[Customer]
) -> None:
    three[0].save()
    values = form_values(client_for(alice).get(changelist_url(Customer)), "changelist-form")

    assert sorted(values[SEEN_FIELD]) == sorted(f"{c.pk}:{c.version}" for c in three)


def test_delete_selected_leaves_out_rows_changed_since_the_list_and_names_them(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    Customer.objects.filter(pk=three[1].pk).update(notes="changed")

    page = client.post(changelist_url(Customer), select(values, "delete_selected", *three[:2]))

    assert page.status_code == 200
    assert str(three[1]) in messages_of(page)[0]
    confirm = form_values(page)
    assert confirm["_selected_action"] == [str(three[0].pk)]
    assert confirm[SEEN_FIELD] == [f"{three[0].pk}:1"]

    done = client.post(changelist_url(Customer), confirm)

    assert done.status_code == 302
    assert set(Customer.objects.values_list("customer_id", flat=True)) == {"C1", "C2"}


def test_change_between_delete_confirmation_and_confirming_spares_that_row(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    values = form_values(client.get(changelist_url(Customer)), "changelist-form")
    confirm = form_values(
        client.post(changelist_url(Customer), select(values, "delete_selected", *three[:2]))
    )
    assert sorted(confirm[SEEN_FIELD]) == sorted(f"{c.pk}:1" for c in three[:2])
    Customer.objects.filter(pk=three[0].pk).update(notes="changed")

    done = client.post(changelist_url(Customer), confirm)

    assert set(Customer.objects.values_list("customer_id", flat=True)) == {"C0", "C2"}
    sent = messages_of(done)
    assert any(str(three[0]) in m and "Left alone" in m for m in sent)
    assert any("Successfully deleted 1 customer" in m for m in sent)


def test_delete_selected_deletes_each_row_with_a_compare_and_set(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, "racy")
    values = form_values(client.get(url), "changelist-form")
    confirm = form_values(client.post(url, select(values, "delete_selected", *three[:2])))

    done = client.post(url, confirm)

    assert done.status_code == 302
    assert Customer.objects.count() == 3
    assert "Nothing was done" in messages_of(done)[0]
    assert Customer.objects.get(pk=three[0].pk).notes == ""  # rolled back with the rest


def test_custom_action_is_not_applied_to_rows_changed_since_the_list(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, "actions")
    values = form_values(client.get(url), "changelist-form")
    Customer.objects.filter(pk=three[0].pk).update(given_name="Augusta")

    response = client.post(url, select(values, "mark_notes", *three[:2]))

    assert response.status_code == 302
    notes = dict(Customer.objects.values_list("customer_id", "notes"))
    assert notes == {"C0": "", "C1": "marked", "C2": ""}
    assert str(Customer.objects.get(customer_id="C0")) in messages_of(response)[0]


def test_action_posted_without_versions_is_refused(alice: User, three: list[Customer]) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, "actions")
    data = {"action": "mark_notes", "index": "0", "_selected_action": [str(three[0].pk)]}

    response = client.post(url, data)

    assert response.status_code == 302
    assert "did not say which version" in messages_of(response)[0]
    assert Customer.objects.get(pk=three[0].pk).notes == ""


def test_select_across_acts_on_rows_not_shown_at_their_current_version(
    alice: User, three: list[Customer]
) -> None:
    client = client_for(alice)
    url = changelist_url(Customer, "actions")  # two rows per page
    values = form_values(client.get(url), "changelist-form")
    shown = [c for c in three if f"{c.pk}:1" in values[SEEN_FIELD]]
    assert len(shown) == 2
    data = select(values, "delete_selected", *shown)
    data["select_across"] = ["1"]

    confirm = form_values(client.post(url, data))

    assert sorted(confirm[SEEN_FIELD]) == sorted(f"{c.pk}:1" for c in three)
    client.post(url, confirm)
    assert not Customer.objects.exists()


needs_change_form_actions = pytest.mark.skipif(
    not CHANGE_FORM_ACTIONS, reason="actions on the change form arrived in Django 6.1"
)


@needs_change_form_actions
def test_change_form_action_is_not_applied_to_a_row_changed_since_the_form(
    alice: User, ada: Customer
) -> None:
    client = client_for(alice)
    url = change_url(ada, "formactions")
    values = form_values(client.get(url), "customer_form")
    assert values["_selected_action"] == [str(ada.pk)]
    Customer.objects.filter(pk=ada.pk).update(given_name="Augusta")

    response = client.post(url, {**values, "CHANGE_FORM-action": "mark_notes"})

    assert response.status_code == 302
    assert "Left alone" in messages_of(response)[0]
    assert Customer.objects.get(pk=ada.pk).notes == "Prefers email."


@needs_change_form_actions
def test_overwrite_button_is_not_taken_for_a_change_form_action(alice: User, ada: Customer) -> None:
    client = client_for(alice)
    url = change_url(ada, "formactions")
    values = form_values(client.get(url), "customer_form")
    Customer.objects.filter(pk=ada.pk).update(family_name="King")
    # Browsers send the clicked button; without it Django 6.1 reads an action.
    conflict_page = client.post(url, with_values(values, given_name="Augusta", _save="Save"))
    assert "Nothing was saved" in headline(conflict_page)

    response = client.post(
        url, {**form_values(conflict_page, "customer_form"), "_continue": OVERWRITE_VALUE}
    )

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.given_name, ada.family_name, ada.notes) == ("Augusta", "King", "Prefers email.")


# ------------------------------------------------------- setup and the demo


def test_mixin_refuses_a_model_that_is_not_versioned() -> None:
    with pytest.raises(ImproperlyConfigured, match="PlainBook is not a django_etag_lock"):
        VersionedModelAdmin(PlainBook, admin.AdminSite(name="refuse"))


def test_demo_superuser_can_use_the_protected_customer_admin() -> None:
    call_command("demo", no_serve=True, password="demo-pw", stdout=None)
    client = Client()
    assert client.login(username="demo", password="demo-pw")
    a375 = Customer.objects.get(customer_id="A375")

    values = form_values(client.get(change_url(a375)), "customer_form")

    assert token_of(values).version == a375.version
