"""list_editable: each row carries its version; stale rows are left alone and named.

The save is Django's own ``changelist_view()`` flow. The changelist's formset, once
valid, reads the versions of the rows the editor changed under a lock
(``SELECT ... FOR UPDATE``, in a transaction around the view) and marks the stale
ones unchanged, so Django's loop, which saves only changed forms, leaves them alone;
with ``list_editable_all_or_nothing`` one stale row leaves every row alone.
"""

from __future__ import annotations

import dataclasses
from contextvars import ContextVar
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.db import router, transaction
from django.forms.models import BaseModelFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _

from django_etag_lock import compat
from django_etag_lock.admin.base import VersionedAdminBase, csrf_protect_m, versioned_form
from django_etag_lock.conf import conf
from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.forms import TOKEN_FIELD
from django_etag_lock.querysets import VERSION_FIELD


@dataclasses.dataclass
class _Outcome:
    """The rows one list_editable save left alone because they were stale."""

    stale: list[Any] = dataclasses.field(default_factory=list)


_outcome: ContextVar[_Outcome | None] = ContextVar(
    "django_etag_lock_admin_list_editable", default=None
)


class _RowForm:
    """A changelist row form that can be told to count as unchanged."""

    etag_lock_left_alone = False

    def has_changed(self) -> bool:
        return not self.etag_lock_left_alone and bool(super().has_changed())  # type: ignore[misc]


class VersionedChangelistFormSet(BaseModelFormSet):  # type: ignore[type-arg]
    """The changelist formset: each row's token rendered beside its pk, stale rows dropped."""

    etag_lock_all_or_nothing: ClassVar[bool] = False

    def add_fields(self, form: forms.ModelForm[Any], index: int | None) -> None:
        super().add_fields(form, index)
        if TOKEN_FIELD in form.fields:
            # The changelist template renders only each row form's pk field.
            pk_field = form.fields[form._meta.model._meta.pk.name]
            pk_field.widget = compat.render_with(pk_field.widget, form[TOKEN_FIELD])

    def is_valid(self) -> bool:
        valid = bool(super().is_valid())
        if valid and self.is_bound:
            self.etag_lock_leave_stale_alone()
        return valid

    def etag_lock_leave_stale_alone(self) -> None:
        """Mark unchanged the edited rows whose version moved on since the list was shown."""
        model = self.model
        assert model is not None
        edited: list[Any] = [
            form
            for form in self.forms
            if form.has_changed()
            and getattr(form, "etag_lock_token", None) is not None
            and not form.instance._state.adding
        ]
        if not edited:
            return
        using = router.db_for_write(model)
        rows = model._base_manager.using(using).filter(pk__in=[form.instance.pk for form in edited])
        if transaction.get_connection(using).in_atomic_block:
            # Held until the view's transaction ends, so a row checked fresh here
            # cannot change before Django's loop saves it.
            rows = rows.select_for_update()
        current = dict(rows.values_list("pk", VERSION_FIELD))
        stale = [f for f in edited if current.get(f.instance.pk) != f.etag_lock_token.version]
        if not stale:
            return
        for form in edited if self.etag_lock_all_or_nothing else stale:
            form.etag_lock_left_alone = True
        outcome = _outcome.get()
        if outcome is not None:
            outcome.stale.extend(form.instance.pk for form in stale)


class ListEditableMixin(VersionedAdminBase):
    """The list_editable part of ``VersionedAdminMixin``."""

    list_editable_all_or_nothing: bool | None = None
    """One stale row stops the whole list_editable save; ``None`` follows
    ``ETAG_LOCK_ADMIN_LIST_EDITABLE_ALL_OR_NOTHING``."""

    def get_changelist_form(
        self, request: HttpRequest, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        return versioned_form(super().get_changelist_form(request, **kwargs), _RowForm)

    def get_changelist_formset(self, request: HttpRequest, **kwargs: Any) -> Any:
        formset = super().get_changelist_formset(request, **kwargs)
        attrs = {"etag_lock_all_or_nothing": self.get_list_editable_all_or_nothing(request)}
        return type(formset.__name__, (VersionedChangelistFormSet, formset), attrs)

    def get_list_editable_all_or_nothing(self, request: HttpRequest) -> bool:
        """Whether one stale row stops every row of a list_editable save."""
        if self.list_editable_all_or_nothing is not None:
            return bool(self.list_editable_all_or_nothing)
        return conf.ADMIN_LIST_EDITABLE_ALL_OR_NOTHING

    @csrf_protect_m
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not (request.method == "POST" and "_save" in request.POST and self.list_editable):
            return super().changelist_view(request, extra_context)
        outcome = _Outcome()
        reset = _outcome.set(outcome)
        try:
            # One transaction for the locking read in the formset's validation and
            # Django's saves after it.
            with transaction.atomic(using=router.db_for_write(self.model)):
                response = super().changelist_view(request, extra_context)
        except StaleObjectError as error:
            # A race the lock could not prevent (SQLite has no row locks): nothing saved.
            outcome.stale = [error.pk]
            self._etag_lock_warn_stale_rows(request, outcome, all_or_nothing=True)
            return HttpResponseRedirect(request.get_full_path())
        finally:
            _outcome.reset(reset)
        if outcome.stale:
            all_or_nothing = self.get_list_editable_all_or_nothing(request)
            self._etag_lock_warn_stale_rows(request, outcome, all_or_nothing=all_or_nothing)
        return response

    def _etag_lock_warn_stale_rows(
        self, request: HttpRequest, outcome: _Outcome, *, all_or_nothing: bool
    ) -> None:
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
        names = self._etag_lock_names(outcome.stale)
        self.message_user(
            request,
            message % {"name": self.opts.verbose_name_plural, "objects": names},
            messages.WARNING,
        )
