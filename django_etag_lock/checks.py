"""System checks, registered in ``EtagLockConfig.ready()``.

Ids: ``django_etag_lock.E001`` (a VersionedModel whose ``version`` is not a
VersionField), ``W003`` (default manager without VersionedQuerySet), ``W011`` (a
versioned user model that does not exclude ``last_login``), ``W013`` (base manager
without VersionedQuerySet), ``E011`` (a database-level ``on_delete`` that rewrites
versioned rows). The DRF integration adds ``W001`` and ``W002``; the admin's own
``check()`` adds ``E002`` (django_etag_lock/admin/checks.py). ``E101``-``E110`` validate
the type and range of each ``ETAG_LOCK_*`` setting, ``W101`` names one that does not exist
(docs/checks.md). Parents and children: ``E012`` (an
``etag_lock_touch`` that names no foreign key to a versioned model), ``W012`` (a DRF
serializer embedding a versioned child that does not touch its versioned parent).
"""

from __future__ import annotations

import difflib
import re
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
            errors.extend(_check_write_paths(model, field))
    return errors


def _check_write_paths(model: type[Any], field: Any) -> list[checks.CheckMessage]:
    """W011 (a user model versioning last_login), W013 (base manager), E011 (on_delete)."""
    from django.contrib.auth.base_user import AbstractBaseUser

    from django_etag_lock import compat
    from django_etag_lock.models import VersionField
    from django_etag_lock.querysets import VersionedQuerySet

    label = model._meta.label
    messages: list[checks.CheckMessage] = []
    if (
        issubclass(model, AbstractBaseUser)
        and isinstance(field, VersionField)
        and "last_login" not in field.excluded_fields
    ):
        messages.append(
            checks.Warning(
                f"{label} is a versioned user model whose 'version' does not exclude "
                "'last_login': every login (django.contrib.auth.update_last_login) saves "
                "it, so two logins of one user race into StaleObjectError and every "
                "login makes open edits of the user stale.",
                hint="Declare version = VersionField(excluded_fields=['last_login']) on the model.",
                obj=model,
                id="django_etag_lock.W011",
            )
        )
    if not isinstance(model._base_manager.get_queryset(), VersionedQuerySet):
        messages.append(
            checks.Warning(
                f"{label}'s base manager {type(model._base_manager).__name__} does not "
                "return a VersionedQuerySet: the rows Django rewrites through it (on_delete="
                "SET_NULL/SET(...), related managers' add()/remove()) keep their version.",
                hint="Remove Meta.base_manager_name, or point it at a manager built from "
                "VersionedQuerySet that does not filter rows.",
                obj=model,
                id="django_etag_lock.W013",
            )
        )
    for fk in model._meta.local_fields:
        on_delete = getattr(getattr(fk, "remote_field", None), "on_delete", None)
        if compat.database_on_delete_operation(on_delete) in ("SET NULL", "SET DEFAULT"):
            messages.append(
                checks.Error(
                    f"{label}.{fk.name} uses on_delete={on_delete}: the database rewrites "
                    "the row's foreign key without bumping its version, so open ETags and "
                    "held instances still match the changed row.",
                    hint="Use on_delete=models.SET_NULL or models.SET_DEFAULT, which "
                    "django-etag-lock bumps.",
                    obj=model,
                    id="django_etag_lock.E011",
                )
            )
    return messages


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


# -- settings ---------------------------------------------------------------------------
# Read raw from django.conf.settings (not through conf, which coerces): the point is to
# catch ETAG_LOCK_ATOMIC_WRITES = "False", which bool() reads as True.

_BOOLEAN_SETTINGS: dict[str, str] = {
    "ETAG_LOCK_REQUIRE_IF_MATCH": "django_etag_lock.E101",
    "ETAG_LOCK_ALLOW_IF_MATCH_STAR": "django_etag_lock.E102",
    "ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412": "django_etag_lock.E105",
    "ETAG_LOCK_ADMIN_LIST_EDITABLE_ALL_OR_NOTHING": "django_etag_lock.E107",
    "ETAG_LOCK_CREATE_ON_PUT": "django_etag_lock.E108",
    "ETAG_LOCK_COMPILED_SAVE": "django_etag_lock.E109",
    "ETAG_LOCK_COMPILED_FETCH": "django_etag_lock.E110",
}
_ATOMIC_WRITES = "ETAG_LOCK_ATOMIC_WRITES"
_CACHE_CONTROL = "ETAG_LOCK_CACHE_CONTROL"
_MAX_TAGS = "ETAG_LOCK_MAX_IF_MATCH_TAGS"
_UNSAFE_HEADER_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")


def known_settings() -> frozenset[str]:
    """Every ``ETAG_LOCK_*`` name the package reads."""
    from django_etag_lock.conf import Settings

    declared = {f"ETAG_LOCK_{name}" for name in vars(Settings) if name.isupper()}
    return frozenset({*_BOOLEAN_SETTINGS, _ATOMIC_WRITES, _CACHE_CONTROL, _MAX_TAGS, *declared})


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _check_setting(name: str, value: Any) -> checks.CheckMessage | None:
    if name in _BOOLEAN_SETTINGS:
        if isinstance(value, bool):
            return None
        return checks.Error(
            f"{name} should be True or False, not {type(value).__name__} {_shown(value)}.",
            hint=f"Write {name} = True or {name} = False; a string such as "
            f'"False" would read as true. To use an environment variable, convert it: '
            f'{name} = os.environ.get("{name}", "true").lower() == "true".',
            id=_BOOLEAN_SETTINGS[name],
        )
    if name == _ATOMIC_WRITES:
        if isinstance(value, bool) or value == "auto":
            return None
        return checks.Error(
            f'{name} should be True, False or "auto", not {type(value).__name__} {_shown(value)}.',
            hint=f'Write {name} = "auto" (the default: a transaction only where a write can '
            f"span statements), True (always) or False (never); a string such as "
            f'"False" would read as true.',
            id="django_etag_lock.E106",
        )
    if name == _CACHE_CONTROL:
        if value is None or (isinstance(value, str) and not _UNSAFE_HEADER_CHARS.search(value)):
            return None
        what = (
            "contains characters a header value cannot carry (line breaks, control or "
            "non-Latin-1 characters)"
            if isinstance(value, str)
            else f"is {type(value).__name__} {_shown(value)}, not a string"
        )
        return checks.Error(
            f"{name} {what}.",
            hint=f'Set {name} to a Cache-Control value such as "private, no-cache", or to '
            "None to send no Cache-Control header.",
            id="django_etag_lock.E103",
        )
    if name == _MAX_TAGS:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return None
        return checks.Error(
            f"{name} should be an integer of at least 1, not "
            f"{type(value).__name__} {_shown(value)}: a request with If-Match or "
            "If-None-Match could not be evaluated.",
            hint=f"Remove {name} to keep the default 64, or set a whole number such as 16; "
            "real clients send one entity-tag.",
            id="django_etag_lock.E104",
        )
    return None


@checks.register()
def check_settings(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """E101-E110: the type and range of each ETAG_LOCK_* setting; W101: unknown names."""
    messages: list[checks.CheckMessage] = []
    known = known_settings()
    for name in dir(settings):
        if not name.startswith("ETAG_LOCK_"):
            continue
        value = getattr(settings, name)
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            messages.append(
                checks.Warning(
                    f"{name} is not a django-etag-lock setting, so it has no effect.",
                    hint=f"Did you mean {close[0]}?"
                    if close
                    else "See docs/settings.md for the settings there are.",
                    id="django_etag_lock.W101",
                )
            )
            continue
        message = _check_setting(name, value)
        if message is not None:
            messages.append(message)
    return messages
