"""System checks of the admin integration, run by the admin's own ``check()``.

``django_etag_lock.E002``: a ``VersionedAdminMixin`` admin registered for a model
that is not a ``VersionedModel``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core import checks

from django_etag_lock.models import VersionedModel


def check_versioned_admin(model_admin: admin.ModelAdmin[Any]) -> list[checks.CheckMessage]:
    """E002 for one registered admin."""
    errors: list[checks.CheckMessage] = []
    name = type(model_admin).__qualname__
    label = model_admin.model._meta.label
    if not issubclass(model_admin.model, VersionedModel):
        errors.append(
            checks.Error(
                f"{name} uses VersionedAdminMixin but {label} is not a django_etag_lock "
                "VersionedModel, so it has no version to check its writes against.",
                hint=f"Make {label} subclass django_etag_lock.models.VersionedModel (and "
                f"migrate), or drop VersionedAdminMixin from {name}.",
                obj=type(model_admin),
                id="django_etag_lock.E002",
            )
        )
    return errors
