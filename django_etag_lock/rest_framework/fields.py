"""``ETagField``: each object's ETag in a serializer; on nested children, their precondition."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from django_etag_lock.conf import conf
from django_etag_lock.etags import Reason, make_etag
from django_etag_lock.querysets import VERSION_FIELD
from django_etag_lock.rest_framework.exceptions import PreconditionFailed, PreconditionRequired
from django_etag_lock.rest_framework.mixins import ETagLockMixin
from django_etag_lock.rest_framework.nested import (
    child_deleted_detail,
    child_tag_required_detail,
    is_nested_child,
    item_pk,
    serializer_model,
    version_from_tag,
)

__all__ = ["ETagField"]

_DEFAULT_HELP = _("The ETag of this object; send it back in If-Match to update or delete it.")
_NESTED_HELP = _(
    "The ETag of this nested object, and its precondition: when you write it through its "
    "parent, send back the etag you received with it. A changed object answers 412 naming "
    "it, an existing one without its etag 428; new objects need none. Where this object "
    "is the request's own resource the member is ignored: send its ETag in If-Match."
)


class ETagField(serializers.Field):  # type: ignore[type-arg]
    """The object's ETag (``'"7"'``), so list items carry their own tag.

    Uses the view's ``get_etag()`` when the serializer runs in an ``ETagLockMixin``
    view, so bodies and headers never disagree. At the top level of a request it is
    read-only: what a client sends is ignored (``If-Match`` decides). On a nested child
    (an order's ``lines``) it is the child's precondition: the tag the client received
    becomes the version the child's compare-and-set compares, an existing child sent
    without it fails closed (428), a new child needs none (docs/children.md).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        kwargs.setdefault("source", "*")
        kwargs.setdefault("help_text", _DEFAULT_HELP)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        view = self.context.get("view")
        if isinstance(view, ETagLockMixin):
            return view.get_etag(value)
        return make_etag(getattr(value, VERSION_FIELD))

    def bind(self, field_name: str, parent: Any) -> None:
        super().bind(field_name, parent)
        if is_nested_child(parent):
            self.read_only = False
            self.required = False
            if self.help_text == _DEFAULT_HELP:
                self.help_text = _NESTED_HELP

    def get_value(self, dictionary: Any) -> Any:
        if self.read_only:
            # Top level (If-Match decides); DRF's get_initial() asks read-only fields too.
            return serializers.empty
        parent: Any = self.parent
        model = serializer_model(parent)
        if getattr(parent, "parent", None) is None:
            # A child serializer of its own, built by its parent's save().
            existing = isinstance(parent.instance, Model)
            pk = parent.instance.pk if existing else None
            claimed = item_pk(model, dictionary)
            if not existing and claimed is not None and dictionary.get(self.field_name):
                # The client holds a tag of a row that is gone: recreating it from the
                # stale copy would undo someone's delete.
                raise self.child_deleted(model, claimed)
        else:
            pk = item_pk(model, dictionary)
            existing = pk is not None
        if not existing:
            return serializers.empty  # a new child: nothing to compare
        value = dictionary.get(self.field_name, serializers.empty)
        if value is not serializers.empty and value is not None:
            return value
        view = self.context.get("view")
        if isinstance(view, ETagLockMixin):
            requires = view.etag_lock_requires_if_match()
            pointer = view.etag_lock_child_pointer(model, pk) if model is not None else None
        else:
            requires, pointer = conf.REQUIRE_IF_MATCH, None
        if not requires:
            return serializers.empty
        raise PreconditionRequired(
            child_tag_required_detail(pointer or str(self.field_name)),
            reason=Reason.CHILD_ETAG_MISSING,
            errors=[{"pointer": pointer}] if pointer else None,
        )

    def child_deleted(self, model: type[Model] | None, pk: Any) -> PreconditionFailed:
        view = self.context.get("view")
        pointer = None
        if isinstance(view, ETagLockMixin) and model is not None:
            pointer = view.etag_lock_child_pointer(model, pk)
        return PreconditionFailed(
            child_deleted_detail(pointer),
            reason=Reason.CHILD_DELETED,
            errors=[{"pointer": pointer}] if pointer else None,
        )

    def to_internal_value(self, data: Any) -> dict[str, int]:
        return {VERSION_FIELD: version_from_tag(data)}
