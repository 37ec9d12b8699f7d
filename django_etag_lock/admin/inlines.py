"""Versioned inlines: each inline row carries its own version (docs/children.md).

Every inline form of an existing row gets the hidden, signed ``_etag_lock_version``
field, like the change form: a changed row is saved with a compare-and-set against the
version shown, a row ticked for deletion is deleted with one. A stale inline row makes
the whole save lose (the change view is one transaction), and the change form comes
back with the conflict, naming the inline rows that changed meanwhile and what changed,
with the editor's typing kept. A child that touches its parent (``etag_lock_touch``)
makes the parent stale too, so an inline edit made elsewhere is caught even for rows
the editor left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext as _

from django_etag_lock import compat
from django_etag_lock.admin.base import versioned_form
from django_etag_lock.admin.conflicts import ConflictReport, ConflictRow, History
from django_etag_lock.exceptions import VersionFieldError
from django_etag_lock.forms import TOKEN_FIELD, VersionTokenField
from django_etag_lock.querysets import VERSION_FIELD

if TYPE_CHECKING:
    from django.forms.models import BaseInlineFormSet

    _InlineBase = admin.options.InlineModelAdmin[Any, Any]
else:
    _InlineBase = object

__all__ = [
    "VersionedInlineMixin",
    "VersionedStackedInline",
    "VersionedTabularInline",
    "inline_conflicts",
]


class _InlineFormMixin:
    """New inline rows get an empty token field too, so every row renders alike."""

    fields: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if TOKEN_FIELD not in self.fields:
            self.fields[TOKEN_FIELD] = VersionTokenField()


class _VersionedInlineFormSetMixin:
    """Deletes compare the version each row was shown at, as saves do."""

    initial_forms: list[Any]

    def delete_existing(self, obj: models.Model, commit: bool = True) -> None:
        form = next((f for f in self.initial_forms if f.instance is obj), None)
        token = getattr(form, "etag_lock_token", None)
        if token is None:
            raise VersionFieldError(
                f"Cannot delete {obj._meta.label} pk={obj.pk!r} from an inline without "
                f"the version it was shown at: render the hidden {TOKEN_FIELD!r} field."
            )
        setattr(obj, VERSION_FIELD, token.version)
        super().delete_existing(obj, commit=commit)  # type: ignore[misc]


class VersionedInlineMixin(_InlineBase):
    """InlineModelAdmin mixin for an inline of a versioned model; put it first."""

    def get_fieldsets(self, request: HttpRequest, obj: models.Model | None = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if TOKEN_FIELD in compat.flatten_fieldsets(fieldsets):
            return fieldsets
        # Inline templates render only the fields named in fieldsets.
        name, options = fieldsets[0] if fieldsets else (None, {"fields": []})
        first = (name, {**options, "fields": [*options.get("fields", ()), TOKEN_FIELD]})
        return [first, *fieldsets[1:]]

    def get_formset(
        self, request: HttpRequest, obj: models.Model | None = None, **kwargs: Any
    ) -> type[BaseInlineFormSet[Any, Any, Any]]:
        if "fields" not in kwargs:
            fields = compat.flatten_fieldsets(self.get_fieldsets(request, obj))
            kwargs["fields"] = [name for name in fields if name != TOKEN_FIELD]
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = versioned_form(formset.form, _InlineFormMixin)
        return type(formset.__name__, (_VersionedInlineFormSetMixin, formset), {})


class VersionedTabularInline(VersionedInlineMixin, admin.TabularInline):  # type: ignore[type-arg]
    """A ``TabularInline`` whose rows are saved and deleted with compare-and-set."""


class VersionedStackedInline(VersionedInlineMixin, admin.StackedInline):  # type: ignore[type-arg]
    """A ``StackedInline`` whose rows are saved and deleted with compare-and-set."""


def inline_conflicts(
    report: ConflictReport, inline_admin_formsets: Iterable[Any]
) -> tuple[list[str], list[ConflictRow]]:
    """The inline rows that changed (or went) since the page was shown, and what changed.

    Returns the rows' names and one table line per changed field, labelled with the row.
    One query per inline, on the conflict path only.
    """
    names: list[str] = []
    rows: list[ConflictRow] = []
    for inline_admin_formset in inline_admin_formsets:
        formset = inline_admin_formset.formset
        model = formset.model
        shown = {
            form.instance.pk: form
            for form in formset.initial_forms
            if getattr(form, "etag_lock_token", None) is not None
        }
        if not shown:
            continue
        current = {obj.pk: obj for obj in model._base_manager.filter(pk__in=list(shown))}
        for pk, form in shown.items():
            token = form.etag_lock_token
            now = current.get(pk)
            if now is not None and getattr(now, VERSION_FIELD) == token.version:
                continue
            label = f"{model._meta.verbose_name} “{now if now is not None else pk}”"
            if now is None:
                names.append(_("%(row)s (deleted)") % {"row": label})
                continue
            names.append(label)
            if not form.is_valid():
                continue
            history = History(versions=max(getattr(now, VERSION_FIELD) - token.version, 1))
            for row in report.rows(form.etag_lock_changes(now), history):
                rows.append(
                    ConflictRow(
                        name=f"{formset.prefix}_{pk}_{row.name}",
                        label=f"{label}: {row.label}",
                        status=row.status,
                        status_text=row.status_text,
                        started=row.started,
                        current=row.current,
                        mine=row.mine,
                    )
                )
    return names, rows
