"""System checks, registered in ``EtagLockConfig.ready()``.

Ids: ``django_etag_lock.E001`` (a VersionedModel whose ``version`` is not a
VersionField), ``W003`` (default manager without VersionedQuerySet). The DRF
integration adds ``W001`` and ``W002``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.core import checks
from django.core.exceptions import FieldDoesNotExist


@checks.register(checks.Tags.models)
def check_versioned_models(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    from django_etag_lock.models import VersionedModel, VersionField
    from django_etag_lock.querysets import VersionedQuerySet

    errors: list[checks.CheckMessage] = []
    configs = app_configs if app_configs is not None else apps.get_app_configs()
    for config in configs:
        for model in config.get_models():
            if not issubclass(model, VersionedModel):
                continue
            label = model._meta.label
            try:
                field = model._meta.get_field("version")
            except FieldDoesNotExist:
                field = None
            if not isinstance(field, VersionField):
                errors.append(
                    checks.Error(
                        f"{label} subclasses VersionedModel but its 'version' field is "
                        "not a django_etag_lock.models.VersionField, so its writes are "
                        "not checked.",
                        hint="Remove the 'version' field you declared on the model, or "
                        "declare it as VersionField().",
                        obj=model,
                        id="django_etag_lock.E001",
                    )
                )
            manager = model._default_manager
            if not isinstance(manager.get_queryset(), VersionedQuerySet):
                errors.append(
                    checks.Warning(
                        f"{label}'s default manager {type(manager).__name__} does not "
                        "return a VersionedQuerySet: QuerySet.update() and bulk_update() "
                        "on it will not bump or check the version.",
                        hint="Build the manager from VersionedQuerySet, e.g. "
                        "MyManager.from_queryset(VersionedQuerySet)(), or subclass "
                        "django_etag_lock.models.VersionedManager.",
                        obj=model,
                        id="django_etag_lock.W003",
                    )
                )
    return errors
