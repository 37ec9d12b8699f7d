"""drf-spectacular support: the conditional-request contract of ``ETagLockMixin`` views.

Nothing to configure: ``ETagLockMixin`` views extend ``DEFAULT_SCHEMA_CLASS`` with
:class:`ETagLockSchemaMixin` when it is a drf-spectacular ``AutoSchema`` (see
``rest_framework.ETagLockSchema``). Their operations then show

- ``If-None-Match`` (and ``If-Modified-Since``) on reads, with a 304 response;
- ``If-Match`` (required unless the view makes it optional) and
  ``If-Unmodified-Since`` on PUT, PATCH and DELETE, with 412, 428 and 400
  ``application/problem+json`` responses;
- the ``ETag`` (and ``Last-Modified``) response header on 200, 201, 304 and 412.

A view that sets ``schema`` itself keeps it; mix :class:`ETagLockSchemaMixin` into it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Literal

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from django_etag_lock import compat
from django_etag_lock.etags import Reason
from django_etag_lock.problems import (
    PROBLEM_TYPE_MALFORMED_PRECONDITION,
    PROBLEM_TYPE_PRECONDITION_FAILED,
    PROBLEM_TYPE_PRECONDITION_REQUIRED,
)
from django_etag_lock.rest_framework.exceptions import PreconditionError
from django_etag_lock.rest_framework.mixins import ETagLockMixin
from django_etag_lock.rest_framework.responses import ProblemJSONRenderer

if TYPE_CHECKING:
    from rest_framework.schemas.inspectors import ViewInspector

__all__ = ["ETagFieldExtension", "ETagLockAutoSchema", "ETagLockSchemaMixin", "schema_class_for"]

_Kind = Literal["read", "write", "create"]

_PROBLEM_MEDIA_TYPES = [ProblemJSONRenderer.media_type]
_ETAG_SCHEMA: dict[str, Any] = {"type": "string", "pattern": r'^"[\x21\x23-\x7e]*"$'}
_STANDARD_ACTIONS = frozenset({"retrieve", "update", "partial_update", "destroy", "create"})

# Every reason a problem body can carry: the enumeration minus the two that are not problems.
_REASONS = tuple(reason for reason in Reason if reason not in (Reason.PROCEED, Reason.NOT_MODIFIED))

# No "enum" members: drf-spectacular's enum post-processing would hoist them into
# components named TypeEnum/StatusEnum, which collide with a project's own.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details for a failed, missing or malformed precondition.",
    "properties": {
        "type": {
            "type": "string",
            "description": "One of "
            + ", ".join(
                (
                    PROBLEM_TYPE_PRECONDITION_FAILED,
                    PROBLEM_TYPE_PRECONDITION_REQUIRED,
                    PROBLEM_TYPE_MALFORMED_PRECONDITION,
                )
            )
            + ". Compare as a string; it is not a link.",
            "example": PROBLEM_TYPE_PRECONDITION_FAILED,
        },
        "title": {"type": "string", "example": "Precondition Failed"},
        "status": {
            "type": "integer",
            "description": "The response's status code: 412, 428, 409 or 400.",
            "example": 412,
        },
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The request path."},
        "reason": {
            "type": "string",
            "description": "A stable code for what failed: " + ", ".join(_REASONS) + ".",
            "example": Reason.IF_MATCH_FAILED.value,
        },
        "header": {"type": "string", "description": "The request header that decided."},
        "current_etag": {
            **_ETAG_SCHEMA,
            "description": "412 only, for callers allowed to read the resource: its ETag now.",
        },
        "current": {
            "type": "object",
            "additionalProperties": True,
            "description": "412 only, when the view enables it: the resource as it is now.",
        },
        "fields": {
            "type": "array",
            "items": {"type": "string"},
            "description": "409 only: the fields of the unique constraint the write lost on.",
        },
    },
    "required": ["type", "title", "status", "detail", "instance", "reason"],
}


# DRF's own error bodies, which stay application/json: the field errors of a 400 and
# the {"detail": ...} of a 404.
_VALIDATION_CONTENT: dict[str, Any] = {
    "application/json": {
        "schema": {
            "type": "object",
            "description": "Field errors: each field name maps to a list of messages.",
            "additionalProperties": {},
        }
    }
}
_NOT_FOUND_RESPONSE: dict[str, Any] = {
    "description": "Not Found.",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"detail": {"type": "string"}}}
        }
    },
}


class ETagLockSchemaMixin:
    """Adds the conditional-request parameters, headers and responses of ETagLockMixin views.

    Mix it in front of a drf-spectacular ``AutoSchema`` subclass.
    """

    if TYPE_CHECKING:
        view: Any
        method: str
        registry: Any

    def _etag_lock_kind(self) -> _Kind | None:
        view = self.view
        if not isinstance(view, ETagLockMixin):
            return None
        action = getattr(view, "action", None)
        if action is not None and action not in _STANDARD_ACTIONS:
            return None
        if self.method == "POST":
            return "create" if compat.spectacular_is_create_operation(self) else None
        if self.method in ("PUT", "PATCH", "DELETE"):
            return "write"
        if self.method == "GET" and not compat.spectacular_is_list_view(self):
            return "read"
        return None

    def _is_list_view(self, serializer: Any = None) -> bool:
        # adrf's async list action is "alist"; drf-spectacular knows only "list".
        if getattr(getattr(self, "view", None), "action", None) == "alist":
            return True
        return bool(super()._is_list_view(serializer))  # type: ignore[misc]

    def get_override_parameters(self) -> list[Any]:
        parameters: list[Any] = list(super().get_override_parameters())  # type: ignore[misc]
        kind = self._etag_lock_kind()
        if kind is None:
            return parameters
        view: ETagLockMixin = self.view
        dated = bool(view.etag_lock_last_modified_field)
        if kind == "read":
            parameters.append(
                OpenApiParameter(
                    "If-None-Match",
                    str,
                    OpenApiParameter.HEADER,
                    description='The ETag of your cached copy, like "7": 304 if it is current.',
                )
            )
            if dated:
                parameters.append(
                    OpenApiParameter(
                        "If-Modified-Since",
                        str,
                        OpenApiParameter.HEADER,
                        description="An HTTP-date; 304 if unchanged since. "
                        "Ignored when If-None-Match is sent.",
                    )
                )
        elif kind == "write":
            required = view.etag_lock_requires_if_match()
            star = (
                " `*` (any current version) is accepted."
                if view.etag_lock_allows_star()
                else " `*` is refused (412)."
            )
            parameters.append(
                OpenApiParameter(
                    "If-Match",
                    str,
                    OpenApiParameter.HEADER,
                    required=required,
                    description='The ETag from your last GET, like "7" (quoted). 412 if the '
                    "resource has changed since"
                    + ("; 428 if missing." if required else "; optional here.")
                    + star,
                )
            )
            if dated:
                parameters.append(
                    OpenApiParameter(
                        "If-Unmodified-Since",
                        str,
                        OpenApiParameter.HEADER,
                        description="An HTTP-date; 412 if modified since. Ignored when If-Match "
                        "is sent" + ("; does not replace If-Match." if required else "."),
                    )
                )
        elif kind == "create":
            parameters.extend(
                OpenApiParameter(
                    name,
                    str,
                    OpenApiParameter.HEADER,
                    description=description,
                )
                for name, description in (
                    ("If-Match", "Optional. The collection has no ETag: only `*` matches."),
                    ("If-None-Match", "Optional. `*` fails (412): the collection exists."),
                )
            )
            parameters.append(
                OpenApiParameter(
                    "Location",
                    str,
                    OpenApiParameter.HEADER,
                    description="The URL of the created resource, which the ETag describes.",
                    response=["201"],
                )
            )
        if kind in ("write", "create") and self.method != "DELETE":
            parameters.append(
                OpenApiParameter(
                    "Content-Location",
                    str,
                    OpenApiParameter.HEADER,
                    description="The resource whose new representation the body is: the "
                    "request's path and query (a reference to the target URI), or the "
                    "created resource's URL.",
                    response=["201"] if kind == "create" else ["200"],
                )
            )
        codes = {
            "read": ["200", "304", "412"],
            "write": ["200", "412"],
            "create": ["201"],
        }[kind]
        parameters.append(
            OpenApiParameter(
                "ETag",
                _ETAG_SCHEMA,
                OpenApiParameter.HEADER,
                description="The strong ETag of the resource (its version, quoted).",
                response=codes,
            )
        )
        if dated:
            parameters.append(
                OpenApiParameter(
                    "Last-Modified",
                    str,
                    OpenApiParameter.HEADER,
                    description="When the resource last changed (HTTP-date).",
                    response=codes,
                )
            )
        return parameters

    def _etag_lock_problem(self, description: str) -> OpenApiResponse:
        component = ResolvedComponent(  # type: ignore[no-untyped-call]
            name="ETagLockProblem",
            type=ResolvedComponent.SCHEMA,
            object=PreconditionError,
            schema=copy.deepcopy(PROBLEM_SCHEMA),
        )
        self.registry.register_on_missing(component)
        return OpenApiResponse(response=component.ref, description=description)

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        # Private drf-spectacular API, pinned in compat.SPECTACULAR_RESPONSE_BODIES:
        # public get_response_serializers() cannot add responses next to the default.
        responses: dict[str, Any] = super()._get_response_bodies(direction)  # type: ignore[misc]
        kind = self._etag_lock_kind()
        if kind is None or direction != "response":
            return responses
        view: ETagLockMixin = self.view
        if kind in ("read", "write"):
            # get_object() answers 404 before any precondition (RFC 9110 section 13.2.1).
            responses.setdefault("404", copy.deepcopy(_NOT_FOUND_RESPONSE))
        if kind in ("write", "create"):
            response = responses.setdefault(
                "400", {"description": "Invalid request.", "content": {}}
            )
            response.setdefault("content", {}).update(copy.deepcopy(_VALIDATION_CONTENT))
        if kind == "read":
            responses.setdefault(
                "304",
                compat.spectacular_response_for_code(
                    self,
                    OpenApiResponse(
                        description="Not Modified: your copy (If-None-Match) is current."
                    ),
                    "304",
                ),
            )
        else:
            unique = (
                "Conflict: a concurrent write took a unique value (fields names it); "
                "nothing was written."
            )
            problems = {
                "412": "Precondition Failed: the resource changed since the ETag you sent "
                "(current_etag has the new one), or your change lost a race.",
                "400": "Malformed If-Match or If-None-Match (an unquoted or garbled entity-tag).",
            }
            if kind == "create":
                problems["412"] = (
                    "Precondition Failed: If-Match or If-None-Match: * is false for the "
                    "collection; nothing was created."
                )
            if self.method != "DELETE":
                problems["409"] = unique
            if kind == "write" and view.etag_lock_requires_if_match():
                problems["428"] = "Precondition Required: send If-Match with the ETag from a GET."
            for code, description in problems.items():
                response = compat.spectacular_response_for_code(
                    self, self._etag_lock_problem(description), code, _PROBLEM_MEDIA_TYPES
                )
                if code in responses:
                    responses[code].setdefault("content", {}).update(response["content"])
                else:
                    responses[code] = response
        return dict(sorted(responses.items()))


class ETagLockAutoSchema(ETagLockSchemaMixin, AutoSchema):
    """drf-spectacular's ``AutoSchema`` with ``ETagLockSchemaMixin``."""


_schema_classes: dict[type[ViewInspector], type[ViewInspector]] = {AutoSchema: ETagLockAutoSchema}


def schema_class_for(base: type[ViewInspector]) -> type[ViewInspector]:
    """``base`` with ETagLockSchemaMixin in front, when ``base`` is a spectacular AutoSchema."""
    if not issubclass(base, AutoSchema) or issubclass(base, ETagLockSchemaMixin):
        return base
    if base not in _schema_classes:
        _schema_classes[base] = type(
            f"ETagLock{base.__name__}", (ETagLockSchemaMixin, base), {"__module__": __name__}
        )
    return _schema_classes[base]


class ETagFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """``ETagField`` is a quoted string, like ``"7"``."""

    target_class = "django_etag_lock.rest_framework.fields.ETagField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        return {**_ETAG_SCHEMA, "example": '"7"'}
