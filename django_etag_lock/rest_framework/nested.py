"""Nested writes in DRF: every versioned child is checked against its own tag.

When an order's endpoint writes the lines it embeds, each line's compare-and-set compares
the version the client saw: the line's ``etag`` member in the request body (produced by
:class:`~django_etag_lock.rest_framework.ETagField` when the client read the order),
never a version the server just re-read and never the order's tag. See
docs/children.md.

- ``ETagField`` accepts input only where it describes a nested child: the tag becomes the
  child's expected ``version``. An existing child without its tag fails closed (428,
  following ``ETAG_LOCK_REQUIRE_IF_MATCH`` and the view's attribute); new children need
  none.
- :func:`child_pointer` names a child of the request body by JSON pointer (RFC 6901),
  for the 412 and 428 problem bodies.
- :func:`write_children` is the helper for hand-written nested ``update()`` methods.
- :func:`unchecked_removals` finds children that drf-writable-nested would delete by
  omission where nothing vouches for what the client saw of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Model
from django.utils.translation import gettext as _
from rest_framework import serializers

from django_etag_lock.etags import MalformedHeader, Reason, StarType, parse_entity_tags
from django_etag_lock.querysets import VERSION_FIELD
from django_etag_lock.touch import touched_fields

if TYPE_CHECKING:
    from django_etag_lock.rest_framework.mixins import ETagLockMixin

__all__ = ["child_pointer", "unchecked_removals", "untouched_embeds", "write_children"]

# Versions start at 1: a tag that is not ours (weak, or not a version) never matches.
NEVER_MATCHES = 0


def version_from_tag(value: Any) -> int:
    """The version a child's ``etag`` member names; a 400 for what is not an entity-tag."""
    if not isinstance(value, str):
        raise serializers.ValidationError(
            _('Send the tag exactly as you received it, a quoted string like "7".'),
            code="invalid",
        )
    try:
        tags = parse_entity_tags(value, header="etag", max_tags=1)
    except MalformedHeader as exc:
        raise serializers.ValidationError(str(exc), code="invalid") from exc
    if tags is None or isinstance(tags, StarType):
        raise serializers.ValidationError(
            _("A nested object needs its own tag as you received it; * is not one."),
            code="invalid",
        )
    tag = tags[0]
    if tag.weak or not tag.opaque.isdigit():
        return NEVER_MATCHES
    return int(tag.opaque)


def _view(serializer: serializers.BaseSerializer[Any]) -> ETagLockMixin | None:
    from django_etag_lock.rest_framework.mixins import ETagLockMixin

    view = serializer.context.get("view")
    return view if isinstance(view, ETagLockMixin) else None


def is_nested_child(serializer: serializers.BaseSerializer[Any]) -> bool:
    """Whether ``serializer`` writes an object nested in the request's main object.

    Inside a parent serializer (DRF's nested fields), or a serializer of its own that a
    parent's ``save()`` built (drf-writable-nested does) while an ``ETagLockMixin`` view
    serves the request with another serializer.
    """
    if getattr(serializer, "parent", None) is not None:
        return True
    view = _view(serializer)
    main = getattr(view, "etag_lock_serializer", None)
    return main is not None and serializer is not main


def serializer_model(serializer: Any) -> type[Model] | None:
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    return model if isinstance(model, type) and issubclass(model, Model) else None


def item_pk(model: type[Model] | None, data: Any) -> Any:
    """The primary key an item of the request body names, if any."""
    if not isinstance(data, Mapping):
        return None
    names = ["pk", "id"]
    if model is not None:
        names.insert(0, model._meta.pk.attname)
        names.insert(1, model._meta.pk.name)
    for name in names:
        value = data.get(name)
        if value not in (None, ""):
            return value
    return None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _nested_fields(serializer: Any) -> Iterator[tuple[str, Any, bool]]:
    fields = getattr(serializer, "fields", None)
    if fields is None:
        return
    for name, field in fields.items():
        if isinstance(field, serializers.ListSerializer):
            yield name, field.child, True
        elif isinstance(field, serializers.BaseSerializer):
            yield name, field, False


def child_pointer(
    serializer: serializers.BaseSerializer[Any], data: Any, model: type[Model], pk: Any
) -> str | None:
    """The JSON pointer (RFC 6901) of the item of ``data`` that names ``model`` row ``pk``."""
    return _find(serializer, data, model, str(pk), "")


def _find(
    serializer: serializers.BaseSerializer[Any], data: Any, model: type[Model], pk: str, at: str
) -> str | None:
    if not isinstance(data, Mapping):
        return None
    for name, child, many in _nested_fields(serializer):
        value = data.get(name)
        items: Iterable[tuple[str, Any]]
        if many:
            if not isinstance(value, list):
                continue
            items = ((f"{at}/{_escape(name)}/{index}", item) for index, item in enumerate(value))
        else:
            items = [(f"{at}/{_escape(name)}", value)]
        child_model = serializer_model(child)
        for pointer, item in items:
            if (
                child_model is not None
                and issubclass(child_model, model._meta.concrete_model or model)
                and str(item_pk(child_model, item)) == pk
            ):
                return pointer
            found = _find(child, item, model, pk, pointer)
            if found is not None:
                return found
    return None


def _reverse_foreign_key(
    parent_model: type[Model], source: str
) -> models.ForeignKey[Any, Any] | None:
    try:
        relation = parent_model._meta.get_field(source)
    except FieldDoesNotExist:
        if not source.endswith("_set"):
            return None
        try:
            relation = parent_model._meta.get_field(source[: -len("_set")])
        except FieldDoesNotExist:
            return None
    if isinstance(relation, models.ManyToOneRel) and not relation.many_to_many:
        field = relation.field
        return field if isinstance(field, models.ForeignKey) else None
    return None


def _is_versioned(model: type[Model] | None) -> bool:
    from django_etag_lock.models import VersionedModel

    return model is not None and issubclass(model, VersionedModel)


def unchecked_removals(serializer: Any, instance: Model, data: Any) -> list[tuple[str, list[Any]]]:
    """Children drf-writable-nested would delete by omission with nothing checking them.

    A child that touches its parent is covered by the parent's tag: the request's
    ``If-Match`` and the parent's compare-and-set, which drf-writable-nested writes before
    it deletes. Any other versioned child left out of a nested list would be deleted at a
    version no one compared. Returns ``[(pointer, [pk, ...]), ...]``.
    """
    if not isinstance(data, Mapping) or not hasattr(serializer, "delete_reverse_relations_if_need"):
        return []
    found: list[tuple[str, list[Any]]] = []
    for name, child, many in _nested_fields(serializer):
        if not many or name not in data or not isinstance(data[name], list):
            continue
        field = serializer.fields[name]
        child_model = serializer_model(child)
        foreign_key = _reverse_foreign_key(type(instance), field.source)
        if foreign_key is None or not _is_versioned(child_model) or child_model is None:
            continue
        if foreign_key in touched_fields(child_model):
            continue
        kept = {str(item_pk(child_model, item)) for item in data[name]}
        existing = child_model._base_manager.filter(**{foreign_key.name: instance}).values_list(
            "pk", flat=True
        )
        missing = [pk for pk in existing if str(pk) not in kept]
        if missing:
            found.append((f"/{_escape(name)}", missing))
    return found


def write_children(
    serializer: Any,
    parent: Model,
    field_name: str,
    items: Sequence[Mapping[str, Any]] | None,
    *,
    remove_missing: bool = False,
) -> list[Model]:
    """Write the nested children ``items`` of ``parent``, each checked against its own tag.

    For a hand-written nested ``update()`` (or ``create()``) of a serializer whose
    ``field_name`` is a nested ``many=True`` serializer of a versioned child model with a
    reverse foreign key to ``parent``. ``items`` are that field's validated data (declare
    the child's ``id`` writable, e.g. ``id = serializers.IntegerField(required=False)``,
    and its ``etag = ETagField()``):

    - an item without ``id`` is created for ``parent``;
    - an item with ``id`` updates that child of ``parent`` with a compare-and-set against
      the version of its ``etag``: a stale tag raises ``StaleObjectError`` (the view's
      412, naming the child by JSON pointer), a missing tag a 428 where the view requires
      ``If-Match``;
    - with ``remove_missing=True``, the children of ``parent`` not in ``items`` are deleted:
      allowed when the child touches ``parent`` (the parent's tag, checked by the request,
      covers them), refused with 428 otherwise.

    Returns the written children, in the order of ``items``.
    """
    from django_etag_lock.rest_framework.exceptions import PreconditionFailed, PreconditionRequired

    if items is None:
        return []
    field = serializer.fields[field_name]
    child: Any = field.child if isinstance(field, serializers.ListSerializer) else None
    model = serializer_model(child)
    foreign_key = _reverse_foreign_key(type(parent), field.source)
    if child is None or model is None or foreign_key is None:
        raise TypeError(
            f"write_children(): {type(serializer).__qualname__}.{field_name} must be a nested "
            "ModelSerializer(many=True) over a reverse foreign key of "
            f"{type(parent)._meta.label}."
        )
    view = _view(serializer)
    requires = view.etag_lock_requires_if_match() if view is not None else _default_requires()
    pk_name = model._meta.pk.attname
    existing = {str(obj.pk): obj for obj in getattr(parent, field.source).all()}
    written: list[Model] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(items):
        item = dict(raw)
        version = item.pop(VERSION_FIELD, None)
        pk = item.pop(pk_name, None)
        if pk is None:
            pk = item.pop("pk", None)
        if pk is None:
            written.append(child.create({**item, foreign_key.name: parent}))
            errors.append({})
            continue
        obj = existing.get(str(pk))
        if obj is None and version is not None and not model._base_manager.filter(pk=pk).exists():
            pointer = f"/{_escape(field_name)}/{index}"
            raise PreconditionFailed(
                child_deleted_detail(pointer),
                reason=Reason.CHILD_DELETED,
                errors=[{"pointer": pointer}],
            )
        if obj is None:
            errors.append(
                {
                    pk_name: [
                        _("%(model)s %(pk)s is not one of this object's %(field)s.")
                        % {"model": model._meta.verbose_name, "pk": pk, "field": field_name}
                    ]
                }
            )
            continue
        seen.add(str(pk))
        if version is None:
            if requires:
                pointer = f"/{_escape(field_name)}/{index}"
                raise PreconditionRequired(
                    child_tag_required_detail(pointer),
                    reason=Reason.CHILD_ETAG_MISSING,
                    errors=[{"pointer": pointer}],
                )
        else:
            setattr(obj, VERSION_FIELD, version)
        setattr(obj, foreign_key.name, parent)
        written.append(child.update(obj, item))
        errors.append({})
    if any(errors):
        raise serializers.ValidationError({field_name: errors})
    if remove_missing:
        missing = [obj for pk, obj in existing.items() if pk not in seen]
        if missing and foreign_key not in touched_fields(model):
            raise PreconditionRequired(
                removal_refused_detail(f"/{_escape(field_name)}"),
                reason=Reason.CHILD_REMOVAL_UNCHECKED,
                errors=[{"pointer": f"/{_escape(field_name)}", "ids": [o.pk for o in missing]}],
            )
        for obj in missing:
            obj.delete()
    return written


def _default_requires() -> bool:
    from django_etag_lock.conf import conf

    return conf.REQUIRE_IF_MATCH


def child_tag_required_detail(pointer: str) -> str:
    return _(
        "The nested object at %(pointer)s exists, so writing it needs its etag as you "
        "received it: GET the resource again and send each nested object back with its etag."
    ) % {"pointer": pointer}


def child_stale_detail(pointer: str | None) -> str:
    if pointer is None:
        return _(
            "A nested object has changed since you read it; nothing was written. GET the "
            "resource again, reapply your change and resend it with the new etags."
        )
    return _(
        "The nested object at %(pointer)s has changed since you read it; nothing was "
        "written. GET the resource again, reapply your change and resend it with the new "
        "etags."
    ) % {"pointer": pointer}


def child_deleted_detail(pointer: str | None) -> str:
    return _(
        "The nested object at %(pointer)s was deleted since you read it; nothing was written."
    ) % {"pointer": pointer or "?"}


def removal_refused_detail(pointer: str) -> str:
    return _(
        "This request would delete objects of %(pointer)s by leaving them out, but nothing "
        "checks what you saw of them: their model does not touch this resource, so its "
        "ETag does not cover them. Send them back with their etags to keep them, or delete "
        "each through its own URL with If-Match."
    ) % {"pointer": pointer}


def untouched_embeds(serializer: Any) -> Iterator[tuple[str, type[Model], type[Model], str]]:
    """Nested versioned children whose model does not touch the versioned parent embedding it.

    Yields ``(dotted field path, parent model, child model, foreign key)``, walking
    nested serializers down, for the system check ``django_etag_lock.W012``.
    """
    yield from _untouched(serializer, "", set())


def _untouched(
    serializer: Any, at: str, seen: set[type[Any]]
) -> Iterator[tuple[str, type[Model], type[Model], str]]:
    parent_model = serializer_model(serializer)
    if type(serializer) in seen:
        return
    seen = seen | {type(serializer)}
    try:
        nested = list(_nested_fields(serializer))
    except Exception:  # a serializer that cannot build its fields without a request
        return
    for name, child, _many in nested:
        path = f"{at}.{name}" if at else name
        child_model = serializer_model(child)
        field = serializer.fields[name]
        if _is_versioned(parent_model) and _is_versioned(child_model):
            assert parent_model is not None
            assert child_model is not None
            foreign_key = _reverse_foreign_key(parent_model, field.source)
            if foreign_key is not None and foreign_key not in touched_fields(child_model):
                yield path, parent_model, child_model, foreign_key.name
        yield from _untouched(child, path, seen)
