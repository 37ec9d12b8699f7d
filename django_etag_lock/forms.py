"""Model forms that carry the version (and the values) the editor started from.

A bound form of an existing row writes with the version it was rendered at, so the
model's compare-and-set decides, whatever happened between GET and POST. The
version travels in one hidden field, :data:`TOKEN_FIELD`, signed with
:mod:`django.core.signing` together with a snapshot of the values the editor saw:
after a conflict the app can then show, field by field, what the editor started
from, what is saved now and what the editor typed. Forging the token is refused
(the signature); replaying an older one only makes the save conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

# Re-exported: these lived here before tokens.py and changes.py existed.
from django_etag_lock.changes import (
    FieldChange,
    Status,
    diff,
    model_value,
    same_value,
    snapshot_fields,
)
from django_etag_lock.exceptions import VersionFieldError
from django_etag_lock.querysets import VERSION_FIELD
from django_etag_lock.tokens import VersionToken

if TYPE_CHECKING:
    _ModelFormBase = forms.ModelForm[Any]
else:
    _ModelFormBase = object

__all__ = [
    "CURRENT_TOKEN_FIELD",
    "OVERWRITE_VALUE",
    "TOKEN_FIELD",
    "FieldChange",
    "Status",
    "VersionToken",
    "VersionTokenField",
    "VersionedModelForm",
    "VersionedModelFormMixin",
    "model_value",
    "same_value",
    "snapshot_fields",
]

TOKEN_FIELD = "_etag_lock_version"
"""Name of the hidden field with the signed version the editor started from."""

CURRENT_TOKEN_FIELD = "_etag_lock_current"
"""Name of the input carrying the version shown in a conflict table."""

OVERWRITE_VALUE = "etag-lock-overwrite"
"""Value of the submit button that saves over the version shown in a conflict table."""


class VersionTokenField(forms.CharField):
    """Hidden field carrying a signed :class:`VersionToken`; never counts as a change."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "")
        super().__init__(**kwargs)

    def has_changed(self, initial: Any, data: Any) -> bool:
        return False


class VersionedModelFormMixin(_ModelFormBase):
    """ModelForm mixin for :class:`~django_etag_lock.models.VersionedModel` rows.

    For an existing row, the form gets the hidden :data:`TOKEN_FIELD`; when bound,
    it reads the token back, makes the editor's starting values the form's
    ``initial`` (so ``has_changed()``/``changed_data`` mean "changed by this
    editor"), and ``save()`` writes with the starting version, so a stale save raises
    :class:`~django_etag_lock.exceptions.StaleObjectError` and writes nothing. A
    missing or forged token is a form error: nothing can be saved without it.

    ``etag_lock_extra_fields`` names model fields shown but not edited (admin
    ``readonly_fields``) whose starting values should be carried too. Only the
    form's own fields and these are put into the token, which the browser can read.
    """

    etag_lock_extra_fields: ClassVar[Sequence[str]] = ()
    etag_lock_overwrite_key: ClassVar[str] = "_etag_lock_overwrite"

    error_messages_etag_lock: ClassVar[dict[str, Any]] = {
        "missing": _(
            "This form does not say which version of the %(model)s you started from, so "
            "it cannot be saved safely. Reload the page and make your changes again."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.etag_lock_token: VersionToken | None = None
        if self.instance._state.adding:
            return
        self.fields[TOKEN_FIELD] = VersionTokenField()
        if not self.is_bound:
            self.fields[TOKEN_FIELD].initial = self.etag_lock_snapshot(self.instance).sign()
            return
        token = VersionToken.load(
            self._etag_lock_submitted(), type(self.instance), self.instance.pk
        )
        self.etag_lock_token = token
        if token is None:
            return
        for field in self.etag_lock_fields():
            if field.name in self.fields and field.name in token.values:
                self.initial[field.name] = token.value(field)

    def _etag_lock_submitted(self) -> Any:
        if self.overwrite_requested():
            return self.data.get(self.add_prefix(CURRENT_TOKEN_FIELD))
        return self.data.get(self.add_prefix(TOKEN_FIELD))

    def overwrite_requested(self) -> bool:
        """Whether the editor chose to save over the version shown in a conflict table."""
        return self.data.get(self.etag_lock_overwrite_key) == OVERWRITE_VALUE

    def etag_lock_fields(self) -> list[models.Field[Any, Any]]:
        """Model fields whose starting values travel in the token."""
        names = [*self.fields, *self.etag_lock_extra_fields]
        return snapshot_fields(type(self.instance), names)

    def etag_lock_snapshot(self, instance: models.Model) -> VersionToken:
        """A token for ``instance`` as it is now, over this form's visible fields."""
        return VersionToken.for_instance(instance, self.etag_lock_fields())

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not self.instance._state.adding and self.etag_lock_token is None:
            # In full_clean, not clean(): a subclass's clean() that forgets super()
            # must not turn the check off.
            message = self.error_messages_etag_lock["missing"]
            self.add_error(
                None,
                ValidationError(
                    message,
                    code="etag_lock_missing_version",
                    params={"model": self.instance._meta.verbose_name},
                ),
            )

    def save(self, commit: bool = True) -> Any:
        if not self.instance._state.adding:
            if self.etag_lock_token is None:
                raise VersionFieldError(
                    f"{type(self).__name__}.save() on {self.instance._meta.label} "
                    "without the version the editor started from; call is_valid() "
                    f"first and render the hidden {TOKEN_FIELD!r} field in the form."
                )
            setattr(self.instance, VERSION_FIELD, self.etag_lock_token.version)
        return super().save(commit)

    def etag_lock_changes(self, current: models.Model) -> list[FieldChange]:
        """Compare what the editor started from, what is saved now and what they sent.

        Call on a valid form whose instance is a copy (``is_valid()`` writes the
        editor's values onto it); ``current`` is the row as saved now.
        """
        token = self.etag_lock_token
        assert token is not None, "etag_lock_changes() needs a form with a valid token"
        mine: dict[str, Any] = {}
        labels: dict[str, str] = {}
        fields = self.etag_lock_fields()
        for field in fields:
            form_field = self.fields.get(field.name)
            if form_field is None:
                continue
            if form_field.label:
                labels[field.name] = str(form_field.label)
            if form_field.disabled:
                continue
            if field.many_to_many:
                chosen = self.cleaned_data.get(field.name) or []
                mine[field.name] = sorted(str(o.pk) for o in chosen)
            else:
                mine[field.name] = model_value(field, self.instance)
        return diff(fields, token, current, mine=mine, labels=labels)


class VersionedModelForm(VersionedModelFormMixin, forms.ModelForm):  # type: ignore[type-arg]
    """A ModelForm for a VersionedModel whose saves are checked against the version it showed."""
