"""Every use of private (or undocumented) Django API, in one place.

Each entry names the versions it was checked against and has a test pinning its
signature and behaviour, run on every supported Django line by the matrix in ``.ci/run``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
