"""``ETagLockMixin`` and the ready ``ETagLockModelViewSet``.

The decision itself is :func:`etags.evaluate_preconditions` (RFC 9110 section 13); the
mixin only feeds it the request and the loaded row, and turns its outcome into
responses. The public hooks are listed in docs/http.md ("Hooks"); methods with a leading
underscore are internal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router, transaction
from django.db.models import Model
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.request import clone_request
from rest_framework.response import Response
from rest_framework.views import set_rollback
from rest_framework.viewsets import ModelViewSet

from django_etag_lock import compat, problems
from django_etag_lock.conf import conf
from django_etag_lock.etags import (
    Decision,
    Outcome,
    evaluate_preconditions,
    format_http_date,
    make_etag,
)
from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.models import VersionedModel
from django_etag_lock.querysets import VERSION_FIELD
from django_etag_lock.rest_framework.exceptions import (
    EXCEPTIONS,
    NotModified,
    PreconditionError,
    PreconditionFailed,
    PreconditionRequired,
)
from django_etag_lock.rest_framework.responses import (
    NotModifiedResponse,
    ProblemResponse,
    problem_body,
    problem_headers,
    render_as_problem,
)
from django_etag_lock.rest_framework.schema import ETagLockSchema

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView
    from rest_framework.request import Request

    _ViewBase = GenericAPIView[Any]
else:
    _ViewBase = object

__all__ = ["ETagLockMixin", "ETagLockModelViewSet", "declared_model"]

_TAGGED_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "POST"})


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
    etag_lock_atomic_writes: bool | None = None
    """Writes run in ``transaction.atomic`` (``ETAG_LOCK_ATOMIC_WRITES``)."""
    etag_lock_tagged_actions: ClassVar[frozenset[str]] = frozenset(
        {"retrieve", "update", "partial_update", "create"}
    )
    """Viewset actions whose 200/201 responses are the object's representation."""

    etag_lock_object: Model | None = None
    """This request's row, at the version its response describes (set per request)."""
    etag_lock_version: int | None = None
    """The version the request's preconditions were evaluated against."""
    etag_lock_serializer: serializers.BaseSerializer[Any] | None = None
    """The serializer of the request body (set per request); nested children are others."""

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
        """Whether writes run in a transaction: the view's attribute, else the setting."""
        value = self.etag_lock_atomic_writes
        return conf.ATOMIC_WRITES if value is None else bool(value)

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
        last_modified = self.get_last_modified(instance)
        if last_modified is not None:
            headers["Last-Modified"] = format_http_date(last_modified)
        if conf.CACHE_CONTROL:
            # Caches may store the tagged response but must revalidate it before reuse.
            headers["Cache-Control"] = conf.CACHE_CONTROL
        return headers

    # -- the model --------------------------------------------------------------------

    def _etag_lock_check_model(self, model: type[Model] | None) -> None:
        if model is not None and not issubclass(model, VersionedModel):
            raise _not_versioned(type(self), model)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self._etag_lock_check_model(declared_model(type(self)))

    # -- preconditions ----------------------------------------------------------------

    def get_object(self) -> Any:
        """The row, after 404 and 403, with the request's preconditions checked on it."""
        instance = super().get_object()
        self.check_preconditions(instance)
        return instance

    def check_preconditions(self, instance: Model) -> None:
        """Evaluate RFC 9110 section 13 against ``instance``; raise unless it may proceed."""
        self._etag_lock_check_model(type(instance))
        request = self.request
        meta = request.META
        # The method the client sent: DRF's metadata (OPTIONS) and browsable API clone
        # the request under another method to probe forms.
        method = compat.wrapped_request(request).method or str(request.method)
        decision = evaluate_preconditions(
            method=method,
            current_etag=self.get_etag(instance),
            last_modified=self.get_last_modified(instance),
            if_match=meta.get("HTTP_IF_MATCH"),
            if_none_match=meta.get("HTTP_IF_NONE_MATCH"),
            if_unmodified_since=meta.get("HTTP_IF_UNMODIFIED_SINCE"),
            if_modified_since=meta.get("HTTP_IF_MODIFIED_SINCE"),
            require_if_match=self.etag_lock_requires_if_match(),
            allow_star=self.etag_lock_allows_star(),
            max_tags=conf.MAX_IF_MATCH_TAGS,
        )
        if decision.outcome is Outcome.PROCEED:
            self.etag_lock_object = instance
            self.etag_lock_version = getattr(instance, VERSION_FIELD)
            return
        raise self.precondition_exception(decision, instance)

    def precondition_exception(self, decision: Decision, instance: Model) -> APIException:
        """The exception for a decision other than PROCEED."""
        if decision.outcome is Outcome.NOT_MODIFIED:
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
                reason="child-removal-unchecked",
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
                child_deleted_detail(pointer), reason="child-deleted", errors=[error]
            )
        if mine is None or self.etag_lock_can_read(mine):
            error["current_etag"] = make_etag(exc.current_version)
        return PreconditionFailed(
            child_stale_detail(pointer), reason="child-precondition-failed", errors=[error]
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

    @contextmanager
    def etag_lock_write(self, instance: Model | None = None) -> Iterator[None]:
        """One transaction around the request's writes; a lost race becomes a 412.

        Everything written inside (nested serializers, signal receivers) is rolled
        back when the compare-and-set loses.
        """
        # Without the transaction (an opt-out for views whose writes are the one UPDATE or
        # DELETE), the compare-and-set still decides; only the other writes a request
        # might make before it (pre_save receivers, nested writes) would not be undone.
        guard = (
            transaction.atomic(using=self._etag_lock_using(instance))
            if self.etag_lock_writes_atomically()
            else nullcontext()
        )
        try:
            with guard:
                yield
        except StaleObjectError as exc:
            raise self.write_conflict_exception(exc) from exc

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
        with self.etag_lock_write():
            super().perform_create(serializer)  # type: ignore[misc]
        instance = serializer.instance
        if isinstance(instance, Model):
            self._etag_lock_check_model(type(instance))
            self.etag_lock_object = instance

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        instance = serializer.instance
        assert isinstance(instance, Model)
        self._etag_lock_pin(instance)
        self._etag_lock_strip_version(serializer)
        with self.etag_lock_write(instance):
            self._etag_lock_check_removals(serializer)
            super().perform_update(serializer)  # type: ignore[misc]
        if isinstance(serializer.instance, Model):
            self.etag_lock_object = serializer.instance

    def perform_destroy(self, instance: Model) -> None:
        self._etag_lock_pin(instance)
        with self.etag_lock_write(instance):
            super().perform_destroy(instance)  # type: ignore[misc]
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
        if response.status_code not in (200, 201) or request.method not in _TAGGED_METHODS:
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
        if (
            isinstance(exc, PreconditionFailed)
            and instance is not None
            and self.etag_lock_can_read(instance)
        ):
            headers.update(self.get_validator_headers(instance))
            data["current_etag"] = headers["ETag"]
            if self.etag_lock_includes_representation():
                data["current"] = self.get_conflict_representation(instance)
        return ProblemResponse(data, status=exc.status_code, headers=headers)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, StaleObjectError):
            # A write outside perform_*() (an overridden hook): still a 412, never a 500.
            exc = self.write_conflict_exception(exc)
        if isinstance(exc, NotModified):
            return self.not_modified_response(exc.instance)
        if isinstance(exc, PreconditionError):
            set_rollback()
            return self.precondition_response(exc)
        return super().handle_exception(exc)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, ProblemResponse):
            render_as_problem(response)
        elif self.etag_lock_object is not None and self.should_tag_response(request, response):
            for name, value in self.get_validator_headers(self.etag_lock_object).items():
                if name not in response:
                    response[name] = value
        return response


class ETagLockModelViewSet(ETagLockMixin, ModelViewSet):  # type: ignore[type-arg]
    """``ModelViewSet`` with ETags, If-Match/If-None-Match preconditions, 412 and 428."""
