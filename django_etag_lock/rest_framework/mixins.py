"""``ETagLockMixin`` and the ready ``ETagLockModelViewSet``.

The decision itself is :func:`etags.evaluate_preconditions` (RFC 9110 section 13); the
mixin only feeds it the request and the loaded row, and turns its outcome into
responses. The public hooks are listed in docs/http.md ("Hooks"); methods with a leading
underscore are internal.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from asgiref.sync import async_to_sync, sync_to_async
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.db.models import Model, QuerySet
from django.db.models.signals import post_save, pre_save
from django.http import Http404, HttpRequest
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.encoding import escape_uri_path, iri_to_uri
from django.utils.translation import gettext
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import CreateModelMixin, DestroyModelMixin, UpdateModelMixin
from rest_framework.renderers import BaseRenderer
from rest_framework.request import clone_request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.validators import UniqueValidator
from rest_framework.views import set_rollback
from rest_framework.viewsets import ModelViewSet

from django_etag_lock import compat, fastfetch, problems
from django_etag_lock.conf import conf
from django_etag_lock.etags import (
    _IF_MATCH_REQUIRED_METHODS,
    Decision,
    MalformedHeader,
    Outcome,
    Reason,
    evaluate_preconditions,
    format_http_date,
    make_etag,
    parse_entity_tags,
)
from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.models import VersionedModel
from django_etag_lock.querysets import VERSION_FIELD, concurrency_refusal
from django_etag_lock.rest_framework.browsable import (
    ProblemBrowsableAPIRenderer,
    browsable_renderers,
    negotiated_html,
)
from django_etag_lock.rest_framework.exceptions import (
    EXCEPTIONS,
    NotModified,
    PreconditionError,
    PreconditionFailed,
    PreconditionRequired,
    UniqueConflict,
    WrittenThenFailed,
)
from django_etag_lock.rest_framework.responses import (
    NotModifiedResponse,
    ProblemJSONRenderer,
    ProblemResponse,
    not_modified_from,
    problem_body,
    problem_headers,
    render_as_problem,
)
from django_etag_lock.rest_framework.schema import ETagLockSchema
from django_etag_lock.signals import (
    Source,
    reported_by,
    send_unconditional_write,
    send_write_refused,
    write_refused,
)
from django_etag_lock.unique import unique_violation

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView
    from rest_framework.request import Request

    _ViewBase = GenericAPIView[Any]
else:
    _ViewBase = object

__all__ = ["ETagLockMixin", "ETagLockModelViewSet", "declared_model", "single_statement_write"]

_TAGGED_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "POST"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_IF_MATCH_METHODS = frozenset({"PUT", "PATCH", "DELETE"})
_REPLACING_METHODS = frozenset({"PUT", "PATCH"})


class _CreateAtTarget(Exception):
    """A create-only PUT found nothing at its URL: create there instead of updating."""


_STOCK_DEFINERS: dict[str, tuple[type[Any], ...]] = {
    "perform_create": (CreateModelMixin,),
    "perform_update": (UpdateModelMixin,),
    "perform_destroy": (DestroyModelMixin,),
}
_STOCK_SERIALIZER = (serializers.BaseSerializer, serializers.ModelSerializer)
_STOCK_MODEL = (Model, VersionedModel)
_STOCK_ASYNC_SERIALIZER: tuple[type[Any], ...] = ()
_WRITE_METHODS = {
    False: (("save", "create", "update"), ("save", "save_base"), ("delete",)),
    # Model.asave()/adelete() run save()/delete() in a thread: both kinds are checked.
    True: (("asave", "acreate", "aupdate"), ("save", "save_base", "asave"), ("delete", "adelete")),
}
_static_verdicts: dict[tuple[Any, ...], bool] = {}
_checked_views: set[tuple[Any, ...]] = set()
_plain_lookups: dict[type[Any], bool] = {}
_to_many_names: dict[type[Model], frozenset[str]] = {}


def register_async_stock(
    hooks: dict[str, tuple[type[Any], ...]], serializer_classes: tuple[type[Any], ...]
) -> None:
    """Name an async DRF's own write hooks and serializers, for ``"auto"``'s rule.

    ``rest_framework/adrf.py`` registers adrf's ``perform_acreate``/``aupdate``/``adestroy``
    definers and serializer classes: with them, ``single_statement_write()`` can tell a
    stock async write is one statement. Until then every async write is "may span
    statements" and runs in a transaction.
    """
    global _STOCK_ASYNC_SERIALIZER
    _STOCK_DEFINERS.update(hooks)
    _STOCK_ASYNC_SERIALIZER = serializer_classes
    _static_verdicts.clear()


def _only_defined_by(cls: type[Any], name: str, allowed: tuple[type[Any], ...]) -> bool:
    """``name`` is defined nowhere in ``cls``'s MRO but in ``allowed`` (and our mixin)."""
    return all(
        klass in allowed or klass is ETagLockMixin
        for klass in cls.__mro__
        if name in klass.__dict__
    )


def _to_many(model: type[Model]) -> frozenset[str]:
    try:
        return _to_many_names[model]
    except KeyError:
        pass
    names: set[str] = set()
    for field in model._meta.get_fields():
        if field.many_to_many or field.one_to_many:
            names.add(field.name)
            if field.auto_created and not field.concrete:
                accessor = field.get_accessor_name()  # type: ignore[union-attr]
                if accessor:
                    names.add(str(accessor))
    _to_many_names[model] = frozenset(names)
    return _to_many_names[model]


def single_statement_write(
    view_class: type[Any],
    action: str,
    model: type[Model],
    serializer: serializers.BaseSerializer[Any] | None,
    *,
    is_async: bool = False,
) -> bool:
    """Whether a DRF write is known to be a single statement (no transaction needed).

    ``action`` is ``"create"``, ``"update"`` or ``"destroy"``. True only when the view's
    and serializer's write hooks are DRF's own, the model's ``save()``/``save_base()``
    (or ``delete()``) are Django's and ``VersionedModel``'s, the model has no parent
    tables, no ``pre_save``/``post_save`` receiver is connected for it (``sender=None``
    included), and the validated data holds no to-many relation. A destroy is one
    statement or runs in ``VersionedModel.delete()``'s own transaction. The checks on
    classes are cached; receivers and data are looked at on every call.

    ``is_async``: an async write (adrf), whose hooks are ``perform_a<action>`` and
    ``asave``/``acreate``/``aupdate``, judged against the definers that
    :func:`register_async_stock` named (none registered: never one statement).
    """
    key = (view_class, action, model, type(serializer), is_async)
    static = _static_verdicts.get(key)
    if static is None:
        hook = f"perform_a{action}" if is_async else f"perform_{action}"
        definers = _STOCK_DEFINERS.get(hook)
        serializer_methods, save_methods, delete_methods = _WRITE_METHODS[is_async]
        stock_serializer = _STOCK_ASYNC_SERIALIZER if is_async else _STOCK_SERIALIZER
        static = definers is not None and _only_defined_by(view_class, hook, definers)
        if action == "destroy":
            static = static and all(
                _only_defined_by(model, name, _STOCK_MODEL) for name in delete_methods
            )
        else:
            static = (
                static
                and not model._meta.parents
                and all(_only_defined_by(model, name, _STOCK_MODEL) for name in save_methods)
                and serializer is not None
                and all(
                    _only_defined_by(type(serializer), name, stock_serializer)
                    for name in serializer_methods
                )
            )
        _static_verdicts[key] = static
    if not static:
        return False
    if action == "destroy":
        return True
    if (pre_save.receivers and pre_save.has_listeners(model)) or (
        post_save.receivers and post_save.has_listeners(model)
    ):
        return False
    validated = getattr(serializer, "validated_data", None)
    if not isinstance(validated, dict):
        return False
    return _to_many(model).isdisjoint(validated)


def _plain_lookup(view_class: type[Any]) -> bool:
    """The view finds its row as ``GenericAPIView`` does.

    ``get_queryset()`` and ``filter_queryset()`` are DRF's own, and ``get_object()`` is
    defined by nothing between this mixin and ``GenericAPIView``.
    """
    mro = view_class.__mro__
    if ETagLockMixin not in mro:
        return False
    below = mro[mro.index(ETagLockMixin) + 1 :]
    return (
        _only_defined_by(view_class, "get_queryset", (GenericAPIView,))
        and _only_defined_by(view_class, "filter_queryset", (GenericAPIView,))
        and all(klass is GenericAPIView for klass in below if "get_object" in klass.__dict__)
    )


def declared_model(view_class: type[Any]) -> type[Model] | None:
    """The model a view class declares through ``queryset`` or ``serializer_class``."""
    queryset = getattr(view_class, "queryset", None)
    model = getattr(queryset, "model", None)
    if model is None:
        meta = getattr(getattr(view_class, "serializer_class", None), "Meta", None)
        model = getattr(meta, "model", None)
    return model if isinstance(model, type) and issubclass(model, Model) else None


def _same_row(exc: StaleObjectError, instance: Model | None) -> bool:
    """Whether ``exc`` is about ``instance``'s row (not a nested child's)."""
    return (
        instance is not None
        and exc.model._meta.concrete_model is type(instance)._meta.concrete_model
        and str(exc.pk) == str(instance.pk)
    )


def _not_versioned(view: type[Any], model: type[Model]) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"{view.__module__}.{view.__qualname__} uses ETagLockMixin, but its model "
        f"{model._meta.label} is not a django_etag_lock.models.VersionedModel, so it has no "
        "version to derive ETags from or to check writes against. Make the model subclass "
        "VersionedModel (and migrate), or remove ETagLockMixin from the view."
    )


class ETagLockMixin(_ViewBase):
    """Conditional requests for generic views and viewsets of a ``VersionedModel``.

    Put it first: ``class CustomerViewSet(ETagLockMixin, ModelViewSet)``. Class
    attributes override the ``ETAG_LOCK_*`` settings for one view (``None`` means "use
    the setting"). Every step is an overridable method (docs/http.md, "Hooks").
    """

    etag_lock_require_if_match: bool | None = None
    """PUT/PATCH/DELETE without If-Match answer 428 (``ETAG_LOCK_REQUIRE_IF_MATCH``)."""
    etag_lock_allow_star: bool | None = None
    """``If-Match: *`` is accepted on writes (``ETAG_LOCK_ALLOW_IF_MATCH_STAR``)."""
    etag_lock_last_modified_field: str | None = None
    """A modification timestamp field: sends Last-Modified, honours If-(Un)Modified-Since."""
    etag_lock_include_representation_on_412: bool | None = None
    """412 bodies carry ``current`` (``ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412``)."""
    etag_lock_atomic_writes: bool | Literal["auto"] | None = None
    """Writes in ``transaction.atomic``: ``True``, ``False`` or ``"auto"``
    (``ETAG_LOCK_ATOMIC_WRITES``)."""
    etag_lock_create_on_put: bool | None = None
    """PUT with ``If-None-Match: *`` creates a missing resource at its URL
    (``ETAG_LOCK_CREATE_ON_PUT``): for resources whose identifier the client chooses."""
    etag_lock_detail_view_name: str | None = None
    """The URL name of the detail route, for the ``Location`` of a 201. Viewsets routed by
    a router need none (``<basename>-detail``)."""
    etag_lock_tagged_actions: ClassVar[frozenset[str]] = frozenset(
        {"retrieve", "update", "partial_update", "create"}
        # adrf's async viewset actions.
        | {"aretrieve", "aupdate", "partial_aupdate", "acreate"}
    )
    """Viewset actions whose 200/201 responses are the object's representation."""

    etag_lock_object: Model | None = None
    """This request's row, at the version its response describes (set per request)."""
    etag_lock_version: int | None = None
    """The version the request's preconditions were evaluated against."""
    _etag_lock_not_modified: bool = False
    etag_lock_serializer: serializers.BaseSerializer[Any] | None = None
    """The serializer of the request body (set per request); nested children are others."""
    _etag_lock_async: bool = False
    """The write in progress is adrf's (``perform_a*``): the transaction rule reads its hooks."""

    schema = ETagLockSchema()

    # -- per-view settings ------------------------------------------------------------

    def etag_lock_requires_if_match(self) -> bool:
        """Whether writes need If-Match: the view's attribute, else the setting."""
        value = self.etag_lock_require_if_match
        return conf.REQUIRE_IF_MATCH if value is None else bool(value)

    def etag_lock_allows_star(self) -> bool:
        """Whether ``If-Match: *`` is accepted: the view's attribute, else the setting."""
        value = self.etag_lock_allow_star
        return conf.ALLOW_IF_MATCH_STAR if value is None else bool(value)

    def etag_lock_writes_atomically(self) -> bool:
        """Whether writes may run in a transaction: the mode is not ``False``."""
        return self._etag_lock_atomic_mode() is not False

    def _etag_lock_atomic_mode(self) -> bool | Literal["auto"]:
        value = self.etag_lock_atomic_writes
        if value is None:
            return conf.ATOMIC_WRITES
        return "auto" if value == "auto" else bool(value)

    def etag_lock_creates_on_put(self) -> bool:
        """Whether a create-only PUT may create: the view's attribute, else the setting."""
        value = self.etag_lock_create_on_put
        return conf.CREATE_ON_PUT if value is None else bool(value)

    def etag_lock_includes_representation(self) -> bool:
        """Whether a 412 carries ``current``: the view's attribute, else the setting."""
        value = self.etag_lock_include_representation_on_412
        return conf.INCLUDE_REPRESENTATION_ON_412 if value is None else bool(value)

    # -- validators -------------------------------------------------------------------

    def get_etag(self, instance: Model) -> str:
        """The strong ETag of ``instance``: its version, quoted. No query, no hashing."""
        return make_etag(getattr(instance, VERSION_FIELD))

    def get_last_modified(self, instance: Model) -> datetime | None:
        """``instance``'s modification time from ``etag_lock_last_modified_field``."""
        name = self.etag_lock_last_modified_field
        if not name:
            return None
        value = getattr(instance, name)
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise ImproperlyConfigured(
                f"{type(self).__qualname__}.etag_lock_last_modified_field names "
                f"{type(instance)._meta.label}.{name}, which holds {type(value).__name__}, "
                "not a datetime. Name a DateTimeField such as updated_at = "
                "DateTimeField(auto_now=True), or set the attribute to None."
            )
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value

    def get_validator_headers(self, instance: Model) -> dict[str, str]:
        """ETag, Last-Modified and Cache-Control for a response describing ``instance``."""
        headers = {"ETag": self.get_etag(instance)}
        if self.etag_lock_last_modified_field:
            last_modified = self.get_last_modified(instance)
            if last_modified is not None:
                headers["Last-Modified"] = format_http_date(last_modified)
        cache_control = conf.CACHE_CONTROL
        if cache_control:
            # Caches may store the tagged response but must revalidate it before reuse.
            headers["Cache-Control"] = cache_control
        return headers

    # -- the model --------------------------------------------------------------------

    def _etag_lock_check_model(self, model: type[Model] | None) -> None:
        if model is not None and not issubclass(model, VersionedModel):
            raise _not_versioned(type(self), model)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        cls = type(self)
        key = (cls, getattr(cls, "queryset", None), getattr(cls, "serializer_class", None))
        if key not in _checked_views:
            self._etag_lock_check_model(declared_model(cls))
            _checked_views.add(key)
        if (self.lookup_url_kwarg or self.lookup_field) not in self.kwargs:
            self.check_collection_preconditions()

    # -- preconditions ----------------------------------------------------------------

    def get_object(self) -> Any:
        """The row, after 404 and 403, with the request's preconditions checked on it."""
        try:
            instance = self._etag_lock_get_object()
        except Http404:
            if self._etag_lock_create_only_request():
                # Nothing there: handle_exception() answers with create_at_target().
                raise _CreateAtTarget() from None
            raise
        self.check_preconditions(instance)
        return instance

    def _etag_lock_get_object(self) -> Any:
        """``GenericAPIView.get_object()``, reading the row with the compiled fetch.

        Where the view looks its row up as DRF does (its own ``get_queryset()``,
        ``filter_queryset()`` and ``get_object()``, no filter backends, ``lookup_field``
        the primary key), ``fastfetch.get()`` reads it: the same row, the same 404s, the
        same object permission checks, without building the queryset anew.
        """
        cls = type(self)
        plain = _plain_lookups.get(cls)
        if plain is None:
            plain = _plain_lookups[cls] = _plain_lookup(cls)
        # The class's own queryset: statements are kept per queryset object, and one set
        # on the instance (per request, or by as_view()) may be new every time.
        queryset: Any = cls.queryset if "queryset" not in self.__dict__ else None
        if (
            not plain
            or not isinstance(queryset, QuerySet)
            or self.filter_backends
            or not conf.COMPILED_FETCH
        ):
            return super().get_object()
        lookup_field = self.lookup_field
        model = queryset.model
        if lookup_field != "pk" and lookup_field not in (
            model._meta.pk.name,
            model._meta.pk.attname,
        ):
            return super().get_object()
        try:
            value = self.kwargs[self.lookup_url_kwarg or lookup_field]
        except KeyError:
            return super().get_object()  # DRF's assertion names the missing URL kwarg
        try:
            # Where the fast path does not apply, DRF's own look-up (get_queryset() is
            # queryset.all(), which a QuerySet subclass may override).
            instance = fastfetch.get(
                queryset, value, lambda: queryset.all().get(**{lookup_field: value})
            )
        except model.DoesNotExist:
            # As django.shortcuts.get_object_or_404 says it.
            raise Http404(f"No {model._meta.object_name} matches the given query.") from None
        except (TypeError, ValueError, DjangoValidationError):
            raise Http404 from None  # as rest_framework.generics.get_object_or_404
        self.check_object_permissions(self.request, instance)
        return instance

    def check_preconditions(self, instance: Model) -> None:
        """Evaluate RFC 9110 section 13 against ``instance``; raise unless it may proceed."""
        if not isinstance(instance, VersionedModel):
            self._etag_lock_check_model(type(instance))
        request = self.request
        django_request = compat.wrapped_request(request)
        meta = django_request.META
        # The method the client sent: DRF's metadata (OPTIONS) and browsable API clone
        # the request under another method to probe forms.
        method = django_request.method or str(request.method)
        if_match = meta.get("HTTP_IF_MATCH")
        current_etag = None if if_match is None else self.get_etag(instance)
        if "HTTP_IF_NONE_MATCH" not in meta and "HTTP_IF_MODIFIED_SINCE" not in meta:
            # The two common requests, decided without parsing: no conditional header
            # at all (a read, or a write that need not send If-Match), and If-Match
            # naming exactly our current strong tag (If-Unmodified-Since is then ignored,
            # RFC 9110 section 13.1.4). Everything else goes to evaluate_preconditions.
            if if_match is None:
                if "HTTP_IF_UNMODIFIED_SINCE" not in meta and (
                    method.upper() not in _IF_MATCH_REQUIRED_METHODS
                    or not self.etag_lock_requires_if_match()
                ):
                    if method in _IF_MATCH_METHODS:
                        send_unconditional_write(
                            source=Source.REST_FRAMEWORK,
                            model=type(instance),
                            pk=instance.pk,
                            request=django_request,
                        )
                    self.etag_lock_object = instance
                    self.etag_lock_version = getattr(instance, VERSION_FIELD)
                    return
            elif if_match == current_etag and if_match.startswith('"'):
                self.etag_lock_object = instance
                self.etag_lock_version = getattr(instance, VERSION_FIELD)
                return
        decision = evaluate_preconditions(
            method=method,
            current_etag=self.get_etag(instance) if current_etag is None else current_etag,
            last_modified=self.get_last_modified(instance),
            if_match=if_match,
            if_none_match=meta.get("HTTP_IF_NONE_MATCH"),
            if_unmodified_since=meta.get("HTTP_IF_UNMODIFIED_SINCE"),
            if_modified_since=meta.get("HTTP_IF_MODIFIED_SINCE"),
            # A create-only PUT is conditional (If-None-Match: *); to an existing row it fails.
            require_if_match=self.etag_lock_requires_if_match()
            and not self._etag_lock_create_only_request(),
            allow_star=self.etag_lock_allows_star(),
            max_tags=conf.MAX_IF_MATCH_TAGS,
        )
        if decision.outcome is Outcome.NOT_MODIFIED:
            # Answered in finalize_response() from the 200 this request gets, so the 304
            # carries exactly that response's headers (RFC 9110 section 15.4.5).
            self._etag_lock_not_modified = True
        elif decision.outcome is not Outcome.PROCEED:
            raise self.precondition_exception(decision, instance)
        elif method in _IF_MATCH_METHODS and "HTTP_IF_MATCH" not in meta:
            send_unconditional_write(
                source=Source.REST_FRAMEWORK,
                model=type(instance),
                pk=instance.pk,
                request=compat.wrapped_request(request),
            )
        self.etag_lock_object = instance
        self.etag_lock_version = getattr(instance, VERSION_FIELD)

    def get_collection_etag(self) -> str | None:
        """The collection's own ETag, for conditional requests to it; ``None`` (none) here."""
        return None

    def check_collection_preconditions(self) -> None:
        """Evaluate a list or create request's preconditions against the collection.

        The collection exists, so ``If-None-Match: *`` fails a POST (412) and makes a GET
        a 304; it has no entity-tag unless ``get_collection_etag()`` gives one, so
        ``If-Match`` with a tag fails. A false condition means nothing is created.
        """
        request = self.request
        django_request = compat.wrapped_request(request)
        meta = django_request.META
        method = django_request.method or str(request.method)
        decision = evaluate_preconditions(
            method=method,
            current_etag=self.get_collection_etag(),
            exists=True,
            if_match=meta.get("HTTP_IF_MATCH"),
            if_none_match=meta.get("HTTP_IF_NONE_MATCH"),
            require_if_match=False,
            allow_star=True,
            max_tags=conf.MAX_IF_MATCH_TAGS,
        )
        if decision.outcome is Outcome.NOT_MODIFIED:
            self._etag_lock_not_modified = True
        elif decision.outcome is not Outcome.PROCEED:
            raise self.precondition_exception(decision, None)

    def _etag_lock_create_only_request(self) -> bool:
        """A PUT with ``If-None-Match: *`` and no ``If-Match``, on a view that allows it."""
        request = compat.wrapped_request(self.request)
        meta = request.META
        return (
            request.method == "PUT"
            and (meta.get("HTTP_IF_NONE_MATCH") or "").strip(" \t") == "*"
            and "HTTP_IF_MATCH" not in meta
            and self.etag_lock_creates_on_put()
        )

    def precondition_exception(self, decision: Decision, instance: Model | None) -> APIException:
        """The exception for a decision other than PROCEED."""
        if decision.outcome is Outcome.NOT_MODIFIED and instance is not None:
            return NotModified(instance)
        return EXCEPTIONS[decision.outcome](
            problems.decision_detail(decision),
            reason=decision.reason,
            header=decision.header,
            instance=instance,
        )

    # -- nested children (docs/children.md) ------------------------------------------

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        serializer = super().get_serializer(*args, **kwargs)
        if "data" in kwargs and self.etag_lock_serializer is None:
            self.etag_lock_serializer = serializer
        return serializer

    def etag_lock_child_pointer(self, model: type[Model], pk: Any) -> str | None:
        """The JSON pointer of the request body's nested ``model`` row ``pk``, if it has one."""
        from django_etag_lock.rest_framework.nested import child_pointer

        serializer = self.etag_lock_serializer
        if serializer is None:
            return None
        return child_pointer(serializer, self.request.data, model, pk)

    def _etag_lock_check_removals(self, serializer: serializers.BaseSerializer[Any]) -> None:
        """Refuse to delete children by omission where nothing checks what the client saw."""
        if not hasattr(serializer, "delete_reverse_relations_if_need"):
            return  # only drf-writable-nested deletes children left out of a list
        from django_etag_lock.rest_framework.nested import (
            removal_refused_detail,
            unchecked_removals,
        )

        instance = serializer.instance
        if not isinstance(instance, Model):
            return
        removals = unchecked_removals(serializer, instance, self.request.data)
        if removals:
            raise PreconditionRequired(
                removal_refused_detail(removals[0][0]),
                reason=Reason.CHILD_REMOVAL_UNCHECKED,
                errors=[{"pointer": pointer, "ids": ids} for pointer, ids in removals],
            )

    def child_conflict_exception(self, exc: StaleObjectError) -> PreconditionFailed:
        """The 412 for a nested child whose tag was stale (or that lost a race)."""
        from django_etag_lock.rest_framework.nested import (
            child_deleted_detail,
            child_stale_detail,
        )

        pointer = self.etag_lock_child_pointer(exc.model, exc.pk)
        error: dict[str, Any] = {"pointer": pointer} if pointer else {}
        mine = self.etag_lock_object
        if exc.current_version is None:
            return PreconditionFailed(
                child_deleted_detail(pointer), reason=Reason.CHILD_DELETED, errors=[error]
            )
        if mine is None or self.etag_lock_can_read(mine):
            error["current_etag"] = make_etag(exc.current_version)
        return PreconditionFailed(
            child_stale_detail(pointer), reason=Reason.CHILD_PRECONDITION_FAILED, errors=[error]
        )

    # -- writes -----------------------------------------------------------------------

    def _etag_lock_model(self) -> type[Model]:
        """The view's model, checked to be versioned; no query."""
        model: type[Model] = declared_model(type(self)) or self.get_queryset().model
        self._etag_lock_check_model(model)
        return model

    def _etag_lock_using(self, instance: Model | None) -> str:
        if instance is not None:
            return router.db_for_write(type(instance), instance=instance)
        return router.db_for_write(self._etag_lock_model())

    def _etag_lock_under_atomic_requests(self, using: str) -> bool:
        """The request runs in ``ATOMIC_REQUESTS``' transaction on ``using``.

        Then a write opens no savepoint of its own: a 412 marks the request's
        transaction for rollback (``handle_exception``), which undoes everything the
        request wrote, exactly as DRF does for any error under ``ATOMIC_REQUESTS``.
        """
        return _in_request_transaction(connections[using])

    def etag_lock_needs_transaction(
        self,
        action: str,
        instance: Model | None,
        serializer: serializers.BaseSerializer[Any] | None = None,
        using: str | None = None,
    ) -> bool:
        """Whether this write runs in ``transaction.atomic`` (``ETAG_LOCK_ATOMIC_WRITES``).

        ``action`` is ``"create"``, ``"update"`` or ``"destroy"``. Never inside
        ``ATOMIC_REQUESTS``; with ``"auto"``, unless ``single_statement_write()`` says
        the write is one statement (docs/settings.md has the rule).
        """
        if self._etag_lock_never_atomic(action, instance, serializer):
            return False
        return not self._etag_lock_under_atomic_requests(using or self._etag_lock_using(instance))

    def _etag_lock_perform(
        self,
        action: str,
        write: Callable[[Any], None],
        argument: Any,
        instance: Model | None,
        serializer: serializers.BaseSerializer[Any] | None = None,
    ) -> None:
        """Run ``write(argument)``, in a transaction when needed; a lost race is a 412."""
        cls = type(self)
        if cls.etag_lock_write is not ETagLockMixin.etag_lock_write:
            # A subclass customised the transaction around writes: keep honouring it.
            with self.etag_lock_write(instance):
                write(argument)
            return
        stock = cls.etag_lock_needs_transaction is ETagLockMixin.etag_lock_needs_transaction
        if stock and self._etag_lock_never_atomic(action, instance, serializer):
            # The common write: one statement, so no transaction and no connection state
            # to look at unless it fails. The reporting scope only tells write_refused
            # receivers who reports a lost race: without any, there is nothing to tell.
            try:
                if write_refused.receivers:
                    with reported_by(Source.REST_FRAMEWORK):
                        write(argument)
                else:
                    write(argument)
            except (StaleObjectError, DatabaseError) as exc:
                self._etag_lock_write_failed(exc, instance, None, [])
            return
        using = self._etag_lock_using(instance)
        connection = connections[using]
        committed: list[bool] = []
        try:
            # The door answers a lost race, so it reports it (signals.write_refused).
            with reported_by(Source.REST_FRAMEWORK):
                # Stock: not "never atomic" (above), so atomic unless under ATOMIC_REQUESTS.
                if (
                    not _in_request_transaction(connection)
                    if stock
                    else self.etag_lock_needs_transaction(action, instance, serializer, using)
                ):
                    outermost = not connection.in_atomic_block
                    with transaction.atomic(using=using):
                        if outermost:
                            # Registered first, so it runs first once the commit went through.
                            transaction.on_commit(lambda: committed.append(True), using=using)
                        write(argument)
                else:
                    write(argument)
        except (StaleObjectError, DatabaseError) as exc:
            self._etag_lock_write_failed(exc, instance, using, committed)

    def _etag_lock_never_atomic(
        self,
        action: str,
        instance: Model | None,
        serializer: serializers.BaseSerializer[Any] | None,
    ) -> bool:
        """The write runs without a transaction whatever the connection's state."""
        mode = self._etag_lock_atomic_mode()
        if mode is False:
            return True
        if mode is True:
            return False
        model = type(instance) if instance is not None else self._etag_lock_model()
        return single_statement_write(
            type(self), action, model, serializer, is_async=self._etag_lock_async
        )

    def _etag_lock_write_failed(
        self,
        exc: StaleObjectError | DatabaseError,
        instance: Model | None,
        using: str | None,
        committed: list[bool],
    ) -> None:
        """Re-raise the failure of a write as the answer the client gets."""
        using = using or self._etag_lock_using(instance)
        if isinstance(exc, StaleObjectError):
            if committed or self._etag_lock_autocommitted(instance, connections[using]):
                raise self.written_then_failed_exception(exc) from exc
            raise self.write_conflict_exception(exc) from exc
        # A statement of the request other than the compare-and-set refused for a
        # concurrent transaction (SERIALIZABLE: a read, or the commit): it lost too.
        if committed or concurrency_refusal(exc, using) is None:
            raise exc
        raise self.write_conflict_exception(self._etag_lock_refused(exc, using)) from exc

    @contextmanager
    def etag_lock_write(self, instance: Model | None = None) -> Iterator[None]:
        """A transaction around writes (unless turned off); a lost race becomes a 412.

        For code of your own that writes: everything written inside (nested
        serializers, signal receivers) is rolled back when the compare-and-set loses.
        The stock ``perform_*`` hooks use :meth:`etag_lock_needs_transaction` instead,
        which opens one only when the write can be more than one statement; overriding
        this method makes them use it. A conflict raised after the write was committed
        (an ``on_commit`` callback) is not a 412: see :meth:`written_then_failed_exception`.
        """
        using = self._etag_lock_using(instance)
        connection = connections[using]
        atomic = self.etag_lock_writes_atomically() and not self._etag_lock_under_atomic_requests(
            using
        )
        outermost = atomic and not connection.in_atomic_block
        committed: list[bool] = []
        try:
            guard = transaction.atomic(using=using) if atomic else nullcontext()
            with reported_by(Source.REST_FRAMEWORK), guard:
                if outermost:
                    # Registered first, so it runs first once the commit went through.
                    transaction.on_commit(lambda: committed.append(True), using=using)
                yield
        except (StaleObjectError, DatabaseError) as exc:
            self._etag_lock_write_failed(exc, instance, using, committed)

    def _etag_lock_autocommitted(self, instance: Model | None, connection: Any) -> bool:
        """Without a transaction: whether the row was already written (and so committed)."""
        if connection.in_atomic_block or instance is None:
            return False
        return instance.pk is None or getattr(instance, VERSION_FIELD) != self.etag_lock_version

    def _etag_lock_refused(self, exc: DatabaseError, using: str) -> StaleObjectError:
        mine = self.etag_lock_object
        model = type(mine) if mine is not None else self._etag_lock_model()
        connection = connections[using]
        aborted = bool(concurrency_refusal(exc, using)) and connection.in_atomic_block
        if aborted:
            compat.set_needs_rollback(connection)
        lookup = self.lookup_url_kwarg or self.lookup_field
        pk = mine.pk if mine is not None else self.kwargs.get(lookup)
        refused = StaleObjectError(model, pk, self.etag_lock_version, None, aborted)
        refused.__cause__ = exc
        return refused

    def write_conflict_exception(self, exc: StaleObjectError) -> PreconditionFailed:
        """The 412 for a compare-and-set lost after the preconditions passed."""
        current = None
        mine = self.etag_lock_object
        if self.etag_lock_serializer is not None and not _same_row(exc, mine):
            return self.child_conflict_exception(exc)
        if mine is not None and exc.model is type(mine) and exc.pk == mine.pk:
            current = self._etag_lock_reload(exc)
        return PreconditionFailed(
            problems.conflict_detail(exc),
            reason=problems.conflict_reason(exc),
            instance=current,
        )

    def written_then_failed_exception(self, exc: StaleObjectError) -> WrittenThenFailed:
        """The answer when a conflict was raised after the request's write committed.

        Not a 412 ("nothing was written" would be false, and a client trusting it would
        apply its change twice): a 500 problem saying the change is in, with the new ETag
        of the row when it still exists.
        """
        mine = self.etag_lock_object
        written = mine if mine is not None and mine.pk is not None else None
        return WrittenThenFailed(
            problems.written_then_failed_detail(exc),
            reason=Reason.WRITTEN_THEN_FAILED,
            instance=written,
        )

    def _etag_lock_reload(self, exc: StaleObjectError) -> Model | None:
        """The row as it is now, after a lost race (one query, on the race path only)."""
        if exc.current_version is None:
            return None
        using = self._etag_lock_using(self.etag_lock_object)
        queryset = self.get_queryset().using(using).filter(pk=exc.pk)
        connection = connections[using]
        if connection.in_atomic_block and connection.features.has_select_for_update:
            # Inside ATOMIC_REQUESTS on MariaDB a plain read would return the snapshot.
            queryset = queryset.select_for_update()
        instance: Model | None = queryset.first()
        return instance

    def _etag_lock_strip_version(self, serializer: serializers.BaseSerializer[Any]) -> None:
        """Drop a client-sent version: the write compares the version that was checked."""
        validated = serializer.validated_data
        if isinstance(validated, dict):
            validated.pop(VERSION_FIELD, None)

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        self._etag_lock_model()
        self._etag_lock_strip_version(serializer)
        create = super().perform_create  # type: ignore[misc]
        self._etag_lock_perform("create", create, serializer, None, serializer)
        instance = serializer.instance
        if isinstance(instance, Model):
            self._etag_lock_check_model(type(instance))
            self.etag_lock_object = instance

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        instance = serializer.instance
        assert isinstance(instance, Model)
        self._etag_lock_pin(instance)
        self._etag_lock_strip_version(serializer)
        # Children removed by omission that nothing checks: 428 before anything is written.
        self._etag_lock_check_removals(serializer)
        update = super().perform_update  # type: ignore[misc]
        self._etag_lock_perform("update", update, serializer, instance, serializer)
        if isinstance(serializer.instance, Model):
            self.etag_lock_object = serializer.instance

    def create_at_target(self, request: Request) -> Response:
        """Create the resource the URL names, with the identifier from the URL (201).

        The identifier field's unique validator is skipped: the database's unique
        constraint decides between racing creators, and the losers get 412.
        """
        field_name = self.lookup_field
        value = self.kwargs[self.lookup_url_kwarg or field_name]
        self._etag_lock_check_identifier(field_name, value)
        serializer = self.get_serializer(data=self._etag_lock_target_data(request, value))
        field = serializer.fields.get(field_name) if hasattr(serializer, "fields") else None
        if field is not None:
            field.validators = [v for v in field.validators if not isinstance(v, UniqueValidator)]
        serializer.is_valid(raise_exception=True)
        self.perform_create_at_target(serializer, field_name, value)
        location = request.build_absolute_uri()
        return Response(
            serializer.data,
            status=status.HTTP_201_CREATED,
            headers={"Location": location, "Content-Location": location},
        )

    def _etag_lock_check_identifier(self, field_name: str, value: str) -> None:
        """400 for an identifier the model field would refuse (``/books/abc/`` for an int pk)."""
        opts = self._etag_lock_model()._meta
        try:
            field = opts.pk if field_name == "pk" else opts.get_field(field_name)
        except FieldDoesNotExist:
            raise ImproperlyConfigured(
                f"{type(self).__qualname__}.lookup_field = {field_name!r} is not a field of "
                f"{opts.label}, so a create-only PUT cannot create at it. Set "
                "etag_lock_create_on_put = False on the view, or look up by a model field."
            ) from None
        assert field is not None
        try:
            field.clean(value, None)  # type: ignore[union-attr]
        except DjangoValidationError as exc:
            raise ValidationError({field_name: exc.messages}) from exc

    def _etag_lock_target_data(self, request: Request, value: str) -> Any:
        data: Any = request.data
        field_name = self.lookup_field
        if not hasattr(data, "get") or field_name == "pk":
            return data
        sent = data.get(field_name)
        if sent is not None and str(sent) != value:
            raise ValidationError(
                {
                    field_name: [
                        gettext("Must be %(value)s, the identifier in the URL, or left out.")
                        % {"value": value}
                    ]
                }
            )
        data = data.copy()
        data[field_name] = value
        return data

    def perform_create_at_target(
        self, serializer: serializers.BaseSerializer[Any], field_name: str, value: str
    ) -> None:
        """Save the create-only PUT; a row created meanwhile at ``value`` is a 412."""
        model = self._etag_lock_model()
        self._etag_lock_strip_version(serializer)
        try:
            with self.etag_lock_write():
                serializer.save(**{field_name: value})
        except IntegrityError as exc:
            violation = unique_violation(exc, model=model, using=self._etag_lock_using(None))
            target = model._meta.pk.name if field_name == "pk" else field_name
            if violation is not None and target in violation.fields:
                raise PreconditionFailed(
                    problems.create_conflict_detail(),
                    reason=Reason.CONCURRENT_CREATE,
                    header="If-None-Match",
                ) from exc
            raise
        if isinstance(serializer.instance, Model):
            self.etag_lock_object = serializer.instance

    def perform_destroy(self, instance: Model) -> None:
        self._etag_lock_pin(instance)
        destroy = super().perform_destroy  # type: ignore[misc]
        self._etag_lock_perform("destroy", destroy, instance, instance)
        self.etag_lock_object = None

    def _etag_lock_pin(self, instance: Model) -> None:
        """Make sure the write compares the version the preconditions were checked on."""
        if instance is not self.etag_lock_object:
            # get_object() was overridden without calling ours: check before writing.
            self.check_preconditions(instance)
        setattr(instance, VERSION_FIELD, self.etag_lock_version)

    # -- responses --------------------------------------------------------------------

    def should_tag_response(self, request: Request, response: Response) -> bool:
        """Whether ``response`` is the representation of ``etag_lock_object``."""
        if (
            response.status_code not in (200, 201)
            or compat.wrapped_request(request).method not in _TAGGED_METHODS
        ):
            return False
        action = getattr(self, "action", None)
        return action is None or action in self.etag_lock_tagged_actions

    def etag_lock_can_read(self, instance: Model) -> bool:
        """Whether the caller could GET ``instance`` (so a 412 may show its tag)."""
        reading = clone_request(self.request, "GET")
        try:
            return all(
                permission.has_permission(reading, self)
                and permission.has_object_permission(reading, self, instance)
                for permission in self.get_permissions()
            )
        except APIException:
            return False

    def get_conflict_representation(self, instance: Model) -> Any:
        """The body member ``current`` of a 412: the row as a GET would show it."""
        return self.get_serializer(instance).data

    def not_modified_response(self, instance: Model) -> Response:
        """304 with the validators a 200 would carry (RFC 9110 section 15.4.5)."""
        return NotModifiedResponse(headers=self.get_validator_headers(instance))

    def precondition_response(self, exc: PreconditionError) -> Response:
        """The RFC 9457 problem details response for a 412, 428 or 400."""
        data = problem_body(exc, self.request.path)
        headers = problem_headers(exc)
        instance = exc.instance
        if isinstance(exc, WrittenThenFailed):
            if instance is not None:
                headers.update(self.get_validator_headers(instance))
                data["written_etag"] = headers["ETag"]
        elif (
            isinstance(exc, PreconditionFailed)
            and instance is not None
            and self.etag_lock_can_read(instance)
        ):
            headers.update(self.get_validator_headers(instance))
            data["current_etag"] = headers["ETag"]
            if self.etag_lock_includes_representation():
                data["current"] = self.get_conflict_representation(instance)
        return ProblemResponse(data, status=exc.status_code, headers=headers)

    def unique_conflict_exception(self, exc: IntegrityError) -> UniqueConflict | None:
        """The 409 for a write that lost a race for a unique value; ``None`` if it is not one."""
        model = self._etag_lock_model()
        violation = unique_violation(
            exc, model=model, using=self._etag_lock_using(self.etag_lock_object)
        )
        if violation is None:
            return None
        return UniqueConflict(
            problems.unique_conflict_detail(violation.fields), fields=violation.fields
        )

    # -- async views (adrf) -------------------------------------------------------------
    # adrf's async viewsets load the row with aget_object() and write through
    # perform_acreate/aupdate/adestroy (serializer.asave(), instance.adelete()). The same
    # checks run there, and the same rule for a transaction (with the async hooks'
    # names); anything that may query (the write and its transaction, the reload after
    # a lost race, permissions and the representation of a 412) runs in one worker
    # thread, since Django's atomic() cannot span awaits.

    async def aget_object(self) -> Any:
        """The row, after 404 and 403, with the request's preconditions checked on it."""
        instance = await super().aget_object()  # type: ignore[misc]
        try:
            self.check_preconditions(instance)
        except PreconditionError as exc:
            exc.etag_lock_response = await sync_to_async(self.precondition_response)(exc)  # type: ignore[attr-defined]
            raise
        return instance

    async def perform_acreate(self, serializer: serializers.BaseSerializer[Any]) -> None:
        self._etag_lock_model()
        self._etag_lock_strip_version(serializer)
        create = super().perform_acreate  # type: ignore[misc]
        await self._etag_lock_awrite("create", create, serializer, None, serializer)
        instance = serializer.instance
        if isinstance(instance, Model):
            self._etag_lock_check_model(type(instance))
            self.etag_lock_object = instance

    async def perform_aupdate(self, serializer: serializers.BaseSerializer[Any]) -> None:
        instance = serializer.instance
        assert isinstance(instance, Model)
        self._etag_lock_pin(instance)
        self._etag_lock_strip_version(serializer)
        update = super().perform_aupdate  # type: ignore[misc]
        await self._etag_lock_awrite("update", update, serializer, instance, serializer)
        if isinstance(serializer.instance, Model):
            self.etag_lock_object = serializer.instance

    async def perform_adestroy(self, instance: Model) -> None:
        self._etag_lock_pin(instance)
        destroy = super().perform_adestroy  # type: ignore[misc]
        await self._etag_lock_awrite("destroy", destroy, instance, instance)
        self.etag_lock_object = None

    async def _etag_lock_awrite(
        self,
        action: str,
        write: Callable[[Any], Awaitable[Any]],
        argument: Any,
        instance: Model | None,
        serializer: serializers.BaseSerializer[Any] | None = None,
    ) -> None:
        """Run the async ``write(argument)`` as :meth:`_etag_lock_perform`, in one thread."""
        # Registers adrf's stock hooks for "auto" (once; a no-op after that). Without
        # adrf (another async DRF), its writes count as several statements.
        with suppress(ImportError):
            import django_etag_lock.rest_framework.adrf  # noqa: F401

        self._etag_lock_async = True

        def run() -> None:
            try:
                # The ORM calls write makes through sync_to_async come back to this
                # thread, so they run inside the transaction, when there is one.
                self._etag_lock_perform(
                    action, async_to_sync(write), argument, instance, serializer
                )
            except PreconditionError as exc:
                exc.etag_lock_response = self.precondition_response(exc)  # type: ignore[attr-defined]
                raise

        await sync_to_async(run)()

    def handle_exception(self, exc: Exception) -> Response:
        prepared = getattr(exc, "etag_lock_response", None)
        if isinstance(exc, PreconditionError) and isinstance(prepared, Response):
            set_rollback()
            self.report_refused_write(exc)
            return prepared
        if isinstance(exc, _CreateAtTarget):
            try:
                return self.create_at_target(self.request)
            except Exception as error:  # answered like any error of the request
                return self.handle_exception(error)
        reported = False
        if isinstance(exc, StaleObjectError) and _in_event_loop():
            # An async hook wrote outside perform_a*(): no reload from the event loop.
            exc, reported = (
                PreconditionFailed(
                    problems.conflict_detail(exc), reason=problems.conflict_reason(exc)
                ),
                True,
            )
        if isinstance(exc, StaleObjectError):
            # A write outside perform_*() (an overridden hook): still a 412, never a 500.
            # The ORM has reported it already.
            exc, reported = self.write_conflict_exception(exc), True
        elif isinstance(exc, IntegrityError):
            # A unique value taken by a concurrent write after the validator checked it.
            exc = self.unique_conflict_exception(exc) or exc
        elif isinstance(exc, DatabaseError) and self.request.method not in _READ_METHODS:
            # SERIALIZABLE: a statement of a write other than the compare-and-set (the
            # read of get_object(), the serializer's unique checks) refused for a
            # concurrent transaction: the write lost all the same.
            using = self._etag_lock_using(self.etag_lock_object)
            if concurrency_refusal(exc, using) is not None:
                exc = self.write_conflict_exception(self._etag_lock_refused(exc, using))
        if isinstance(exc, NotModified):
            return self.not_modified_response(exc.instance)
        if isinstance(exc, WrittenThenFailed):
            return self.precondition_response(exc)
        if isinstance(exc, PreconditionError):
            # Built before the rollback mark: the body may read the row (ATOMIC_REQUESTS).
            response = self.precondition_response(exc)
            set_rollback()
            if not reported:
                self.report_refused_write(exc)
            return response
        return super().handle_exception(exc)

    def report_refused_write(self, exc: PreconditionError) -> None:
        """Send ``signals.write_refused`` for a 412, 428 or 409 answered to a write."""
        request = compat.wrapped_request(self.request)
        if (request.method or "GET") in _SAFE_METHODS or exc.status_code not in (409, 412, 428):
            return
        stale = exc.__cause__ if isinstance(exc.__cause__, StaleObjectError) else None
        instance = exc.instance or self.etag_lock_object
        model: type[Model] = (
            stale.model
            if stale is not None
            else type(instance)
            if instance is not None
            else self._etag_lock_model()
        )
        if not write_refused.has_listeners(model):
            return
        if stale is not None:
            pk, expected, current = stale.pk, stale.expected_version, stale.current_version
        else:
            pk = instance.pk if instance is not None else None
            expected = self._etag_lock_expected_version()
            current = getattr(instance, VERSION_FIELD) if instance is not None else None
        send_write_refused(
            source=Source.REST_FRAMEWORK,
            model=model,
            pk=pk,
            reason=exc.reason,
            expected_version=expected,
            current_version=current,
            request=request,
        )

    def _etag_lock_expected_version(self) -> int | None:
        """The version an ``If-Match: "7"`` names, if it names exactly one of ours."""
        try:
            tags = parse_entity_tags(self.request.META.get("HTTP_IF_MATCH"), max_tags=1)
        except MalformedHeader:
            return None
        opaque = tags[0].opaque if isinstance(tags, list) and not tags[0].weak else ""
        # A version is a positive bigint: at most 19 digits.
        return int(opaque) if opaque.isdigit() and len(opaque) <= 19 else None

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, ProblemResponse):
            render_as_problem(response, self.get_problem_renderer(request))
            return response
        instance = self.etag_lock_object
        if instance is not None and self.should_tag_response(request, response):
            self.identify_representation(request, response)
            if response.status_code != 201 or response.has_header("Location"):
                compat.add_missing_headers(response, self.get_validator_headers(instance))
        if self._etag_lock_not_modified and response.status_code == 200:
            not_modified_from(response)
        return response

    def identify_representation(self, request: Request, response: Response) -> None:
        """Say which resource a tagged 201 or write 200 is the representation of.

        A 201 gets ``Location`` (RFC 9110 section 15.3.2) when the detail route
        reverses; a 200 to PUT or PATCH gets ``Content-Location`` naming the target URI
        (section 8.7), and a 201 the created resource's URI: the body is the new
        representation, so the validators describe it (section 9.3.4). The target is
        named by its path and query, a reference the client resolves against the URI it
        requested (as RFC 5789's PATCH example does): no Host header is echoed, and it
        holds behind a proxy that rewrites the host or the scheme.
        """
        status_code = response.status_code
        if status_code == 201:
            if "Location" not in response and self.etag_lock_object is not None:
                location = self.get_created_location(self.etag_lock_object)
                if location is not None:
                    response["Location"] = location
            if "Location" in response and "Content-Location" not in response:
                response["Content-Location"] = response["Location"]
        elif status_code == 200:
            django_request = compat.wrapped_request(request)
            if django_request.method in _REPLACING_METHODS:
                target = _target_reference(django_request)
                compat.add_missing_headers(response, {"Content-Location": target})

    def get_created_location(self, instance: Model) -> str | None:
        """The absolute URL of a created ``instance``: its detail route, reversed.

        ``etag_lock_detail_view_name`` if set, else a router's ``<basename>-detail``,
        else the model's ``get_absolute_url()``; ``None`` when none of them resolves.
        """
        field = self.lookup_field
        kwargs = {self.lookup_url_kwarg or field: getattr(instance, field, None)}
        name = self.etag_lock_detail_view_name
        basename = getattr(self, "basename", None)
        if name is None and basename:
            name = f"{basename}-detail"
            namespace = getattr(self.request.resolver_match, "namespace", None)
            if namespace:
                name = f"{namespace}:{name}"
        if name is not None:
            try:
                return str(reverse(name, kwargs=kwargs, request=self.request))
            except NoReverseMatch:
                pass
        absolute = getattr(instance, "get_absolute_url", None)
        if callable(absolute):
            return self.request.build_absolute_uri(str(absolute()))
        return None

    # -- the browsable API (rest_framework/browsable.py) -----------------------------

    def get_renderers(self) -> list[BaseRenderer]:
        """The view's renderers; DRF's browsable API gets forms that send If-Match."""
        return browsable_renderers(super().get_renderers())

    def get_problem_renderer(self, request: Request) -> BaseRenderer:
        """``application/problem+json``, or a browsable-API page for a browser asking for HTML."""
        if negotiated_html(request):
            return ProblemBrowsableAPIRenderer()
        return ProblemJSONRenderer()


def _in_request_transaction(connection: Any) -> bool:
    """The connection is inside ``ATOMIC_REQUESTS``' transaction for this request."""
    return bool(connection.in_atomic_block and connection.settings_dict.get("ATOMIC_REQUESTS"))


_escaped_path = functools.lru_cache(maxsize=1024)(escape_uri_path)


def _target_reference(request: HttpRequest) -> str:
    """The request's target as a path-absolute reference: ``request.get_full_path()``.

    Built as ``HttpRequest._get_full_path`` builds it, with the escaped path cached:
    a client writes the same few URLs over and over.
    """
    reference = _escaped_path(request.path)
    query = request.META.get("QUERY_STRING", "")
    if query:
        reference = f"{reference}?{iri_to_uri(query)}"
    if reference.startswith("//"):
        # Would read as a network-path reference (another host): name the URI in full.
        return request.build_absolute_uri()
    return reference


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ETagLockModelViewSet(ETagLockMixin, ModelViewSet):  # type: ignore[type-arg]
    """``ModelViewSet`` with ETags, If-Match/If-None-Match preconditions, 412 and 428."""
