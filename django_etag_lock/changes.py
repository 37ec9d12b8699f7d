"""What changed between the version an editor started from, the row now, and the editor's input.

One three-way comparison, :func:`diff`, used by the form mixin (started / saved now /
yours) and by the admin's delete confirmation (started / saved now, nothing of the
editor's). Values are compared in the type :func:`model_value` returns; the values the
editor started from come from a :class:`~django_etag_lock.tokens.VersionToken`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.text import capfirst

from django_etag_lock.models import VersionField

if TYPE_CHECKING:
    from django_etag_lock.tokens import VersionToken

__all__ = ["FieldChange", "Status", "diff", "model_value", "same_value", "snapshot_fields"]

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


def same_value(field: models.Field[Any, Any], a: Any, b: Any) -> bool:
    """Whether two values of ``field`` are the same (``None`` and ``""`` are both empty)."""
    if field.many_to_many:
        return sorted(map(str, a or [])) == sorted(map(str, b or []))
    if a in (None, "") and b in (None, ""):
        return True
    return bool(a == b)


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


def diff(
    fields: Iterable[models.Field[Any, Any]],
    token: VersionToken,
    current: models.Model,
    mine: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[FieldChange]:
    """The fields that differ between ``token`` (started), ``current`` (now) and ``mine``.

    ``mine`` maps the names of the fields the editor could edit to the editor's
    values (in the type :func:`model_value` returns); every other field is
    read-only, so only a change by someone else can show. A field missing from the
    token's snapshot counts as unchanged since. ``labels`` overrides the fields'
    ``verbose_name``.
    """
    mine = mine or {}
    labels = labels or {}
    changes: list[FieldChange] = []
    for field in fields:
        now = model_value(field, current)
        started = token.value(field) if field.name in token.values else now
        editable = field.name in mine
        value = mine.get(field.name)
        mine_changed = editable and not same_value(field, started, value)
        theirs_changed = not same_value(field, started, now)
        if not (mine_changed or theirs_changed):
            continue
        status: Status
        if mine_changed and theirs_changed:
            status = "same" if same_value(field, value, now) else "both"
        else:
            status = "mine" if mine_changed else "theirs"
        changes.append(
            FieldChange(
                name=field.name,
                label=str(capfirst(labels.get(field.name) or field.verbose_name)),
                field=field,
                started=started,
                current=now,
                mine=value,
                editable=editable,
                status=status,
            )
        )
    return changes
