"""What every feature of the admin integration shares: the conflict report hook, how a
lost write on a deleted row is answered, and how rows are named in messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect

from django_etag_lock.admin.conflicts import ConflictReport, same_row
from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.forms import VersionedModelFormMixin
from django_etag_lock.models import VersionedModel

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Any]
else:
    _Base = object

csrf_protect_m = method_decorator(csrf_protect)


class VersionedAdminBase(_Base):
    """The parts of ``VersionedAdminMixin`` its feature mixins share."""

    conflict_report_class: type[ConflictReport] = ConflictReport
    """What builds the conflict warning and table; see :class:`ConflictReport`."""

    def get_conflict_report(self, request: HttpRequest) -> ConflictReport:
        """The conflict report for ``request``: ``conflict_report_class(self, request)``."""
        return self.conflict_report_class(self, request)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        if not issubclass(self.model, VersionedModel):
            # Reported at startup as django_etag_lock.E002; every view reads through here.
            raise ImproperlyConfigured(
                f"{type(self).__name__} uses VersionedAdminMixin but {self.model._meta.label} "
                "is not a django_etag_lock VersionedModel: subclass VersionedModel or drop "
                "the mixin (system check django_etag_lock.E002)."
            )
        return super().get_queryset(request)

    def _etag_lock_is_this(self, error: StaleObjectError, pk: Any) -> bool:
        """Whether ``error`` is about the row ``pk`` of this admin's model."""
        return same_row(self.model, error, pk)

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

    def _etag_lock_names(self, pks: Iterable[Any]) -> str:
        pk_list = list(pks)
        found = {obj.pk: str(obj) for obj in self.model._base_manager.filter(pk__in=pk_list)}
        names = [found.get(pk) or _("%(pk)s (deleted)") % {"pk": pk} for pk in pk_list]
        return str(get_text_list([f"“{name}”" for name in names], _("and")))


def versioned_form(form: type[Any], *mixins: type[Any], **attrs: Any) -> type[Any]:
    """``form`` with :class:`VersionedModelFormMixin` (and ``mixins``) in front."""
    bases: tuple[type[Any], ...] = (*mixins, form)
    if not issubclass(form, VersionedModelFormMixin):
        bases = (*mixins, VersionedModelFormMixin, form)
    return type(form.__name__, bases, attrs)
