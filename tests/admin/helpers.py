"""What the admin tests do with pages: read a form as a browser would submit it, the
conflict table, the messages; URLs and logged-in clients.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from customers.models import Customer
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from django_etag_lock.forms import (
    TOKEN_FIELD,
    VersionToken,
)


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


def staff_with(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


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
