"""The signed token an edit carries: which version of which row, and the values the editor saw.

Signed with :mod:`django.core.signing` (the project's ``SECRET_KEY``): forging it is
refused, replaying an older one only makes the save conflict. Signed, not
encrypted: the browser can read it, so it holds only fields the editor can see.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from django_etag_lock.changes import model_value
from django_etag_lock.querysets import VERSION_FIELD

__all__ = ["VersionToken"]

# Unchanged since the token lived in forms.py: tokens already in browsers stay valid.
_SALT = "django_etag_lock.forms.VersionToken"


def _stored(field: models.Field[Any, Any], obj: models.Model) -> Any:
    if field.many_to_many:
        return model_value(field, obj)
    if field.value_from_object(obj) is None:
        return None
    # value_to_string()/to_python() is the serialization framework's lossless round
    # trip (microseconds, decimals, time zones); JSON would not be.
    return field.value_to_string(obj)


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
        """A token for ``instance`` as it is now, with the values of ``fields``."""
        return cls(
            model=instance._meta.label_lower,
            pk=str(instance.pk),
            version=int(getattr(instance, VERSION_FIELD)),
            values={field.name: _stored(field, instance) for field in fields},
            issued_at=timezone.now(),
        )

    def sign(self) -> str:
        """The token as a signed, URL-safe string."""
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
