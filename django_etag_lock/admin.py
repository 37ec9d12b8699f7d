"""Admin integration: no lost updates, and a way forward when an edit loses.

Every admin write of a versioned row is a compare-and-set against the version the
editor saw:

- **Change form**: the signed version (and the values the editor saw) travel in the
  hidden ``_etag_lock_version`` field, whatever ``fields``/``fieldsets`` say. A
  stale save writes nothing (the whole view is one transaction, inlines included)
  and the form comes back with a warning (who and when, from the admin log), a
  field-by-field table (started from / saved now / yours) and two ways forward:
  save my values over the current version (checked again), or discard mine.
- **Delete**: the confirmation page carries the version it showed; if the row has
  changed since, nothing is deleted and the page shows what changed.
- **list_editable**: each row carries its version; stale rows are not saved and are
  named, fresh rows are saved (or none, with ``list_editable_all_or_nothing``).
- **Actions**: each changelist row carries the version it showed; selected rows
  that changed since are left out (locked while the action runs) and named;
  ``delete_selected`` deletes each row with a compare-and-set.

Django's admin offers no block inside its delete and action confirmation forms, so
the version inputs are added to those two rendered pages next to a fixed anchor
input (see :func:`_insert_after`); everything else goes through ModelAdmin hooks.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import html
import json
import re
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import (
    display_for_field,
    flatten_fieldsets,
    model_ngettext,
    unquote,
)
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import (
    BadRequest,
    ImproperlyConfigured,
    PermissionDenied,
    ValidationError,
)
from django.db import models, router, transaction
from django.forms.models import BaseModelFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, QueryDict
from django.template.loader import get_template, select_template
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst, get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_protect

from django_etag_lock.conf import conf
from django_etag_lock.exceptions import ObjectDeletedError, StaleObjectError
from django_etag_lock.forms import (
    CURRENT_TOKEN_FIELD,
    OVERWRITE_VALUE,
    TOKEN_FIELD,
    FieldChange,
    VersionedModelFormMixin,
    VersionToken,
    model_value,
    same_value,
    snapshot_fields,
)
from django_etag_lock.models import VersionedModel
from django_etag_lock.querysets import VERSION_FIELD

if TYPE_CHECKING:
    import datetime

    from django.forms import BoundField

    _Base = admin.ModelAdmin[Any]
else:
    _Base = object

__all__ = [
    "SEEN_FIELD",
    "Conflict",
    "ConflictRow",
    "VersionedAdminMixin",
    "VersionedModelAdmin",
]

SEEN_FIELD = "_etag_lock_seen"
"""Name of the hidden ``"<pk>:<version>"`` inputs next to each changelist checkbox."""

csrf_protect_m = method_decorator(csrf_protect)

# Per-request state handed from a view to the ModelAdmin hooks it calls; ContextVars
# (not request attributes) so nested or concurrent requests never see each other's.
_rerun_conflict: ContextVar[StaleObjectError | None] = ContextVar(
    "django_etag_lock_admin_conflict", default=None
)
_delete_token: ContextVar[VersionToken | None] = ContextVar(
    "django_etag_lock_admin_delete", default=None
)
_seen_versions: ContextVar[dict[Any, int] | None] = ContextVar(
    "django_etag_lock_admin_seen", default=None
)


@dataclass(frozen=True)
class ConflictRow:
    """One line of the conflict table, values ready to display (escaped by the template)."""

    name: str
    label: str
    status: str
    status_text: str
    started: str
    current: str
    mine: str


@dataclass(frozen=True)
class Conflict:
    """What the conflict templates show."""

    headline: str
    rows: Sequence[ConflictRow]
    show_mine: bool
    overwrite_token: str | None = None
    reload_url: str | None = None
    overwrite_key: str = "_continue"
    overwrite_value: str = OVERWRITE_VALUE
    current_token_field: str = CURRENT_TOKEN_FIELD


class VersionedAdminMixin(_Base):
    """ModelAdmin mixin for VersionedModel admins; see the module docstring.

    Put it first: ``class MyAdmin(VersionedAdminMixin, MyBaseAdmin)``.
    """

    list_editable_all_or_nothing: bool | None = None
    """One stale row stops the whole list_editable save; ``None`` follows
    ``ETAG_LOCK_ADMIN_LIST_EDITABLE_ALL_OR_NOTHING``."""

    etag_lock_change_form_template = "django_etag_lock/admin/change_form.html"
    etag_lock_delete_confirmation_template = "django_etag_lock/admin/delete_confirmation.html"

    def __init__(self, model: type[models.Model], admin_site: admin.AdminSite) -> None:
        if not issubclass(model, VersionedModel):
            raise ImproperlyConfigured(
                f"{type(self).__name__} uses VersionedAdminMixin but {model._meta.label} "
                "is not a django_etag_lock VersionedModel: subclass VersionedModel or drop "
                "the mixin."
            )
        super().__init__(model, admin_site)

    # ---------------------------------------------------------------- change form

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
        versioned = _versioned_form(
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
                error, unquote(object_id)
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
            and TOKEN_FIELD not in flatten_fieldsets(cast(Any, adminform.fieldsets))
        ):
            # The admin renders only fields named in fieldsets: add ours, whatever
            # get_fieldsets() (or an override of it) returned.
            hidden: Any = (None, {"fields": [TOKEN_FIELD], "classes": ["hidden"]})
            adminform.fieldsets = [*adminform.fieldsets, hidden]
        response = super().render_change_form(request, context, add, change, form_url, obj)
        state = getattr(form, "etag_lock_conflict", None)
        if state is not None and obj is not None and isinstance(response, TemplateResponse):
            conflict = self._etag_lock_change_conflict(request, obj, state)
            _extend_response(
                response, self.etag_lock_change_form_template, etag_lock_conflict=conflict
            )
        return response

    def _etag_lock_change_conflict(
        self, request: HttpRequest, obj: models.Model, state: _ConflictState
    ) -> Conflict:
        if state.token is None:
            headline = _(
                "Nothing was saved: the %(name)s “%(object)s” changed after you opened it, "
                "and your values no longer pass its checks. Correct them below, or reload "
                "the page to start from the current version."
            ) % {"name": self.opts.verbose_name, "object": str(obj)}
            return Conflict(
                headline=headline, rows=[], show_mine=True, reload_url=request.get_full_path()
            )
        history = self._etag_lock_history(request, obj, state.token)
        if self._etag_lock_is_this(state.error, obj.pk):
            headline = self._etag_lock_headline(
                obj, history, _("Nothing was saved; your changes are kept below.")
            )
        else:
            headline = _(
                "Nothing was saved: %(model)s %(pk)s, saved together with this "
                "%(name)s, changed meanwhile. Your changes are kept below."
            ) % {
                "model": state.error.model._meta.verbose_name,
                "pk": state.error.pk,
                "name": self.opts.verbose_name,
            }
        return Conflict(
            headline=headline,
            rows=self._etag_lock_rows(state.changes, history),
            show_mine=True,
            overwrite_token=state.overwrite_token,
            reload_url=request.get_full_path(),
        )

    def _etag_lock_is_this(self, error: StaleObjectError, pk: Any) -> bool:
        """Whether ``error`` is about the row ``pk`` of this admin's model."""
        if error.model._meta.concrete_model is not self.model._meta.concrete_model:
            return False
        return str(error.pk) == str(pk)

    def _etag_lock_deleted_response(
        self, request: HttpRequest, error: StaleObjectError, *, deleting: bool = False
    ) -> HttpResponse:
        message = (
            _("The %(name)s “%(pk)s” was already deleted by someone else.")
            if deleting
            else _(
                "Nothing was saved: the %(name)s “%(pk)s” was deleted by someone else "
                "after you opened it."
            )
        )
        self.message_user(
            request,
            message % {"name": self.opts.verbose_name, "pk": error.pk},
            messages.WARNING,
        )
        if self.has_view_or_change_permission(request):
            url = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist",
                current_app=self.admin_site.name,
            )
        else:
            url = reverse("admin:index", current_app=self.admin_site.name)
        return HttpResponseRedirect(url)

    # --------------------------------------------------------------------- delete

    @csrf_protect_m
    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method != "POST":
            return super().delete_view(request, object_id, extra_context)
        token = VersionToken.load(request.POST.get(TOKEN_FIELD), self.model)
        if token is None:
            self.message_user(
                request,
                _(
                    "Nothing was deleted: the confirmation did not say which version of "
                    "the %(name)s you saw. Check it below and confirm again."
                )
                % {"name": self.opts.verbose_name},
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())
        reset = _delete_token.set(token)
        try:
            return super().delete_view(request, object_id, extra_context)
        except StaleObjectError as error:
            if not self._etag_lock_is_this(error, token.pk):
                raise
            if isinstance(error, ObjectDeletedError):
                return self._etag_lock_deleted_response(request, error, deleting=True)
            lost = error
        finally:
            _delete_token.reset(reset)
        # Show the confirmation again, for the row as it is now (a new version to
        # confirm), with what changed since the page the user confirmed on.
        current = self.model._base_manager.filter(pk=lost.pk).first()
        if current is None:
            return self._etag_lock_deleted_response(request, lost, deleting=True)
        history = self._etag_lock_history(request, current, token)
        conflict = Conflict(
            headline=self._etag_lock_headline(current, history, _("Nothing was deleted.")),
            rows=self._etag_lock_rows(_theirs(token, current), history, deleting=True),
            show_mine=False,
        )
        return super().delete_view(
            _as_get(request), object_id, {**(extra_context or {}), "etag_lock_conflict": conflict}
        )

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        token = _delete_token.get()
        if token is not None:
            if token.pk != str(obj.pk):
                raise BadRequest(
                    f"The version submitted to delete {self.model._meta.label} "
                    f"pk={obj.pk!r} belongs to another row."
                )
            setattr(obj, VERSION_FIELD, token.version)
        super().delete_model(request, obj)

    def render_delete_form(self, request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
        response = super().render_delete_form(request, context)
        obj = context.get("object")
        if obj is None or not isinstance(response, TemplateResponse):
            return response
        token = VersionToken.for_instance(obj, self._etag_lock_visible_fields(request, obj))
        _insert_after(
            response,
            '<input type="hidden" name="post" value="yes">',
            lambda anchor: _hidden_input(TOKEN_FIELD, token.sign()),
        )
        if context.get("etag_lock_conflict") is not None:
            _extend_response(response, self.etag_lock_delete_confirmation_template)
        return response

    def _etag_lock_visible_fields(
        self, request: HttpRequest, obj: models.Model
    ) -> list[models.Field[Any, Any]]:
        if not self.has_view_or_change_permission(request, obj):
            return []
        return snapshot_fields(self.model, flatten_fieldsets(self.get_fieldsets(request, obj)))

    # -------------------------------------------------------------- list_editable

    def get_changelist_form(
        self, request: HttpRequest, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        return _versioned_form(super().get_changelist_form(request, **kwargs))

    def get_changelist_formset(self, request: HttpRequest, **kwargs: Any) -> Any:
        formset = super().get_changelist_formset(request, **kwargs)
        return type(formset.__name__, (_TokenBesidePk, formset), {})

    def get_list_editable_all_or_nothing(self, request: HttpRequest) -> bool:
        """Whether one stale row stops every row of a list_editable save."""
        if self.list_editable_all_or_nothing is not None:
            return bool(self.list_editable_all_or_nothing)
        return conf.ADMIN_LIST_EDITABLE_ALL_OR_NOTHING

    @csrf_protect_m
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if (
            request.method == "POST"
            and "_save" in request.POST
            and self.list_editable
            and IS_POPUP_VAR not in request.GET
        ):
            response = self._etag_lock_save_list_editable(request)
            if response is not None:
                return response
        return super().changelist_view(request, extra_context)

    def _etag_lock_save_list_editable(self, request: HttpRequest) -> HttpResponse | None:
        """Django's list_editable save, one compare-and-set (and savepoint) per row.

        Returns None when the formset is invalid: Django's view then renders the errors.
        """
        if not self.has_change_permission(request):
            raise PermissionDenied
        formset_class = self.get_changelist_formset(request)
        formset = formset_class(
            request.POST,
            request.FILES,
            queryset=self._etag_lock_edited_rows(request, formset_class.get_default_prefix()),
        )
        if not formset.is_valid():
            return None
        using = router.db_for_write(self.model)
        all_or_nothing = self.get_list_editable_all_or_nothing(request)
        changed = 0
        stale: list[StaleObjectError] = []
        with transaction.atomic(using=using):
            for form in formset.forms:
                if not form.has_changed():
                    continue
                obj = self.save_form(request, form, change=True)
                if obj._state.adding:
                    raise BadRequest("list_editable does not allow adding.")
                try:
                    with transaction.atomic(using=using):
                        self.save_model(request, obj, form, change=True)
                        self.save_related(request, form, formsets=[], change=True)
                        self.log_change(
                            request, obj, self.construct_change_message(request, form, [])
                        )
                except StaleObjectError as error:
                    stale.append(error)
                    continue
                changed += 1
            if stale and all_or_nothing:
                transaction.set_rollback(True, using=using)
                changed = 0
        if changed:
            self.message_user(
                request,
                ngettext(
                    "%(count)s %(name)s was changed successfully.",
                    "%(count)s %(name)s were changed successfully.",
                    changed,
                )
                % {"count": changed, "name": model_ngettext(self.opts, changed)},
                messages.SUCCESS,
            )
        if stale:
            names = self._etag_lock_names(error.pk for error in stale)
            if all_or_nothing:
                message = _(
                    "Nothing was saved: someone else changed these %(name)s after the "
                    "list was loaded: %(objects)s. Reload the list to see them as they "
                    "are now, and make your changes again."
                )
            else:
                message = _(
                    "Not saved, because someone else changed them after the list was "
                    "loaded: %(objects)s. Reload the list to see these %(name)s as they "
                    "are now, and make your changes again."
                )
            self.message_user(
                request,
                message % {"name": self.opts.verbose_name_plural, "objects": names},
                messages.WARNING,
            )
        return HttpResponseRedirect(request.get_full_path())

    def _etag_lock_edited_rows(self, request: HttpRequest, prefix: str) -> models.QuerySet[Any]:
        queryset = self.get_queryset(request)
        pk = self.opts.pk
        pattern = re.compile(rf"{re.escape(prefix)}-\d+-{re.escape(pk.name)}$")
        try:
            pks = [pk.to_python(v) for k, v in request.POST.items() if pattern.match(k)]
        except ValidationError:
            return queryset
        return queryset.filter(pk__in=pks)

    # -------------------------------------------------------------------- actions

    def action_checkbox(self, obj: models.Model) -> SafeString:
        checkbox = super().action_checkbox(obj)
        return format_html(
            '{}<input type="hidden" name="{}" value="{}:{}">',
            checkbox,
            SEEN_FIELD,
            obj.pk,
            getattr(obj, VERSION_FIELD),
        )

    def response_action(  # type: ignore[override]  # 6.1 adds action_location, passed on
        self, request: HttpRequest, queryset: models.QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponseBase | None:
        seen = self._etag_lock_seen(request)
        selected = self._etag_lock_selected(request)
        using = router.db_for_write(self.model)
        try:
            with transaction.atomic(using=using):
                unseen = [pk for pk in selected if pk not in seen]
                checked = [pk for pk in selected if pk in seen]
                # Lock the selected rows until the action is done, so they cannot
                # change between this check and the action's writes.
                locked = self.model._base_manager.using(using).filter(pk__in=checked)
                current = dict(locked.select_for_update().values_list("pk", VERSION_FIELD))
                stale = [pk for pk in checked if current.get(pk) != seen[pk]]
                if stale:
                    self._etag_lock_warn_left_alone(request, stale, unseen=False)
                if unseen:
                    self._etag_lock_warn_left_alone(request, unseen, unseen=True)
                if stale or unseen:
                    if len(stale) + len(unseen) == len(selected) and not _select_across(request):
                        return HttpResponseRedirect(request.get_full_path())
                    queryset = queryset.exclude(pk__in=[*stale, *unseen])
                reset = _seen_versions.set(seen)
                try:
                    response = super().response_action(request, queryset, *args, **kwargs)
                finally:
                    _seen_versions.reset(reset)
        except StaleObjectError as error:
            # delete_queryset() lost a race the lock could not prevent (SQLite).
            self.message_user(
                request,
                _(
                    "Nothing was done: %(objects)s changed while the action ran. "
                    "Reload the list and try again."
                )
                % {"objects": self._etag_lock_names([error.pk])},
                messages.WARNING,
            )
            return HttpResponseRedirect(request.get_full_path())
        if isinstance(response, TemplateResponse):
            # An intermediate page (delete_selected's confirmation) posts the
            # selection back: the versions go with it.
            _insert_after(response, _SELECTED_INPUT, self._etag_lock_seen_input(seen))
        return response

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        """Delete each row with a compare-and-set against the version the user saw."""
        seen = _seen_versions.get() or {}
        for obj in queryset:
            if obj.pk in seen:
                setattr(obj, VERSION_FIELD, seen[obj.pk])
            obj.delete()

    def _etag_lock_selected(self, request: HttpRequest) -> list[Any]:
        try:
            return [
                self.opts.pk.to_python(value)
                for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            ]
        except ValidationError as error:
            raise BadRequest(f"Malformed selection for {self.model._meta.label}.") from error

    def _etag_lock_seen(self, request: HttpRequest) -> dict[Any, int]:
        """``{pk: version}`` of the rows as the page that posted showed them."""
        seen: dict[Any, int] = {}
        for value in request.POST.getlist(SEEN_FIELD):
            pk, _sep, version = str(value).rpartition(":")
            try:
                seen[self.opts.pk.to_python(pk)] = int(version)
            except (ValidationError, ValueError):
                continue
        # A change-form action (Django 6.1+) posts the change form, with its token.
        token = VersionToken.load(request.POST.get(TOKEN_FIELD), self.model)
        if token is not None:
            with contextlib.suppress(ValidationError):
                seen.setdefault(self.opts.pk.to_python(token.pk), token.version)
        return seen

    def _etag_lock_seen_input(self, seen: dict[Any, int]) -> Callable[[str], str]:
        def seen_input(anchor: str) -> str:
            match = _VALUE_RE.search(anchor)
            if match is None:
                return ""
            raw = html.unescape(match.group(1))
            try:
                pk = self.opts.pk.to_python(raw)
            except ValidationError:
                return ""
            version = seen.get(pk)
            if version is None:
                # Selected across pages without being shown: the version now.
                version = (
                    self.model._base_manager.filter(pk=pk)
                    .values_list(VERSION_FIELD, flat=True)
                    .first()
                )
            if version is None:
                return ""
            return _hidden_input(SEEN_FIELD, f"{raw}:{version}")

        return seen_input

    def _etag_lock_warn_left_alone(
        self, request: HttpRequest, pks: list[Any], *, unseen: bool
    ) -> None:
        if unseen:
            message = _(
                "Left alone, because the page did not say which version you saw: "
                "%(objects)s. Reload the list and try again."
            )
        else:
            message = _(
                "Left alone, because someone else changed them after the list was "
                "loaded: %(objects)s. Reload the list to see these %(name)s as they "
                "are now."
            )
        self.message_user(
            request,
            message
            % {"objects": self._etag_lock_names(pks), "name": self.opts.verbose_name_plural},
            messages.WARNING,
        )

    def _etag_lock_names(self, pks: Iterable[Any]) -> str:
        pk_list = list(pks)
        found = {obj.pk: str(obj) for obj in self.model._base_manager.filter(pk__in=pk_list)}
        names = [found.get(pk) or _("%(pk)s (deleted)") % {"pk": pk} for pk in pk_list]
        return str(get_text_list([f"“{name}”" for name in names], _("and")))

    # ------------------------------------------------------------ conflict report

    def _etag_lock_history(
        self, request: HttpRequest, obj: models.Model, token: VersionToken
    ) -> _History:
        """The admin log's changes of ``obj`` since ``token`` was issued."""
        content_types = ContentType.objects.get_for_models(
            self.model, obj._meta.concrete_model or self.model, for_concrete_models=False
        ).values()
        entries = (
            LogEntry.objects.filter(
                content_type__in=list(content_types),
                object_id=str(obj.pk),
                action_flag=CHANGE,
                action_time__gte=token.issued_at,
            )
            .select_related("user")
            .order_by("action_time")
        )
        history = _History(versions=max(int(getattr(obj, VERSION_FIELD)) - token.version, 1))
        for entry in entries:
            if entry.user_id == getattr(request.user, "pk", None):
                name = _("you (in another window)")
            else:
                name = entry.user.get_username()
            history.add(name, entry.action_time, _changed_labels(entry))
        return history

    def _etag_lock_headline(self, obj: models.Model, history: _History, outcome: str) -> str:
        """Who changed the row and when, as far as can honestly be said, then ``outcome``."""
        params: dict[str, Any] = {"object": str(obj), "name": self.opts.verbose_name}
        if history.last_at is not None:
            params["users"] = get_text_list(history.editors, _("and"))
            params["when"] = _format_time(history.last_at)
            headline = (
                _(
                    "The %(name)s “%(object)s” was changed by %(users)s after you opened "
                    "it (last change: %(when)s)."
                )
                % params
            )
            if history.versions > history.entries:
                headline += " " + _("It was also changed outside the admin.")
        elif (when := _last_modified(obj)) is not None:
            params["when"] = _format_time(when)
            headline = (
                _("The %(name)s “%(object)s” was changed at %(when)s, after you opened it.")
                % params
            )
        else:
            headline = (
                _("The %(name)s “%(object)s” was changed by someone else after you opened it.")
                % params
            )
        return f"{headline} {outcome}"

    def _etag_lock_rows(
        self, changes: Sequence[FieldChange], history: _History, *, deleting: bool = False
    ) -> list[ConflictRow]:
        not_editable = _("(read-only)")
        rows = []
        for change in changes:
            params = {"them": history.who_changed(change.label)}
            if deleting or not change.editable:
                status_text = _("Changed by %(them)s.") % params
            elif change.status == "mine":
                status_text = _("Changed only by you: your value is in the form.")
            elif change.status == "theirs":
                status_text = (
                    _("Changed only by %(them)s: the form now shows their value.") % params
                )
            elif change.status == "both":
                status_text = _("Changed by you and by %(them)s: the form keeps your value.") % (
                    params
                )
            else:
                status_text = _("You and %(them)s made the same change.") % params
            display = functools.partial(self._etag_lock_display, change.field)
            started, current = display(change.started), display(change.current)
            if started == current and isinstance(change.field, models.DateTimeField):
                # Two saves within the same minute read alike in DATETIME_FORMAT.
                display = functools.partial(_precise_time, display)
                started, current = display(change.started), display(change.current)
            rows.append(
                ConflictRow(
                    name=change.name,
                    label=change.label,
                    status=change.status,
                    status_text=status_text,
                    started=started,
                    current=current,
                    mine=display(change.mine) if change.editable else not_editable,
                )
            )
        return rows

    def _etag_lock_display(self, field: models.Field[Any, Any], value: Any) -> str:
        empty = self.get_empty_value_display()
        related = field.related_model
        if related is not None and not isinstance(related, str):
            if field.many_to_many:
                objs = related._base_manager.filter(pk__in=list(value or []))
                return ", ".join(str(o) for o in objs) or empty
            if value is None:
                return empty
            target = field.target_field.attname  # type: ignore[attr-defined]
            found = related._base_manager.filter(**{target: value}).first()
            return str(found) if found is not None else str(value)
        shown = display_for_field(value, field, empty, avoid_link=True)
        # display_for_field() marks only its own HTML (boolean icons) safe.
        return shown if isinstance(shown, SafeString) else str(shown)


class VersionedModelAdmin(VersionedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin whose writes never silently overwrite a newer version."""


# ------------------------------------------------------------------------ forms


def _versioned_form(form: type[Any], **attrs: Any) -> type[Any]:
    bases = (
        (form,) if issubclass(form, VersionedModelFormMixin) else (VersionedModelFormMixin, form)
    )
    return type(form.__name__, bases, attrs)


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


class _TokenBesidePk(BaseModelFormSet):  # type: ignore[type-arg]
    """The changelist template renders only each row form's pk field; the row's
    version token is rendered right after it, so it always reaches the POST."""

    def add_fields(self, form: forms.ModelForm[Any], index: int | None) -> None:
        super().add_fields(form, index)
        if TOKEN_FIELD in form.fields:
            pk_field = form.fields[form._meta.model._meta.pk.name]
            widget = copy.copy(pk_field.widget)
            widget.__class__ = _with_companion(type(widget))
            widget.etag_lock_companion = form[TOKEN_FIELD]
            pk_field.widget = widget


class _CompanionRender:
    etag_lock_companion: BoundField

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        rendered = super().render(name, value, attrs, renderer)  # type: ignore[misc]
        return mark_safe(f"{rendered}{self.etag_lock_companion}")


_companion_classes: dict[type[forms.Widget], type[forms.Widget]] = {}


def _with_companion(widget_class: type[forms.Widget]) -> type[forms.Widget]:
    if widget_class not in _companion_classes:
        _companion_classes[widget_class] = type(
            widget_class.__name__, (_CompanionRender, widget_class), {}
        )
    return _companion_classes[widget_class]


# --------------------------------------------------------------------- helpers


@dataclass
class _History:
    """Admin log entries of one row since an editor opened it."""

    versions: int
    entries: int = 0
    last_at: datetime.datetime | None = None
    editors: list[str] = dataclasses.field(default_factory=list)
    by_label: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def add(self, name: str, at: datetime.datetime, labels: Iterable[str]) -> None:
        self.entries += 1
        self.last_at = at
        if name not in self.editors:
            self.editors.append(name)
        for label in labels:
            names = self.by_label.setdefault(label.casefold(), [])
            if name not in names:
                names.append(name)

    def who_changed(self, label: str) -> str:
        names = self.by_label.get(label.casefold())
        if not names and self.entries >= self.versions:
            # Every write since is in the log (e.g. an auto_now field, which change
            # messages never list): it was one of those editors.
            names = self.editors
        return str(get_text_list(names, _("and"))) if names else _("someone else")


def _changed_labels(entry: LogEntry) -> list[str]:
    """Field labels in a LogEntry's change message (JSON since Django 2.0)."""
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


def _theirs(token: VersionToken, current: models.Model) -> list[FieldChange]:
    """Fields of ``current`` that differ from the token's snapshot (nothing of "mine")."""
    changes = []
    for field in snapshot_fields(type(current), token.values):
        started, now = token.value(field), model_value(field, current)
        if not same_value(field, started, now):
            changes.append(
                FieldChange(
                    name=field.name,
                    label=str(capfirst(field.verbose_name)),
                    field=field,
                    started=started,
                    current=now,
                    mine=None,
                    editable=False,
                    status="theirs",
                )
            )
    return changes


def _as_get(request: HttpRequest) -> HttpRequest:
    """The same request as a GET, to have Django's view render its confirmation page."""
    clone = copy.copy(request)
    clone.method = "GET"
    clone.POST = QueryDict()
    return clone


def _extend_response(response: TemplateResponse, template: str, **context: Any) -> None:
    """Render ``template`` instead, which extends the template the admin chose.

    So a project's own (per-app, per-model or ModelAdmin) template stays in use.
    """
    chosen = response.template_name
    if isinstance(chosen, str):
        base: Any = get_template(chosen)
    elif isinstance(chosen, (list, tuple)):
        base = select_template(chosen)
    else:  # already a template object
        base = chosen
    response.context_data = {
        **(response.context_data or {}),
        **context,
        "etag_lock_base_template": base,
    }
    response.template_name = template


_SELECTED_INPUT = re.compile(
    rf'<input type="hidden" name="{re.escape(helpers.ACTION_CHECKBOX_NAME)}" value="[^"]*">'
)
_VALUE_RE = re.compile(r'value="([^"]*)"')


def _insert_after(
    response: TemplateResponse, anchor: str | re.Pattern[str], extra: Callable[[str], str]
) -> None:
    """After rendering, add ``extra(anchor_html)`` right after each anchor input.

    Django's delete and action confirmation templates have no block inside their
    form; the anchors are inputs those forms always contain (``post=yes``, the
    selected pks), so the version reaches the POST that deletes.
    """
    pattern = anchor if isinstance(anchor, re.Pattern) else re.compile(re.escape(anchor))

    def add_inputs(rendered: HttpResponse) -> None:
        charset = rendered.charset
        content = rendered.content.decode(charset)
        rendered.content = pattern.sub(lambda m: m.group(0) + extra(m.group(0)), content).encode(
            charset
        )

    response.add_post_render_callback(add_inputs)


def _hidden_input(name: str, value: str) -> str:
    return str(format_html('<input type="hidden" name="{}" value="{}">', name, value))


def _select_across(request: HttpRequest) -> bool:
    return request.POST.get("select_across") in ("1", "True", "true")


def _format_time(value: datetime.datetime) -> str:
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return str(formats.date_format(value, "DATETIME_FORMAT"))


def _precise_time(fallback: Callable[[Any], str], value: Any) -> str:
    if value is None:
        return fallback(value)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return str(formats.date_format(value, "Y-m-d H:i:s.u"))


def _last_modified(obj: models.Model) -> datetime.datetime | None:
    for field in obj._meta.concrete_fields:
        if isinstance(field, models.DateTimeField) and getattr(field, "auto_now", False):
            value: datetime.datetime | None = getattr(obj, field.attname)
            return value
    return None
