"""``ETagField``: each object's ETag in a serializer, so list items carry their own tag."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from django_etag_lock.etags import make_etag
from django_etag_lock.querysets import VERSION_FIELD
from django_etag_lock.rest_framework.mixins import ETagLockMixin

__all__ = ["ETagField"]


class ETagField(serializers.Field):  # type: ignore[type-arg]
    """Read-only: the object's ETag (``'"7"'``), so list items carry their own tag.

    Uses the view's ``get_etag()`` when the serializer runs in an ``ETagLockMixin``
    view, so bodies and headers never disagree. Anything a client sends for it is
    ignored.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        kwargs.setdefault("source", "*")
        kwargs.setdefault(
            "help_text",
            _("The ETag of this object; send it back in If-Match to update or delete it."),
        )
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        view = self.context.get("view")
        if isinstance(view, ETagLockMixin):
            return view.get_etag(value)
        return make_etag(getattr(value, VERSION_FIELD))
