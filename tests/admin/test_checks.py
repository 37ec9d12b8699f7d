"""System checks of the admin integration (django_etag_lock/admin/checks.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import RequestFactory

from django_etag_lock.admin import VersionedAdminMixin, VersionedModelAdmin
from tests.testapp.models import Book, PlainBook


class OwnBaseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    pass


class PlainBookAdmin(VersionedAdminMixin, OwnBaseAdmin):
    pass


@pytest.fixture
def site() -> Iterator[admin.AdminSite]:
    """A site Django's admin checks see (every AdminSite is), emptied afterwards."""
    site = admin.AdminSite(name="checks")
    yield site
    for model in (Book, PlainBook):
        if site.is_registered(model):
            site.unregister(model)


def test_registering_an_unversioned_model_no_longer_raises(site: admin.AdminSite) -> None:
    site.register(PlainBook, VersionedModelAdmin)

    assert site.is_registered(PlainBook)


def test_e002_admin_of_a_model_that_is_not_versioned(site: admin.AdminSite) -> None:
    site.register(PlainBook, PlainBookAdmin)

    messages = site.get_model_admin(PlainBook).check()

    errors = [m for m in messages if m.id == "django_etag_lock.E002"]
    assert len(errors) == 1
    assert "PlainBookAdmin uses VersionedAdminMixin" in errors[0].msg
    assert "testapp.PlainBook is not a django_etag_lock VersionedModel" in errors[0].msg
    assert "subclass django_etag_lock.models.VersionedModel" in errors[0].hint
    assert errors[0].obj is PlainBookAdmin
    assert errors[0].is_serious()


def test_e002_is_silent_for_a_versioned_model(site: admin.AdminSite) -> None:
    site.register(Book, VersionedModelAdmin)

    assert site.get_model_admin(Book).check() == []


@pytest.mark.django_db
def test_manage_py_check_fails_with_e002(site: admin.AdminSite) -> None:
    site.register(PlainBook, VersionedModelAdmin)

    with pytest.raises(SystemCheckError, match=r"django_etag_lock\.E002"):
        call_command("check")


def test_manage_py_check_passes_once_the_admin_is_fixed(site: admin.AdminSite) -> None:
    site.register(PlainBook, VersionedModelAdmin)
    site.unregister(PlainBook)
    site.register(PlainBook, admin.ModelAdmin)

    call_command("check", stdout=None)


def test_unversioned_admin_used_anyway_fails_with_the_fix_named(site: admin.AdminSite) -> None:
    site.register(PlainBook, VersionedModelAdmin)
    request = RequestFactory().get("/")

    with pytest.raises(ImproperlyConfigured, match="PlainBook is not a django_etag_lock"):
        site.get_model_admin(PlainBook).get_queryset(request)
