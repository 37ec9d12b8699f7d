"""The German catalog: shipped compiled, complete, and used by the API and the admin."""

from __future__ import annotations

import ast
import gettext
import json
import re
from pathlib import Path
from typing import Any

import pytest
from customers.api import CustomerViewSet
from customers.models import Customer
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation

import django_etag_lock
from django_etag_lock.rest_framework import PreconditionFailed, PreconditionRequired

# The installed package's catalogs (tests/packaging/check_wheel.py runs this on the wheel).
LOCALE = Path(django_etag_lock.__file__).resolve().parent / "locale"
GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de"}


def read_po(path: Path) -> list[dict[str, Any]]:
    """The entries of a .po file: msgid, msgid_plural, msgstr / msgstr[n], flags."""
    entries: list[dict[str, Any]] = []
    entry: dict[str, Any] = {"flags": set()}
    key: str | None = None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = line.strip()
        if not line:
            if "msgid" in entry:
                entries.append(entry)
            entry, key = {"flags": set()}, None
        elif line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert key is not None
            entry[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return entries


def test_german_catalog_is_complete_and_has_no_fuzzy_entries():
    entries = [e for e in read_po(LOCALE / "de/LC_MESSAGES/django.po") if e["msgid"]]
    assert len(entries) > 40
    for entry in entries:
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        translations = [v for k, v in entry.items() if k.startswith("msgstr")]
        assert translations, entry["msgid"]
        assert all(translations), f"untranslated: {entry['msgid']!r}"
        placeholders = set(re.findall(r"%\(\w+\)s", entry["msgid"]))
        for text in translations:
            assert set(re.findall(r"%\(\w+\)s", text)) == placeholders, entry["msgid"]


def test_compiled_german_catalog_matches_the_po_file():
    with open(LOCALE / "de/LC_MESSAGES/django.mo", "rb") as mo_file:
        catalog = gettext.GNUTranslations(mo_file)
    for entry in read_po(LOCALE / "de/LC_MESSAGES/django.po"):
        if not entry["msgid"]:
            continue
        if "msgid_plural" in entry:
            assert catalog.ngettext(entry["msgid"], entry["msgid_plural"], 1) == entry["msgstr[0]"]
            assert catalog.ngettext(entry["msgid"], entry["msgid_plural"], 5) == entry["msgstr[1]"]
        else:
            assert catalog.gettext(entry["msgid"]) == entry["msgstr"], (
                f"{entry['msgid']!r}: the .mo is older than the .po; run compilemessages"
            )


def test_activating_german_translates_the_exceptions_class_attributes():
    with translation.override("de"):
        assert str(PreconditionFailed.title) == "Vorbedingung fehlgeschlagen"
        assert str(PreconditionRequired.title) == "Vorbedingung erforderlich"
        assert str(PreconditionRequired().detail).startswith("Diese Anfrage muss bedingt sein")
    with translation.override("en"):
        assert str(PreconditionFailed.title) == "Precondition Failed"


# -- the API ----------------------------------------------------------------------------


@pytest.fixture
def customer(db: Any) -> Customer:
    return Customer.objects.create(
        customer_id="A375", given_name="Ada", family_name="Lovelace", email="ada@example.com"
    )


def patch(customer: Customer, headers: dict[str, str], **extra: str) -> Any:
    return Client().patch(
        reverse("customer-detail", args=[customer.pk]),
        json.dumps({"notes": "mine"}),
        content_type="application/json",
        headers=headers,
        **extra,
    )


def test_stale_patch_answers_412_problem_details_in_the_clients_language(customer):
    customer.save()  # now at version 2
    response = patch(customer, {"If-Match": '"1"'}, **GERMAN)
    assert response.status_code == 412
    body = json.loads(response.content)
    assert body["title"] == "Vorbedingung fehlgeschlagen"
    assert body["detail"].startswith(
        "Keines der Entity-Tags in If-Match stimmt mit dem aktuellen ETag überein"
    )
    assert body["reason"] == "if-match-failed"  # machine-readable fields stay as they are
    assert response["Content-Language"] == "de"


def test_patch_without_if_match_answers_428_in_the_clients_language(customer):
    response = patch(customer, {}, **GERMAN)
    assert response.status_code == 428
    body = json.loads(response.content)
    assert body["title"] == "Vorbedingung erforderlich"
    assert body["detail"].startswith("Diese Anfrage muss bedingt sein")


def test_malformed_if_match_answers_400_in_german_keeping_the_specifics(customer):
    response = patch(customer, {"If-Match": "1"}, **GERMAN)
    assert response.status_code == 400
    body = json.loads(response.content)
    assert body["title"] == "Fehlerhafter bedingter Header"
    assert body["detail"].startswith("Der If-Match-Header ist fehlerhaft")
    assert 'If-Match: "1"' in body["detail"]  # the English specifics, after the translation


def test_without_accept_language_the_problem_stays_english(customer):
    response = patch(customer, {})
    body = json.loads(response.content)
    assert body["title"] == "Precondition Required"
    assert body["detail"].startswith("This request must be conditional")


def test_race_lost_after_the_check_has_a_german_detail(customer, monkeypatch):
    original = CustomerViewSet.check_preconditions

    def check_then_lose_race(self: Any, instance: Customer) -> None:
        original(self, instance)
        Customer.objects.filter(pk=instance.pk).update(notes="theirs")

    monkeypatch.setattr(CustomerViewSet, "check_preconditions", check_then_lose_race)
    response = patch(customer, {"If-Match": '"1"'}, **GERMAN)
    assert response.status_code == 412
    body = json.loads(response.content)
    assert body["detail"].startswith(
        "Die Ressource wurde von einer anderen Anfrage geändert, nachdem Ihre Vorbedingungen "
        "geprüft wurden; nichts wurde geschrieben."
    )
    assert Customer.objects.get(pk=customer.pk).notes == "theirs"


# -- the admin --------------------------------------------------------------------------


def test_admin_conflict_warning_is_german_for_a_german_browser(customer):
    user = get_user_model().objects.create_superuser("editor", "editor@example.com", "pw")
    client = Client()
    client.force_login(user)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    page = client.get(url, **GERMAN)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data["notes"] = "Meine Notiz"

    theirs = Customer.objects.get(pk=customer.pk)
    theirs.email = "ada@lovelace.example"
    theirs.save()

    response = client.post(url, data, **GERMAN)
    assert response.status_code == 200  # the form again, with the conflict
    text = response.content.decode()
    assert "nachdem Sie es geöffnet hatten" in text
    assert "Was sich geändert hat" in text
    assert "Meine Werte über die aktuelle Version speichern" in text
    assert Customer.objects.get(pk=customer.pk).notes == ""  # nothing written


# -- Django's editing views --------------------------------------------------------------


def test_delete_confirmation_of_the_editing_views_is_german_for_a_german_browser(customer):
    url = reverse("customer-delete", args=[customer.pk])
    page = Client().get(url, **GERMAN)
    assert page.status_code == 200
    text = page.content.decode()
    assert f"„{customer}“ löschen?" in text
    assert "Ja, löschen" in text

    refused = Client().post(url, {}, **GERMAN)  # a confirmation without its signed version
    assert refused.status_code == 200
    assert "daher wurde nichts gelöscht" in refused.content.decode()
    assert Customer.objects.filter(pk=customer.pk).exists()
