"""django-ninja integration: ETags, conditional requests, 412 and 428 for Ninja routes.

The idiom is one decorator per route, under Ninja's own, and one schema base class::

    @router.patch("/customers/{pk}", response=CustomerOut)
    @etag_lock(Customer)
    def update_customer(request, pk: int, payload: CustomerPatch, customer: Customer):
        for name, value in payload.dict(exclude_unset=True).items():
            setattr(customer, name, value)
        customer.save()          # UPDATE ... WHERE pk AND version = <the version checked>
        return customer

:func:`etag_lock` loads the row named by the path (after Ninja's authentication and
throttling, so 401/403 come first, then 404), evaluates the request's preconditions on it
(:func:`etags.evaluate_preconditions`) before Ninja validates the body (a stale tag with a
bad body is a 412), and hands the checked instance to the view as the argument named after
the model (``customer``). Its save, ``delete()`` or ``update_if_version(pk, customer.version,
...)`` compares the version the request matched in the statement itself; a race lost after
the check is a 412, and the request's other writes are rolled back (``ETAG_LOCK_ATOMIC_WRITES``,
sync views). Responses carry ``ETag`` (and ``Last-Modified``, ``Cache-Control``); refusals are
the same RFC 9457 problems as the DRF door. The route's OpenAPI operation gets the
If-Match/If-None-Match parameters, the ETag header and the 304/400/412/428 responses.

:class:`ETagSchema` adds a read-only ``etag`` to a response schema, so list items carry
their own tag.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist, ValidationError
from django.db import connections, router, transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from ninja import Field, Schema
from ninja.constants import NOT_SET
from ninja.operation import AsyncOperation, Operation, ResponseObject
from ninja.responses import Status
from ninja.utils import contribute_operation_callback

from django_etag_lock.conditional import (
    PROBLEM_CONTENT_TYPE,
    TAGGED_METHODS,
    Preconditions,
    conflict_response,
    get_etag,
    report_conflict,
    report_refusal,
    report_unconditional,
)
from django_etag_lock.conf import conf
from django_etag_lock.etags import Outcome
from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.models import VersionedModel
from django_etag_lock.querysets import VERSION_FIELD
from django_etag_lock.signals import Source, reported_by

__all__ = ["ETagSchema", "etag_lock"]

_F = TypeVar("_F", bound=Callable[..., Any])
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_IF_MATCH_METHODS = frozenset({"PUT", "PATCH", "DELETE"})
# Ninja path parameters, with an optional converter: {pk} or {int:pk}.
_PATH_PARAM = re.compile(r"{(?:[^{}:]+:)?([^{}:]+)}")
_STATE = "_etag_lock_ninja"


class ETagSchema(Schema):
    """Base for response schemas of versioned rows: adds the read-only ``etag``.

    ``class CustomerOut(ETagSchema, ModelSchema)`` or ``class CustomerOut(ETagSchema)``
    with your fields: every object, in a list too, carries the tag to send back in
    If-Match. The value comes from the object's ``version``; anything else ignores it.
    """

    # A plain string: the OpenAPI document is built once, in no particular language.
    etag: str = Field(
        "",
        description="The ETag of this object; send it back in If-Match to update or delete it.",
        examples=['"7"'],
    )

    @staticmethod
    def resolve_etag(obj: Any) -> str:
        if isinstance(obj, dict):
            return str(obj.get("etag", ""))
        return get_etag(obj)


@dataclass
class _Route:
    """One decorated view: what it loads, how it checks, what it hands over."""

    model: type[Model]
    source: QuerySet[Any] | Callable[[HttpRequest], QuerySet[Any]]
    lookup_field: str
    path_param: str
    param: str
    preconditions: Preconditions
    detail: bool = True
    injects: bool = False

    def queryset(self, request: HttpRequest) -> QuerySet[Any]:
        source = self.source
        queryset = source(request) if callable(source) else source
        if not isinstance(queryset, QuerySet) or queryset.model is not self.model:
            raise ImproperlyConfigured(
                f"{self.preconditions.owner}: the queryset callable given to etag_lock() "
                f"must return a QuerySet of {self.model._meta.label}, not {queryset!r}."
            )
        return queryset.all()

    def load(self, request: HttpRequest) -> Model:
        match = request.resolver_match
        if match is None or self.path_param not in match.kwargs:
            raise ImproperlyConfigured(
                f"{self.preconditions.owner}: etag_lock() needs the path parameter "
                f"{{{self.path_param}}} in the request's URL match."
            )
        try:
            instance: Model = self.queryset(request).get(
                **{self.lookup_field: match.kwargs[self.path_param]}
            )
        except (ObjectDoesNotExist, ValueError, TypeError, ValidationError):
            raise Http404(f"No {self.model._meta.object_name} matches the given query.") from None
        return instance


@dataclass
class _State:
    """This request's row and the version its preconditions were evaluated against."""

    route: _Route
    instance: Model | None
    version: int | None
    operation: Operation | None = None
    tagged: Model | None = field(default=None)

    def note_result(self, request: HttpRequest, result: Any) -> None:
        """Remember which row the response describes, for its ETag."""
        value = result.value if isinstance(result, Status) else result
        if isinstance(value, self.route.model):
            self.tagged = value
        elif self.instance is not None and (
            request.method in _SAFE or getattr(self.instance, VERSION_FIELD) != self.version
        ):
            # A read, or a write through the checked instance itself (its version moved).
            self.tagged = self.instance

    def conflict(self, request: HttpRequest, exc: StaleObjectError) -> HttpResponseBase:
        report_conflict(Source.NINJA, request, exc)
        current = None
        mine = self.instance
        if (
            mine is not None
            and exc.current_version is not None
            and exc.model is type(mine)
            and exc.pk == mine.pk
        ):
            queryset = self.route.queryset(request).filter(pk=exc.pk)
            using = queryset.db
            connection = connections[using]
            if connection.in_atomic_block and connection.features.has_select_for_update:
                # Inside ATOMIC_REQUESTS on MariaDB a plain read would return the snapshot.
                queryset = queryset.select_for_update()
            current = queryset.first()
        headers = None if current is None else self.route.preconditions.validator_headers(current)
        shown = None
        operation = self.operation
        if current is not None and operation is not None and conf.INCLUDE_REPRESENTATION_ON_412:
            shown = _represent(operation, request, current)
        return conflict_response(request, exc, current_headers=headers, current=shown)


def _state(request: HttpRequest, route: _Route) -> _State:
    state = getattr(request, _STATE, None)
    if not isinstance(state, _State) or state.route is not route:
        raise ImproperlyConfigured(
            f"{route.preconditions.owner} is decorated with etag_lock() but was called "
            "outside its Ninja operation; put @etag_lock(...) directly under the route "
            "decorator (@router.get(...)) and call the view through the API."
        )
    return state


def _route_of(operation: Operation) -> _Route:
    func: Any = operation.view_func
    while func is not None:
        route = getattr(func, "_etag_lock_route", None)
        if isinstance(route, _Route):
            return route
        func = getattr(func, "__wrapped__", None)
    raise ImproperlyConfigured(f"{operation.path}: the operation lost its etag_lock() view.")


def _check(route: _Route, operation: Operation, request: HttpRequest) -> HttpResponseBase | None:
    """Load the row and evaluate the preconditions; a response when the request stops here."""
    if not route.detail:
        setattr(request, _STATE, _State(route, None, None, operation))
        return None
    try:
        instance = route.load(request)
    except Http404 as exc:
        return operation.api.on_exception(request, exc)
    decision = route.preconditions.evaluate(request, instance)
    if decision.outcome is not Outcome.PROCEED:
        report_refusal(Source.NINJA, request, decision, instance)
        return route.preconditions.refusal(
            request, decision, instance, functools.partial(_represent, operation, request)
        )
    report_unconditional(Source.NINJA, request, instance)
    setattr(request, _STATE, _State(route, instance, getattr(instance, VERSION_FIELD), operation))
    return None


def _represent(operation: Operation, request: HttpRequest, instance: Model) -> Any:
    """``instance`` as the route's 200 would show it (``current`` of a 412), or ``None``."""
    schema = operation.response_models.get(200)
    if schema is None or schema is NOT_SET:
        return None
    validated = schema.model_validate(
        ResponseObject(cast(Any, instance)), context={"request": request, "response_status": 200}
    )
    return validated.model_dump(by_alias=operation.by_alias)["response"]


def _finish(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    state = getattr(request, _STATE, None)
    if not isinstance(state, _State):
        return response
    delattr(request, _STATE)
    tagged = state.tagged
    if (
        tagged is not None
        and response.status_code in (200, 201)
        and request.method in TAGGED_METHODS
    ):
        for name, value in state.route.preconditions.validator_headers(tagged).items():
            if name not in response:
                response[name] = value
    return response


class ETagLockOperation(Operation):
    """A sync Ninja operation whose row is loaded and checked after auth, before the body."""

    # Private Ninja API, fenced and pinned: compat.NINJA_RUN_CHECKS.
    def _run_checks(self, request: HttpRequest) -> Any:
        error = super()._run_checks(request)
        if error is not None:
            return error
        return _check(_route_of(self), self, request)

    def run(self, request: HttpRequest, **kw: Any) -> HttpResponseBase:
        return _finish(request, super().run(request, **kw))

    @property
    def openapi_extra(self) -> dict[str, Any] | None:
        return _openapi_extra(self)

    @openapi_extra.setter
    def openapi_extra(self, value: dict[str, Any] | None) -> None:
        self.__dict__["openapi_extra"] = value

    def clone(self) -> Operation:
        cloned = super().clone()
        # Operation.clone() copies openapi_extra through the property: keep the user's.
        user = self.__dict__.get("openapi_extra")
        cloned.__dict__["openapi_extra"] = dict(user) if user else None
        return cloned


class AsyncETagLockOperation(AsyncOperation):
    """The async counterpart of :class:`ETagLockOperation`."""

    async def _run_checks(self, request: HttpRequest) -> Any:  # type: ignore[override]
        error = await super()._run_checks(request)
        if error is not None:
            return error
        return await sync_to_async(_check)(_route_of(self), self, request)

    async def run(self, request: HttpRequest, **kw: Any) -> HttpResponseBase:  # type: ignore[override]
        return _finish(request, await super().run(request, **kw))

    @property
    def openapi_extra(self) -> dict[str, Any] | None:
        return _openapi_extra(self)

    @openapi_extra.setter
    def openapi_extra(self, value: dict[str, Any] | None) -> None:
        self.__dict__["openapi_extra"] = value

    def clone(self) -> Operation:
        cloned = super().clone()
        # Operation.clone() copies openapi_extra through the property: keep the user's.
        user = self.__dict__.get("openapi_extra")
        cloned.__dict__["openapi_extra"] = dict(user) if user else None
        return cloned


# -- OpenAPI --------------------------------------------------------------------------

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "reason": {
            "type": "string",
            "description": "Stable machine code, such as if-match-failed or concurrent-write.",
        },
        "header": {"type": "string", "description": "The request header that decided."},
        "current_etag": {"type": "string", "description": "The current ETag (412 only)."},
    },
    "required": ["type", "title", "status", "detail", "instance", "reason"],
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": _PROBLEM_SCHEMA}},
    }


def _validator_header_docs(route: _Route) -> dict[str, Any]:
    headers: dict[str, Any] = {
        "ETag": {
            "description": "Strong entity-tag of the row's version; send it in If-Match.",
            "schema": {"type": "string", "example": '"7"'},
        }
    }
    if route.preconditions.last_modified_field:
        headers["Last-Modified"] = {"schema": {"type": "string"}}
    return headers


def _openapi_extra(operation: Operation) -> dict[str, Any] | None:
    user = operation.__dict__.get("openapi_extra")
    route = _route_of(operation)
    methods = {method.upper() for method in operation.methods}
    extra: dict[str, Any] = {"parameters": [], "responses": {}}
    responses: dict[Any, Any] = extra["responses"]
    for status in (200, 201):
        if status in operation.response_models:
            responses[status] = {"headers": _validator_header_docs(route)}
    if route.detail:
        unsafe = bool(methods - _SAFE)
        required = unsafe and route.preconditions.requires_if_match and methods <= _IF_MATCH_METHODS
        extra["parameters"].append(
            {
                "in": "header",
                "name": "If-Match",
                "required": required,
                "schema": {"type": "string"},
                "description": 'The ETag you last read, like "7"; a stale one is a 412.',
            }
        )
        extra["parameters"].append(
            {
                "in": "header",
                "name": "If-None-Match",
                "required": False,
                "schema": {"type": "string"},
                "description": "ETags you hold; a match is 304 on a read, 412 on a write.",
            }
        )
        if methods & {"GET", "HEAD"}:
            responses[304] = {
                "description": "Not Modified: your copy is current.",
                "headers": _validator_header_docs(route),
            }
        responses[404] = responses.get(404) or {"description": "Not Found"}
        responses[412] = _problem(
            "Precondition Failed: the row changed since you read it (or a race was lost)."
        )
        if unsafe:
            responses[400] = _problem("Malformed If-Match or If-None-Match.")
            if route.preconditions.requires_if_match:
                responses[428] = _problem("Precondition Required: send If-Match.")
    if not user:
        return extra
    merged = dict(user)
    merged["parameters"] = [*user.get("parameters", []), *extra["parameters"]]
    merged_responses = dict(user.get("responses", {}))
    for status, details in responses.items():
        merged_responses[status] = {**details, **merged_responses.get(status, {})}
    merged["responses"] = merged_responses
    return merged


# -- the decorator --------------------------------------------------------------------


def _install(route: _Route) -> Callable[[Operation], None]:
    def install(operation: Operation) -> None:
        owner = route.preconditions.owner
        path_params = set(_PATH_PARAM.findall(operation.path))
        route.detail = route.path_param in path_params
        methods = {method.upper() for method in operation.methods}
        if route.detail and not route.injects:
            raise ImproperlyConfigured(
                f"{owner} is an etag_lock() route of {route.model._meta.label} but takes no "
                f"argument {route.param!r}: add it ({route.param}: "
                f"{route.model.__name__}) so the view writes the instance whose version was "
                "checked, or name yours with etag_lock(..., param='...')."
            )
        if not route.detail and methods != {"POST"}:
            raise ImproperlyConfigured(
                f"{owner}: etag_lock() found no {{{route.path_param}}} in the path "
                f"{operation.path!r}. On a detail route name the path parameter with "
                "etag_lock(..., path_param='...'); a list needs no decorator, only "
                "ETagSchema on its item schema."
            )
        if not route.detail and route.injects:
            raise ImproperlyConfigured(
                f"{owner}: a create route (POST to a collection) has no row to hand over "
                f"as {route.param!r}; drop that argument."
            )
        for body_field in _version_fields(operation):
            raise ImproperlyConfigured(
                f"{owner}: the request body field {body_field!r} carries 'version', so a "
                "client could steer the compare-and-set past its If-Match. Drop 'version' "
                "from the input schema: the write compares the version that was checked."
            )
        if "GET" in methods and "HEAD" not in methods:
            operation.methods = [*operation.methods, "HEAD"]
        operation.__class__ = (
            AsyncETagLockOperation if isinstance(operation, AsyncOperation) else ETagLockOperation
        )

    return install


def _version_fields(operation: Operation) -> list[str]:
    """Body parameters whose schema has a ``version`` field."""
    found = []
    for params_model in operation.models:
        if getattr(params_model, "__ninja_param_source__", None) != "body":
            continue
        for name, info in params_model.model_fields.items():
            annotation = info.annotation
            if name == VERSION_FIELD or (
                isinstance(annotation, type)
                and VERSION_FIELD in getattr(annotation, "model_fields", {})
            ):
                found.append(name)
    return found


def _model_and_source(
    source: type[Model] | QuerySet[Any] | Callable[[HttpRequest], QuerySet[Any]],
    model: type[Model] | None,
) -> tuple[type[Model], QuerySet[Any] | Callable[[HttpRequest], QuerySet[Any]]]:
    if isinstance(source, type) and issubclass(source, Model):
        return source, source._default_manager.all()
    if isinstance(source, QuerySet):
        return source.model, source
    if callable(source) and model is not None:
        return model, cast("Callable[[HttpRequest], QuerySet[Any]]", source)
    raise TypeError(
        "etag_lock() takes a VersionedModel, a QuerySet of one, or a callable "
        "(request) -> QuerySet together with model=, not "
        f"{source!r}."
    )


def etag_lock(
    source: type[Model] | QuerySet[Any] | Callable[[HttpRequest], QuerySet[Any]],
    *,
    model: type[Model] | None = None,
    lookup_field: str = "pk",
    path_param: str | None = None,
    param: str | None = None,
    last_modified_field: str | None = None,
    require_if_match: bool | None = None,
    allow_star: bool | None = None,
    atomic_writes: bool | None = None,
) -> Callable[[_F], _F]:
    """Make a Ninja route of a ``VersionedModel`` conditional. Put it under the route decorator.

    ``source`` is the model, a queryset, or ``callable(request) -> QuerySet`` (with
    ``model=``) that scopes what the caller may see (a row outside it is a 404).
    ``lookup_field`` is the model field the path parameter ``path_param`` (default: the
    same name) matches; ``param`` the view argument that receives the checked instance
    (default: the model name, ``customer``). The other options override the
    ``ETAG_LOCK_*`` settings for this route (``None``: use the setting).

    On a route without the path parameter (POST to a collection) the decorator tags the
    201 with the created row's ETag and runs the view in a transaction.
    """
    found_model, found_source = _model_and_source(source, model)
    if not issubclass(found_model, VersionedModel):
        raise ImproperlyConfigured(
            f"etag_lock() got {found_model._meta.label}, which is not a "
            "django_etag_lock.models.VersionedModel, so it has no version to derive ETags "
            "from or to check writes against. Make the model subclass VersionedModel."
        )

    def decorate(view: _F) -> _F:
        owner = f"{view.__module__}.{view.__qualname__}"
        name = param or found_model._meta.model_name or "instance"
        route = _Route(
            model=found_model,
            source=found_source,
            lookup_field=lookup_field,
            path_param=path_param or lookup_field,
            param=name,
            preconditions=Preconditions(
                owner=owner,
                require_if_match=require_if_match,
                allow_star=allow_star,
                last_modified_field=last_modified_field,
                atomic_writes=atomic_writes,
            ),
        )
        try:
            signature = inspect.signature(view, eval_str=True)
        except (NameError, TypeError):
            signature = inspect.signature(view)
        route.injects = name in signature.parameters
        # Ninja reads the view's signature for its parameters: the injected instance is
        # none of them (and string annotations are resolved in the view's own module).
        exposed = signature.replace(
            parameters=[p for p in signature.parameters.values() if p.name != name]
        )

        def guard(request: HttpRequest) -> Any:
            if request.method in _SAFE or not route.preconditions.writes_atomically:
                return nullcontext()
            return transaction.atomic(using=router.db_for_write(route.model))

        wrapper: Any
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                # No transaction: Django's atomic() cannot span awaits. The compare-and-set
                # still decides; only other writes of the view are not rolled back.
                state = _state(request, route)
                if route.injects:
                    kwargs[name] = state.instance
                try:
                    # The door answers a lost race, so it reports it (signals.write_refused).
                    with reported_by(Source.NINJA):
                        result = await view(request, *args, **kwargs)
                except StaleObjectError as exc:
                    return await sync_to_async(state.conflict)(request, exc)
                state.note_result(request, result)
                return result

            wrapper = async_wrapper
        else:

            @functools.wraps(view)
            def sync_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                state = _state(request, route)
                if route.injects:
                    kwargs[name] = state.instance
                try:
                    with reported_by(Source.NINJA), guard(request):
                        result = view(request, *args, **kwargs)
                except StaleObjectError as exc:
                    return state.conflict(request, exc)
                state.note_result(request, result)
                return result

            wrapper = sync_wrapper
        callbacks = getattr(view, "_ninja_contribute_to_operation", None)
        if callbacks is not None:
            # functools.wraps shared the view's list; ours gets its own.
            wrapper._ninja_contribute_to_operation = list(callbacks)
        wrapper.__signature__ = exposed
        wrapper._etag_lock_route = route
        contribute_operation_callback(wrapper, _install(route))
        return cast("_F", wrapper)

    return decorate
