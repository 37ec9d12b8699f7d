"""Delete: the confirmation page carries the version it showed; a stale confirmation
deletes nothing and shows the confirmation again, with what changed."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from django_etag_lock import compat
from django_etag_lock.admin.base import VersionedAdminBase, csrf_protect_m
from django_etag_lock.admin.html import as_get, extend_response, hidden_input, insert_after
from django_etag_lock.changes import snapshot_fields
from django_etag_lock.exceptions import ObjectDeletedError, StaleObjectError
from django_etag_lock.forms import TOKEN_FIELD
from django_etag_lock.querysets import VERSION_FIELD
from django_etag_lock.tokens import VersionToken

# The confirmed version, handed from delete_view() to delete_model().
_delete_token: ContextVar[VersionToken | None] = ContextVar(
    "django_etag_lock_admin_delete", default=None
)


class DeleteMixin(VersionedAdminBase):
    """The delete part of ``VersionedAdminMixin``."""

    etag_lock_delete_confirmation_template = "django_etag_lock/admin/delete_confirmation.html"

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
        conflict = self.get_conflict_report(request).for_delete(current, token)
        return super().delete_view(
            as_get(request), object_id, {**(extra_context or {}), "etag_lock_conflict": conflict}
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
        insert_after(
            response,
            compat.DELETE_CONFIRMATION_ANCHOR,
            lambda anchor: hidden_input(TOKEN_FIELD, token.sign()),
        )
        if context.get("etag_lock_conflict") is not None:
            extend_response(response, self.etag_lock_delete_confirmation_template)
        return response

    def _etag_lock_visible_fields(
        self, request: HttpRequest, obj: models.Model
    ) -> list[models.Field[Any, Any]]:
        if not self.has_view_or_change_permission(request, obj):
            return []
        fieldsets = self.get_fieldsets(request, obj)
        return snapshot_fields(self.model, compat.flatten_fieldsets(fieldsets))
