"""The change form: the signed version travels with the form; a stale save writes
nothing and comes back with the conflict, keeping the editor's values."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.admin import helpers
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from django_etag_lock import compat
from django_etag_lock.admin.base import VersionedAdminBase, csrf_protect_m, versioned_form
from django_etag_lock.admin.html import add_to_link, extend_response
from django_etag_lock.changes import FieldChange
from django_etag_lock.exceptions import ObjectDeletedError, StaleObjectError
from django_etag_lock.forms import TOKEN_FIELD
from django_etag_lock.tokens import VersionToken

# The lost save's error, handed from changeform_view() to the get_form() of its re-run;
# a ContextVar (not a request attribute) so nested or concurrent requests never mix.
_rerun_conflict: ContextVar[StaleObjectError | None] = ContextVar(
    "django_etag_lock_admin_conflict", default=None
)


class ChangeFormMixin(VersionedAdminBase):
    """The change form part of ``VersionedAdminMixin``."""

    etag_lock_change_form_template = "django_etag_lock/admin/change_form.html"

    def get_form(
        self,
        request: HttpRequest,
        obj: models.Model | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm[Any]]:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form
        readonly = set(self.get_readonly_fields(request, obj))
        shown_readonly = tuple(name for name in kwargs.get("fields") or () if name in readonly)
        versioned = versioned_form(
            form, etag_lock_extra_fields=shown_readonly, etag_lock_overwrite_key="_continue"
        )
        if _rerun_conflict.get() is not None:
            return _conflict_form(versioned)
        return versioned

    @csrf_protect_m
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleObjectError as error:
            if object_id is None or request.method != "POST" or "_saveasnew" in request.POST:
                raise
            if isinstance(error, ObjectDeletedError) and self._etag_lock_is_this(
                error, compat.unquote(object_id)
            ):
                return self._etag_lock_deleted_response(request, error)
            # The transaction of the failed save is rolled back (changeform_view is
            # atomic). Run the view once more: get_form() now hands out a form that
            # re-validates the POST, keeps the editor's values and does not save.
            reset = _rerun_conflict.set(error)
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            finally:
                _rerun_conflict.reset(reset)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: models.Model | None = None,
    ) -> HttpResponse:
        adminform: helpers.AdminForm | None = context.get("adminform")
        form = adminform.form if adminform is not None else None
        if (
            adminform is not None
            and form is not None
            and TOKEN_FIELD in form.fields
            and change
            and self.has_change_permission(request, obj)
            and TOKEN_FIELD not in compat.flatten_fieldsets(adminform.fieldsets)
        ):
            # The admin renders only fields named in fieldsets: add ours, whatever
            # get_fieldsets() (or an override of it) returned.
            compat.add_hidden_fieldset(adminform, TOKEN_FIELD)
        response = super().render_change_form(request, context, add, change, form_url, obj)
        if change and obj is not None and isinstance(response, TemplateResponse):
            # The Delete link names the version this page shows, so the confirmation
            # can refuse a row changed since. Only the version: it travels in a URL.
            shown = VersionToken.for_instance(obj, ()).sign()
            add_to_link(response, compat.DELETE_LINK, TOKEN_FIELD, shown)
        state = getattr(form, "etag_lock_conflict", None)
        if state is not None and obj is not None and isinstance(response, TemplateResponse):
            conflict = self.get_conflict_report(request).for_change_form(
                obj,
                error=state.error,
                token=state.token,
                changes=state.changes,
                overwrite_token=state.overwrite_token,
            )
            conflict = _with_inlines(
                self.get_conflict_report(request), conflict, context.get("inline_admin_formsets")
            )
            extend_response(
                response, self.etag_lock_change_form_template, etag_lock_conflict=conflict
            )
        return response


def _with_inlines(report: Any, conflict: Any, inline_admin_formsets: Any) -> Any:
    """``conflict`` naming the inline rows that changed meanwhile, and their changes."""
    from django_etag_lock.admin.inlines import inline_conflicts

    if not inline_admin_formsets:
        return conflict
    names, rows = inline_conflicts(report, inline_admin_formsets)
    if not names:
        return conflict
    headline = _(
        "%(headline)s Changed meanwhile as well: %(rows)s. Nothing was saved; reload the "
        "page to start from the current version of every row."
    ) % {"headline": conflict.headline, "rows": get_text_list(names, _("and"))}
    # The "save over" button would resubmit the inline rows' old versions: reload instead.
    return dataclasses.replace(
        conflict, headline=headline, rows=[*conflict.rows, *rows], overwrite_token=None
    )


@dataclass(frozen=True)
class _ConflictState:
    error: StaleObjectError
    token: VersionToken | None
    changes: Sequence[FieldChange]
    overwrite_token: str | None


def _conflict_form(form_class: type[Any]) -> type[Any]:
    """A form for the re-run after a lost save: it shows, it never saves.

    It validates the POST on a copy of the row (``is_valid()`` writes onto its
    instance), compares it with the row as saved now, and then becomes an unbound
    form over the current row with the editor's changed values as initial data. So
    the page shows: their changes where only they changed a field, the editor's
    values everywhere the editor changed something. Being unbound, it is not valid
    and Django's view re-renders the page instead of saving.
    """

    class ConflictForm(form_class):  # type: ignore[misc]
        def __init__(self, data: Any = None, files: Any = None, *args: Any, **kwargs: Any) -> None:
            error = _rerun_conflict.get()
            assert error is not None
            current = kwargs.pop("instance")
            probe = form_class(data, files, *args, instance=copy.copy(current), **kwargs)
            if not probe.is_valid() or probe.etag_lock_token is None:
                # Cannot compare (e.g. a unique value taken meanwhile): show the
                # bound form with its errors; the warning still explains.
                super().__init__(data, files, *args, instance=current, **kwargs)
                self.etag_lock_conflict = _ConflictState(error, None, (), None)
                return
            changes = probe.etag_lock_changes(current)
            initial = dict(kwargs.pop("initial", None) or {})
            initial.update({c.name: c.mine for c in changes if c.keeps_mine})
            super().__init__(None, None, *args, instance=current, initial=initial, **kwargs)
            # A plain "Save" still names the version the editor started from, so it
            # conflicts again; only the explicit overwrite uses the current one.
            self.fields[TOKEN_FIELD].initial = probe.etag_lock_token.sign()
            self.etag_lock_conflict = _ConflictState(
                error,
                probe.etag_lock_token,
                changes,
                probe.etag_lock_snapshot(current).sign(),
            )

    ConflictForm.__name__ = form_class.__name__
    return ConflictForm
