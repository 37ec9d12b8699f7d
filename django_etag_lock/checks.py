"""System checks, registered in ``EtagLockConfig.ready()``.

Ids: ``django_etag_lock.E001`` (a VersionedModel whose ``version`` is not a
VersionField), ``W003`` (default manager without VersionedQuerySet). The DRF
integration adds ``W001`` and ``W002``; the admin's own ``check()`` adds ``E002``
(django_etag_lock/admin/checks.py). Parents and children: ``E012`` (an
``etag_lock_touch`` that names no foreign key to a versioned model), ``W012`` (a DRF
serializer embedding a versioned child that does not touch its versioned parent).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.module_loading import import_string


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


def _view_classes(patterns: Sequence[Any]) -> Iterator[type[Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _view_classes(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "cls", None)  # DRF's as_view() sets it
            if isinstance(view_class, type):
                yield view_class


@checks.register(checks.Tags.urls)
def check_drf_views(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """W001: ETagLockMixin on a view whose model is not a VersionedModel."""
    if not getattr(settings, "ROOT_URLCONF", None):
        return []
    # Resolving the URLconf imports every view; only then is it known whether the DRF
    # integration is in use. This module never imports DRF itself.
    view_classes = list(dict.fromkeys(_view_classes(get_resolver().url_patterns)))
    integration = sys.modules.get("django_etag_lock.rest_framework")
    if integration is None:
        return []
    from django_etag_lock.models import VersionedModel

    warnings: list[checks.CheckMessage] = []
    for view_class in view_classes:
        if not issubclass(view_class, integration.ETagLockMixin):
            continue
        model = integration.declared_model(view_class)
        if model is None or issubclass(model, VersionedModel):
            continue
        name = f"{view_class.__module__}.{view_class.__qualname__}"
        warnings.append(
            checks.Warning(
                f"{name} uses ETagLockMixin, but its model {model._meta.label} is not a "
                "VersionedModel: it has no version for ETags or checked writes, and every "
                "request to the view fails with ImproperlyConfigured.",
                hint=f"Make {model._meta.label} subclass "
                "django_etag_lock.models.VersionedModel (and migrate), or remove "
                f"ETagLockMixin from {view_class.__qualname__}.",
                obj=name,
                id="django_etag_lock.W001",
            )
        )
    return warnings


@checks.register(checks.Tags.compatibility)
def check_middleware(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """W002: GZipMiddleware rewrites strong ETags as weak ones, which If-Match never matches."""
    from django.middleware.gzip import GZipMiddleware

    for path in getattr(settings, "MIDDLEWARE", None) or ():
        try:
            middleware = import_string(path)
        except ImportError:
            continue  # Django reports a middleware that cannot be imported itself.
        if isinstance(middleware, type) and issubclass(middleware, GZipMiddleware):
            return [
                checks.Warning(
                    f'{path} is in MIDDLEWARE: it turns the strong ETag "7" into the weak '
                    'W/"7" on compressed responses, and If-Match uses the strong '
                    "comparison, so clients that send back the tag they received get 412 "
                    "on every write.",
                    hint="Remove it and compress at the web server or CDN for non-API paths "
                    "only, or compress with a layer that keeps ETags strong. See "
                    "docs/clients.md (GZip).",
                    obj=path,
                    id="django_etag_lock.W002",
                )
            ]
    return []


@checks.register(checks.Tags.models)
def check_touch_declarations(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E012: ``etag_lock_touch`` names something that is not a foreign key to a versioned model."""
    from django.db import models

    from django_etag_lock.touch import TOUCH_ATTRIBUTE, _is_versioned, declared_touch

    errors: list[checks.CheckMessage] = []
    configs = app_configs if app_configs is not None else apps.get_app_configs()
    for config in configs:
        for model in config.get_models():
            for name in declared_touch(model):
                label = model._meta.label
                try:
                    field = model._meta.get_field(name)
                except FieldDoesNotExist:
                    problem = f"has no field {name!r}"
                else:
                    target = getattr(field, "related_model", None)
                    if not isinstance(field, models.ForeignKey):
                        problem = f"names {name!r}, which is not a ForeignKey or OneToOneField"
                    elif not isinstance(target, type) or not _is_versioned(target):
                        problem = (
                            f"names {name!r}, whose target {getattr(target, '__name__', target)} "
                            "is not a VersionedModel, so it has no version to bump"
                        )
                    else:
                        continue
                errors.append(
                    checks.Error(
                        f"{label}.{TOUCH_ATTRIBUTE} {problem}; writes of {label} do not "
                        "touch that parent.",
                        hint=f"List the names of {label}'s foreign keys to versioned parents "
                        f'in {TOUCH_ATTRIBUTE}, e.g. {TOUCH_ATTRIBUTE} = ("order",).',
                        obj=model,
                        id="django_etag_lock.E012",
                    )
                )
    return errors


@checks.register(checks.Tags.urls)
def check_nested_children(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """W012: a view's serializer embeds a versioned child that does not touch its parent."""
    if not getattr(settings, "ROOT_URLCONF", None):
        return []
    view_classes = list(dict.fromkeys(_view_classes(get_resolver().url_patterns)))
    integration = sys.modules.get("django_etag_lock.rest_framework")
    if integration is None:
        return []
    from django_etag_lock.rest_framework.nested import untouched_embeds

    warnings: list[checks.CheckMessage] = []
    reported: set[tuple[Any, str]] = set()
    for view_class in view_classes:
        if not issubclass(view_class, integration.ETagLockMixin):
            continue
        serializer_class = getattr(view_class, "serializer_class", None)
        if not isinstance(serializer_class, type) or (serializer_class, "") in reported:
            continue
        reported.add((serializer_class, ""))
        try:
            serializer = serializer_class()
        except Exception:  # needs a request or arguments: nothing to inspect statically
            continue
        name = f"{serializer_class.__module__}.{serializer_class.__qualname__}"
        for path, parent, child, foreign_key in untouched_embeds(serializer):
            warnings.append(
                checks.Warning(
                    f"{name}.{path} embeds {child._meta.label} in the representation of "
                    f"{parent._meta.label}, but {child._meta.label} does not touch "
                    f"{parent._meta.label}: a change to an embedded {child.__name__} leaves "
                    f"the {parent.__name__}'s ETag as it was, so If-None-Match answers 304 "
                    "over it and If-Match passes over it.",
                    hint=f'Declare etag_lock_touch = ("{foreign_key}",) on {child.__name__} '
                    f"so its writes bump the {parent.__name__}'s version, or stop embedding "
                    "it. See docs/children.md.",
                    obj=name,
                    id="django_etag_lock.W012",
                )
            )
    return warnings
