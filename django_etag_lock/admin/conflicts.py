"""The conflict report: what the admin tells an editor whose save or delete lost.

:class:`ConflictReport` turns a lost write into a :class:`Conflict`, what the
conflict templates show: a headline (who changed the row and when, from the admin
log, else the row's ``auto_now`` field) and one :class:`ConflictRow` per field that
differs. Subclass it and set ``conflict_report_class`` on the admin (or override
``get_conflict_report()``) to change any part.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.safestring import SafeString
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from django_etag_lock import compat
from django_etag_lock.changes import FieldChange, diff, snapshot_fields
from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.forms import CURRENT_TOKEN_FIELD, OVERWRITE_VALUE
from django_etag_lock.querysets import VERSION_FIELD
from django_etag_lock.tokens import VersionToken

if TYPE_CHECKING:
    from django.contrib import admin

__all__ = ["Conflict", "ConflictReport", "ConflictRow", "History"]


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


@dataclass
class History:
    """Admin log entries of one row since an editor opened it.

    ``versions`` is how many versions the row moved on meanwhile (at least 1),
    ``entries`` how many of those writes the log holds.
    """

    versions: int
    entries: int = 0
    last_at: datetime.datetime | None = None
    editors: list[str] = dataclasses.field(default_factory=list)
    by_label: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def add(self, name: str, at: datetime.datetime, labels: Iterable[str]) -> None:
        """Record one log entry: by ``name``, at ``at``, changing the fields ``labels``."""
        self.entries += 1
        self.last_at = at
        if name not in self.editors:
            self.editors.append(name)
        for label in labels:
            names = self.by_label.setdefault(label.casefold(), [])
            if name not in names:
                names.append(name)

    def who_changed(self, label: str) -> str:
        """Who changed the field ``label``, as far as the log says."""
        names = self.by_label.get(label.casefold())
        if not names and self.entries >= self.versions:
            # Every write since is in the log (e.g. an auto_now field, which change
            # messages never list): it was one of those editors.
            names = self.editors
        return str(get_text_list(names, _("and"))) if names else _("someone else")


class ConflictReport:
    """Builds the :class:`Conflict` an admin shows after a lost save or delete.

    One instance per request, made by the admin's ``get_conflict_report(request)``;
    ``model_admin`` is the admin of the row. Override any method in a subclass.
    """

    def __init__(self, model_admin: admin.ModelAdmin[Any], request: HttpRequest) -> None:
        self.model_admin = model_admin
        self.request = request

    # What the admin calls.

    def for_change_form(
        self,
        obj: models.Model,
        *,
        error: StaleObjectError,
        token: VersionToken | None,
        changes: Sequence[FieldChange],
        overwrite_token: str | None,
    ) -> Conflict:
        """The change form's conflict, after a save of ``obj`` lost with ``error``.

        ``token`` is the version the editor started from (``None`` when the editor's
        values no longer validate, so no comparison was possible), ``changes`` the
        three-way diff, ``overwrite_token`` the signed current version the
        "save over" button submits.
        """
        opts = self.model_admin.opts
        reload_url = self.request.get_full_path()
        if token is None:
            headline = _(
                "Nothing was saved: the %(name)s “%(object)s” changed after you opened it, "
                "and your values no longer pass its checks. Correct them below, or reload "
                "the page to start from the current version."
            ) % {"name": opts.verbose_name, "object": str(obj)}
            return Conflict(headline=headline, rows=[], show_mine=True, reload_url=reload_url)
        history = self.history(obj, token)
        if self.is_about(error, obj.pk):
            headline = self.headline(
                obj, history, _("Nothing was saved; your changes are kept below.")
            )
        else:
            headline = _(
                "Nothing was saved: %(model)s %(pk)s, saved together with this "
                "%(name)s, changed meanwhile. Your changes are kept below."
            ) % {
                "model": error.model._meta.verbose_name,
                "pk": error.pk,
                "name": opts.verbose_name,
            }
        return Conflict(
            headline=headline,
            rows=self.rows(changes, history),
            show_mine=True,
            overwrite_token=overwrite_token,
            reload_url=reload_url,
        )

    def for_delete(self, current: models.Model, token: VersionToken) -> Conflict:
        """The delete confirmation's conflict: ``current`` changed since ``token``."""
        fields = snapshot_fields(type(current), token.values)
        history = self.history(current, token)
        return Conflict(
            headline=self.headline(current, history, _("Nothing was deleted.")),
            rows=self.rows(diff(fields, token, current), history, deleting=True),
            show_mine=False,
        )

    # The parts.

    def is_about(self, error: StaleObjectError, pk: Any) -> bool:
        """Whether ``error`` is about the row ``pk`` of the admin's model."""
        return same_row(self.model_admin.model, error, pk)

    def history(self, obj: models.Model, token: VersionToken) -> History:
        """The admin log's changes of ``obj`` since ``token`` was issued."""
        model = self.model_admin.model
        content_types = ContentType.objects.get_for_models(
            model, obj._meta.concrete_model or model, for_concrete_models=False
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
        history = History(versions=max(int(getattr(obj, VERSION_FIELD)) - token.version, 1))
        for entry in entries:
            if entry.user_id == getattr(self.request.user, "pk", None):
                name = _("you (in another window)")
            else:
                name = entry.user.get_username()
            history.add(name, entry.action_time, compat.changed_field_labels(entry))
        return history

    def headline(self, obj: models.Model, history: History, outcome: str) -> str:
        """Who changed the row and when, as far as can honestly be said, then ``outcome``."""
        params: dict[str, Any] = {"object": str(obj), "name": self.model_admin.opts.verbose_name}
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

    def status_text(self, change: FieldChange, history: History, *, deleting: bool) -> str:
        """The table's last column: who changed the field, and what the form shows."""
        params = {"them": history.who_changed(change.label)}
        if deleting or not change.editable:
            return _("Changed by %(them)s.") % params
        if change.status == "mine":
            return _("Changed only by you: your value is in the form.")
        if change.status == "theirs":
            return _("Changed only by %(them)s: the form now shows their value.") % params
        if change.status == "both":
            return _("Changed by you and by %(them)s: the form keeps your value.") % params
        return _("You and %(them)s made the same change.") % params

    def rows(
        self, changes: Sequence[FieldChange], history: History, *, deleting: bool = False
    ) -> list[ConflictRow]:
        """One :class:`ConflictRow` per change."""
        not_editable = _("(read-only)")
        rows = []
        for change in changes:
            display: Callable[[Any], str] = functools.partial(self.display, change.field)
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
                    status_text=self.status_text(change, history, deleting=deleting),
                    started=started,
                    current=current,
                    mine=display(change.mine) if change.editable else not_editable,
                )
            )
        return rows

    def display(self, field: models.Field[Any, Any], value: Any) -> str:
        """``value`` of ``field`` as the changelist displays it (escaped later)."""
        empty = self.model_admin.get_empty_value_display()
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
        shown = compat.display_for_field(value, field, empty)
        # display_for_field() marks only its own HTML (boolean icons) safe.
        return shown if isinstance(shown, SafeString) else str(shown)


def same_row(model: type[models.Model], error: StaleObjectError, pk: Any) -> bool:
    """Whether ``error`` is about the row ``pk`` of ``model`` (or its concrete model)."""
    if error.model._meta.concrete_model is not model._meta.concrete_model:
        return False
    return str(error.pk) == str(pk)


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
