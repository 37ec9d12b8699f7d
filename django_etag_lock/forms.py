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

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from django import forms
from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from django_etag_lock.exceptions import VersionFieldError
from django_etag_lock.models import VersionField
from django_etag_lock.querysets import VERSION_FIELD

if TYPE_CHECKING:
    _ModelFormBase = forms.ModelForm[Any]
else:
    _ModelFormBase = object

__all__ = [
    "CURRENT_TOKEN_FIELD",
    "OVERWRITE_VALUE",
    "TOKEN_FIELD",
    "FieldChange",
    "VersionToken",
    "VersionTokenField",
    "VersionedModelForm",
    "VersionedModelFormMixin",
]

TOKEN_FIELD = "_etag_lock_version"
"""Name of the hidden field with the signed version the editor started from."""

CURRENT_TOKEN_FIELD = "_etag_lock_current"
"""Name of the input carrying the version shown in a conflict table."""

OVERWRITE_VALUE = "etag-lock-overwrite"
"""Value of the submit button that saves over the version shown in a conflict table."""

_SALT = "django_etag_lock.forms.VersionToken"

Status = Literal["mine", "theirs", "both", "same"]


def snapshot_fields(
    model: type[models.Model], names: Iterable[str]
) -> list[models.Field[Any, Any]]:
    """The model fields among ``names`` whose values can be compared across versions.

    Names that are not model fields (admin callables, extra form fields), the
    primary key and the version itself are left out.
    """
    fields: list[models.Field[Any, Any]] = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if not isinstance(field, models.Field) or isinstance(field, VersionField):
            continue
        if field.primary_key or not (field.concrete or field.many_to_many):
            continue
        fields.append(field)
    return fields


def model_value(field: models.Field[Any, Any], obj: models.Model) -> Any:
    """The field's value on ``obj``, comparable with :meth:`VersionToken.value`.

    Many-to-many values are the sorted primary keys, as strings.
    """
    if field.many_to_many:
        if obj.pk is None:
            return []
        return sorted(str(pk) for pk in getattr(obj, field.attname).values_list("pk", flat=True))
    return field.value_from_object(obj)


def _stored(field: models.Field[Any, Any], obj: models.Model) -> Any:
    if field.many_to_many:
        return model_value(field, obj)
    if field.value_from_object(obj) is None:
        return None
    # value_to_string()/to_python() is the serialization framework's lossless round
    # trip (microseconds, decimals, time zones); JSON would not be.
    return field.value_to_string(obj)


def same_value(field: models.Field[Any, Any], a: Any, b: Any) -> bool:
    if field.many_to_many:
        return sorted(map(str, a or [])) == sorted(map(str, b or []))
    if a in (None, "") and b in (None, ""):
        return True
    return bool(a == b)


@dataclass(frozen=True)
class VersionToken:
    """The version of one row and the values of its visible fields, as one editor saw them."""

    model: str
    pk: str
    version: int
    values: Mapping[str, Any]
    issued_at: datetime.datetime

    @classmethod
    def for_instance(
        cls, instance: models.Model, fields: Iterable[models.Field[Any, Any]]
    ) -> VersionToken:
        return cls(
            model=instance._meta.label_lower,
            pk=str(instance.pk),
            version=int(getattr(instance, VERSION_FIELD)),
            values={field.name: _stored(field, instance) for field in fields},
            issued_at=timezone.now(),
        )

    def sign(self) -> str:
        payload = {
            "m": self.model,
            "pk": self.pk,
            "v": self.version,
            "f": dict(self.values),
            "t": self.issued_at.isoformat(),
        }
        return signing.dumps(payload, salt=_SALT, compress=True)

    @classmethod
    def load(cls, value: Any, model: type[models.Model], pk: Any = None) -> VersionToken | None:
        """The token in ``value`` if it is genuine and names a row of ``model`` (and ``pk``)."""
        if not isinstance(value, str) or not value:
            return None
        try:
            payload = signing.loads(value, salt=_SALT)
            token = cls(
                model=str(payload["m"]),
                pk=str(payload["pk"]),
                version=int(payload["v"]),
                values=dict(payload["f"]),
                issued_at=datetime.datetime.fromisoformat(payload["t"]),
            )
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            return None
        if token.model != model._meta.label_lower:
            return None
        if pk is not None and token.pk != str(pk):
            return None
        return token

    def value(self, field: models.Field[Any, Any]) -> Any:
        """The value the editor started from, in the type ``model_value()`` returns.

        Raises ``KeyError`` when the field was not part of the snapshot.
        """
        stored = self.values[field.name]
        if stored is None or field.many_to_many:
            return stored
        try:
            return field.to_python(stored)
        except ValidationError:
            return stored


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between the version an editor started from and now.

    ``status``: ``"mine"`` changed only by the editor, ``"theirs"`` only by someone
    else, ``"both"`` by both to different values, ``"same"`` by both to the same value.
    ``mine`` is ``None`` with ``editable=False`` for fields the editor could only view.
    """

    name: str
    label: str
    field: models.Field[Any, Any]
    started: Any
    current: Any
    mine: Any
    editable: bool
    status: Status

    @property
    def keeps_mine(self) -> bool:
        """The editor's value, not the saved one, belongs in a form offered to resolve."""
        return self.editable and self.status in ("mine", "both")


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
        changes: list[FieldChange] = []
        for field in self.etag_lock_fields():
            now = model_value(field, current)
            editable = field.name in self.fields and not self.fields[field.name].disabled
            started = token.value(field) if field.name in token.values else now
            if editable and field.many_to_many:
                mine = sorted(str(o.pk) for o in self.cleaned_data.get(field.name) or [])
            elif editable:
                mine = model_value(field, self.instance)
            else:
                mine = None
            mine_changed = editable and not same_value(field, started, mine)
            theirs_changed = not same_value(field, started, now)
            if not (mine_changed or theirs_changed):
                continue
            status: Status
            if mine_changed and theirs_changed:
                status = "same" if same_value(field, mine, now) else "both"
            else:
                status = "mine" if mine_changed else "theirs"
            form_field = self.fields.get(field.name)
            label = (form_field.label if form_field is not None else None) or field.verbose_name
            changes.append(
                FieldChange(
                    name=field.name,
                    label=str(capfirst(label)),
                    field=field,
                    started=started,
                    current=now,
                    mine=mine,
                    editable=editable,
                    status=status,
                )
            )
        return changes


class VersionedModelForm(VersionedModelFormMixin, forms.ModelForm):  # type: ignore[type-arg]
    """A ModelForm for a VersionedModel whose saves are checked against the version it showed."""
