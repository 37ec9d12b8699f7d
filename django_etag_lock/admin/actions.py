"""Actions: each changelist row carries the version it showed; selected rows that
changed since are left out (locked while the action runs) and named, and
``delete_selected`` deletes each row with a compare-and-set."""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import BadRequest, ValidationError
from django.db import models, router, transaction
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from django_etag_lock import compat
from django_etag_lock.admin.base import VersionedAdminBase
from django_etag_lock.admin.html import VALUE_RE, hidden_input, insert_after
from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.forms import TOKEN_FIELD
from django_etag_lock.querysets import VERSION_FIELD
from django_etag_lock.tokens import VersionToken

SEEN_FIELD = "_etag_lock_seen"
"""Name of the hidden ``"<pk>:<version>"`` inputs next to each changelist checkbox."""

# The versions the posting page showed, handed from response_action() to delete_queryset().
_seen_versions: ContextVar[dict[Any, int] | None] = ContextVar(
    "django_etag_lock_admin_seen", default=None
)


class ActionsMixin(VersionedAdminBase):
    """The actions part of ``VersionedAdminMixin``."""

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
            insert_after(response, compat.selected_action_input(), self._etag_lock_seen_input(seen))
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
            match = VALUE_RE.search(anchor)
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
            return hidden_input(SEEN_FIELD, f"{raw}:{version}")

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


def _select_across(request: HttpRequest) -> bool:
    return request.POST.get("select_across") in ("1", "True", "true")
