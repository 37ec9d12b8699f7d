"""``VersionedAdminMixin``, composed of one mixin per admin feature, and ``VersionedModelAdmin``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core import checks
from django.http import HttpRequest, HttpResponse

from django_etag_lock.admin.actions import ActionsMixin
from django_etag_lock.admin.change_form import ChangeFormMixin
from django_etag_lock.admin.checks import check_versioned_admin
from django_etag_lock.admin.delete import DeleteMixin
from django_etag_lock.admin.list_editable import ListEditableMixin
from django_etag_lock.signals import Source, attributed_to


class VersionedAdminMixin(ChangeFormMixin, DeleteMixin, ListEditableMixin, ActionsMixin):
    """ModelAdmin mixin for VersionedModel admins; see :mod:`django_etag_lock.admin`.

    Put it first: ``class MyAdmin(VersionedAdminMixin, MyBaseAdmin)``. The system
    check ``django_etag_lock.E002`` reports an admin of a model that is not versioned.
    """

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *check_versioned_admin(self)]

    # A conflict in these views is sent as the admin's (signals.write_refused), with the
    # request: the change form's and the delete view's lost compare-and-set, and the
    # changelist's stale rows (list_editable, actions).

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with attributed_to(Source.ADMIN, request):
            return super().changeform_view(request, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with attributed_to(Source.ADMIN, request):
            return super().delete_view(request, *args, **kwargs)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with attributed_to(Source.ADMIN, request):
            return super().changelist_view(request, *args, **kwargs)


class VersionedModelAdmin(VersionedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin whose writes never silently overwrite a newer version."""
