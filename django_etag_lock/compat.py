"""Every use of private (or internal) Django, DRF and drf-spectacular API, in one place.

Each entry is a small function or name, with the versions it was checked against and a
test in ``tests/test_compat.py`` that pins its signature and behaviour on every
supported line (run by the Django-version matrix of ``.ci/run``). A new Django, DRF or
drf-spectacular release that breaks one of them fails those tests first, here, rather
than a write path somewhere else. Nothing else in the package touches a private name of
those libraries.

This module imports only Django: the DRF and drf-spectacular entries take the object
they work on, so the core (models, querysets) can import it without either installed.

Checked against: Django 5.2, 6.0, 6.1; DRF 3.15 to 3.18; drf-spectacular 0.28 to 0.30.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models.deletion import Collector
from django.db.models.sql.where import AND, ExtraWhere

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models import Model, QuerySet
    from django.http import HttpRequest

# -- Django ORM -----------------------------------------------------------------------

DO_UPDATE = "_do_update"
"""``Model._do_update``, which ``VersionedModel`` overrides to make ``save()`` compare.

Django 5.2: ``(self, base_qs, using, pk_val, values, update_fields, forced_update)``;
6.0 and 6.1 add ``returning_fields``, which the override passes on through ``*args``.
Called once per table of the row (multi-table inheritance), with the UPDATE's queryset
already filtered by model but not yet by pk. It cannot be wrapped from here (an
override is a method of the model); its first seven parameters are pinned by the tests.
"""

DO_UPDATE_PARAMETERS = (
    "self",
    "base_qs",
    "using",
    "pk_val",
    "values",
    "update_fields",
    "forced_update",
)
"""The leading parameters of ``Model._do_update`` the override relies on, in order."""


def add_where_sql(queryset: QuerySet[Any], sql: str, params: list[Any]) -> None:
    """AND precompiled ``sql`` (with ``%s`` ``params``) into ``queryset``'s WHERE, in place.

    ``sql.where.ExtraWhere`` added to ``Query.where``: what ``QuerySet.extra(where=...)``
    does, without the clone and the ``extra()`` deprecation path. Used on the queryset
    Django just built for a save's UPDATE, where a second ``filter()`` would cost more
    than the rest of the save (docs/benchmarks.md). Django 5.2, 6.0, 6.1:
    ``ExtraWhere(sqls, params)``, ``WhereNode.add(data, conn_type)``.
    """
    queryset.query.where.add(ExtraWhere([sql], params), AND)


def raw_delete(queryset: QuerySet[Any], using: str) -> int:
    """One ``DELETE`` statement for ``queryset``: no collection, no signals.

    ``QuerySet._raw_delete(using)``, which Django's own fast delete calls; used only when
    :func:`can_fast_delete` says Django would do the same. Django 5.2, 6.0, 6.1 return
    the row count.
    """
    return int(queryset._raw_delete(using))


def can_fast_delete(objs: Model | QuerySet[Any], using: str, origin: Model | None = None) -> bool:
    """Whether Django would delete ``objs`` with one statement (no cascades, parents, signals).

    ``Collector(using, origin).can_fast_delete(objs)``: public methods of an undocumented
    class. Django 5.2: ``Collector(using, origin=None)``; 6.1 adds ``force_collection``
    (default ``False``, which is what is wanted here).
    """
    return bool(Collector(using=using, origin=origin).can_fast_delete(objs))


def write_db(queryset: QuerySet[Any]) -> str:
    """The database ``queryset`` writes to, asking the router for a write, in place.

    Sets ``QuerySet._for_write`` (what ``QuerySet.update()``/``delete()`` do first), then
    reads ``QuerySet.db``. Django 5.2, 6.0, 6.1.
    """
    queryset._for_write = True  # type: ignore[attr-defined]
    return queryset.db


def needs_rollback(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``connection``'s current atomic block is already marked for rollback.

    ``BaseDatabaseWrapper.needs_rollback``, read directly because the public
    ``transaction.get_rollback()`` raises outside an atomic block. Django 5.2, 6.0, 6.1.
    """
    return bool(connection.needs_rollback)


def cached_related(instance: Model, field: Any) -> Model | None:
    """The related instance ``instance`` holds for the forward relation ``field``, if loaded.

    ``Field.is_cached(instance)`` and ``Field.get_cached_value(instance)`` of
    ``FieldCacheMixin`` (undocumented): what ``instance.order`` reads before it queries.
    Used by touch (docs/children.md) to advance the in-memory version of a parent that a
    child holds, without loading one it does not. Django 5.2, 6.0, 6.1.
    """
    if not field.is_cached(instance):
        return None
    related: Model | None = field.get_cached_value(instance)
    return related


# -- DRF ------------------------------------------------------------------------------


def wrapped_request(request: Any) -> HttpRequest:
    """The Django ``HttpRequest`` a DRF ``Request`` wraps: ``Request._request``.

    Its ``method`` is the one the client sent, where the DRF request may be a clone
    under another method (metadata, browsable API forms). DRF 3.15 to 3.18.
    """
    result: HttpRequest = request._request
    return result


# -- drf-spectacular ------------------------------------------------------------------
# AutoSchema's public hooks (get_override_parameters, get_response_serializers) cannot
# add responses next to the default ones without replacing them, so the OpenAPI
# extension uses these. drf-spectacular 0.28 to 0.30.

SPECTACULAR_RESPONSE_BODIES = "_get_response_bodies"
"""``AutoSchema._get_response_bodies(self, direction='response')``, overridden by
``openapi.ETagLockSchemaMixin`` to add 304/400/404/412/428 next to the default."""


def spectacular_is_list_view(schema: Any, serializer: Any = None) -> bool:
    """``AutoSchema._is_list_view(serializer=None)``: the operation returns a list."""
    return bool(schema._is_list_view(serializer))


def spectacular_is_create_operation(schema: Any) -> bool:
    """``AutoSchema._is_create_operation()``: the operation creates (POST to a list)."""
    return bool(schema._is_create_operation())


def spectacular_response_for_code(
    schema: Any, serializer: Any, status_code: str, media_types: list[str] | None = None
) -> dict[str, Any]:
    """``AutoSchema._get_response_for_code(serializer, status_code, media_types)``.

    The response object drf-spectacular would build for ``serializer`` at
    ``status_code``, content included.
    """
    result: dict[str, Any] = schema._get_response_for_code(serializer, status_code, media_types)
    return result


# --- admin ---
# The admin entries import django.contrib.admin lazily, so the core can import this
# module in projects without the admin. Pinned by tests/admin/test_compat.py.
# Checked against Django 5.2, 6.0 and 6.1.
#
# Not a private API but a reliance on Django's code: the list_editable save
# (admin/list_editable.py) counts on ``ModelAdmin.changelist_view()`` validating the
# changelist formset with ``is_valid()`` and then saving only the forms whose
# ``has_changed()`` is true (5.2: inline in changelist_view; 6.1: ``_save_formset()``).
# Pinned by test_changelist_view_saves_only_the_forms_that_report_a_change.

if TYPE_CHECKING:
    from django import forms
    from django.contrib.admin.helpers import AdminForm
    from django.contrib.admin.models import LogEntry
    from django.db import models
    from django.utils.safestring import SafeString

ADMIN_UNDOCUMENTED_OVERRIDES: dict[str, tuple[str, ...]] = {
    "action_checkbox": ("self", "obj"),
    "render_change_form": ("self", "request", "context", "add", "change", "form_url", "obj"),
    "render_delete_form": ("self", "request", "context"),
    "response_action": ("self", "request", "queryset"),
}
"""Undocumented ``ModelAdmin`` methods that ``VersionedAdminMixin`` overrides, with the
leading parameters the overrides rely on. Django 6.1 adds ``action_location`` to
``response_action()``, which the override passes on through ``*args``/``**kwargs``.
Checked: Django 5.2, 6.0, 6.1."""

DELETE_CONFIRMATION_ANCHOR = '<input type="hidden" name="post" value="yes">'
"""An input every ``admin/delete_confirmation.html`` form holds (Django has no block
inside that form); the version input is added right after it. Checked: Django 5.2, 6.0,
6.1."""


def selected_action_input() -> Any:
    """The ``<input type="hidden" name="_selected_action" value="...">`` that
    ``admin/delete_selected_confirmation.html`` writes per selected row, as a pattern.

    Checked: Django 5.2, 6.0, 6.1.
    """
    import re

    from django.contrib.admin import helpers

    name = re.escape(helpers.ACTION_CHECKBOX_NAME)
    return re.compile(rf'<input type="hidden" name="{name}" value="[^"]*">')


def flatten_fieldsets(fieldsets: Any) -> list[str]:
    """``django.contrib.admin.utils.flatten_fieldsets`` (undocumented). Checked: 5.2, 6.0, 6.1."""
    from django.contrib.admin.utils import flatten_fieldsets as flatten

    return list(flatten(fieldsets))


def unquote(object_id: str) -> str:
    """``django.contrib.admin.utils.unquote`` (undocumented): the pk in an admin URL.

    Checked: Django 5.2, 6.0, 6.1.
    """
    from django.contrib.admin.utils import unquote as admin_unquote

    return str(admin_unquote(object_id))


def display_for_field(value: Any, field: models.Field[Any, Any], empty: str) -> Any:
    """``django.contrib.admin.utils.display_for_field`` (undocumented), as the
    changelist displays a value, without a link (``avoid_link``, Django 5.0+).

    Checked: Django 5.2, 6.0, 6.1.
    """
    from django.contrib.admin.utils import display_for_field as display

    return display(value, field, empty, avoid_link=True)


def add_hidden_fieldset(adminform: AdminForm, field_name: str) -> None:
    """Make ``helpers.AdminForm`` (undocumented) render ``field_name`` in a hidden fieldset.

    The change form renders only the fields named in ``adminform.fieldsets``, which
    ``AdminForm.__iter__`` reads when the template renders. Checked: Django 5.2, 6.0, 6.1.
    """
    hidden: Any = (None, {"fields": [field_name], "classes": ["hidden"]})
    adminform.fieldsets = [*adminform.fieldsets, hidden]


def changed_field_labels(entry: LogEntry) -> list[str]:
    """Field labels in a ``LogEntry``'s change message (its undocumented JSON format).

    ``ModelAdmin.construct_change_message()`` writes
    ``[{"changed": {"fields": ["Given name", ...]}}, ...]``; inline objects add an
    ``"object"`` key and are left out. Checked: Django 5.2, 6.0, 6.1.
    """
    import json

    try:
        parts = json.loads(entry.change_message or "[]")
    except ValueError:
        return []
    labels: list[str] = []
    for part in parts if isinstance(parts, list) else []:
        changed = part.get("changed") if isinstance(part, dict) else None
        if isinstance(changed, dict) and "object" not in changed:
            labels.extend(str(label) for label in changed.get("fields", []))
    return labels


class _CompanionRender:
    etag_lock_companion: forms.BoundField

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        from django.utils.safestring import mark_safe

        rendered = super().render(name, value, attrs, renderer)  # type: ignore[misc]
        return mark_safe(f"{rendered}{self.etag_lock_companion}")


_companion_classes: dict[type[Any], type[Any]] = {}


def render_with(widget: forms.Widget, companion: forms.BoundField) -> forms.Widget:
    """A copy of ``widget`` that renders ``companion`` right after itself.

    The changelist renders only each row form's primary key field
    (``admin_list.items_for_result()``/``result_hidden_fields()``), so a field that
    must reach the POST rides along with it. The copy's class is swapped for a
    subclass of its own (cached per widget class), so its other behaviour is
    unchanged; relies on ``Widget.render(name, value, attrs=None, renderer=None)``.
    Checked: Django 5.2, 6.0, 6.1.
    """
    import copy

    widget_class = type(widget)
    if widget_class not in _companion_classes:
        _companion_classes[widget_class] = type(
            widget_class.__name__, (_CompanionRender, widget_class), {}
        )
    clone = copy.copy(widget)
    clone.__class__ = _companion_classes[widget_class]
    clone.etag_lock_companion = companion  # type: ignore[attr-defined]
    return clone
