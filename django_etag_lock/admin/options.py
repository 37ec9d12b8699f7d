"""``VersionedAdminMixin``, composed of one mixin per admin feature, and ``VersionedModelAdmin``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core import checks

from django_etag_lock.admin.actions import ActionsMixin
from django_etag_lock.admin.change_form import ChangeFormMixin
from django_etag_lock.admin.checks import check_versioned_admin
from django_etag_lock.admin.delete import DeleteMixin
from django_etag_lock.admin.list_editable import ListEditableMixin


class VersionedAdminMixin(ChangeFormMixin, DeleteMixin, ListEditableMixin, ActionsMixin):
    """ModelAdmin mixin for VersionedModel admins; see :mod:`django_etag_lock.admin`.

    Put it first: ``class MyAdmin(VersionedAdminMixin, MyBaseAdmin)``. The system
    check ``django_etag_lock.E002`` reports an admin of a model that is not versioned.
    """

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *check_versioned_admin(self)]


class VersionedModelAdmin(VersionedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin whose writes never silently overwrite a newer version."""
