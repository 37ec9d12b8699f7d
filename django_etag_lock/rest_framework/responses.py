"""Problem details rendering: ``application/problem+json`` responses, and the bodiless 304."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase
from django.template.response import SimpleTemplateResponse
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from django_etag_lock import problems
from django_etag_lock.rest_framework.exceptions import (
    PreconditionError,
    PreconditionRequired,
    UniqueConflict,
)

__all__ = [
    "NotModifiedResponse",
    "ProblemJSONRenderer",
    "ProblemResponse",
    "not_modified_from",
    "problem_body",
    "problem_headers",
    "render_as_problem",
]


class ProblemJSONRenderer(JSONRenderer):
    """RFC 9457 ``application/problem+json``."""

    media_type = "application/problem+json"
    format = "problem+json"


class ProblemResponse(Response):
    """A problem details response; ``ETagLockMixin`` always renders it as problem+json."""


class NotModifiedResponse(Response):
    """304: no body and no Content-Type, whatever renderer was negotiated."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        super().__init__(status=304, headers=headers)
        del self["Content-Type"]

    @property
    def rendered_content(self) -> str:
        return ""


def problem_body(exc: PreconditionError, instance: str) -> dict[str, Any]:
    """The problem details of ``exc`` (``instance`` is the request path), no ``current``."""
    body = problems.problem_details(
        type=exc.problem_type,
        title=exc.title,
        status=exc.status_code,
        detail=str(exc.detail),
        instance=instance,
        reason=exc.reason,
        header=exc.header or None,
        # A 409 names the unique fields (empty when the database did not say which).
        fields=list(exc.fields) if isinstance(exc, UniqueConflict) else None,
    )
    if exc.errors:
        body["errors"] = exc.errors
    return body


def problem_headers(exc: PreconditionError) -> dict[str, str]:
    """Headers every problem response for ``exc`` carries, whoever asks."""
    if isinstance(exc, PreconditionRequired):
        # RFC 6585 section 3: caches must not store a 428. It names no tag on purpose:
        # echoing the current one would invite blind overwrites.
        return {"Cache-Control": "no-store"}
    return {}


def render_as_problem(response: Response, renderer: BaseRenderer | None = None) -> Response:
    """Make ``response`` render as problem+json whatever was negotiated; returns it.

    For ``finalize_response()``: problem details are JSON whatever the client accepts.
    ``renderer`` replaces problem+json (``ETagLockMixin`` passes the browsable-API
    problem page for a browser that asked for HTML).
    """
    renderer = renderer or ProblemJSONRenderer()
    response.accepted_renderer = renderer
    response.accepted_media_type = renderer.media_type or ProblemJSONRenderer.media_type
    return response


def not_modified_from(response: HttpResponseBase) -> HttpResponseBase:
    """Make the 200 ``response`` render as the 304 for it; returns it.

    The 200 is built and rendered as usual (so the renderer touches the session, the
    CSRF token or the language exactly as for a 200, and every middleware adds the same
    ``Vary`` and cookies), then its body is dropped: the 304 keeps every header of the
    200 and a ``Content-Length`` equal to the 200's (RFC 9110 sections 8.6, 15.4.5), so
    ``CommonMiddleware`` adds no ``Content-Length: 0``.
    """

    def to_304(rendered: Any) -> None:
        length = len(rendered.content)
        rendered.status_code = 304
        rendered.content = b""
        if "Content-Type" in rendered:
            del rendered["Content-Type"]
        rendered["Content-Length"] = str(length)

    if response.streaming:
        return response  # no length to copy: a streamed 200 stays a 200 (docs/http.md)
    if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
        response.add_post_render_callback(to_304)
    else:  # a plain HttpResponse from the view, already rendered
        to_304(response)
    return response
