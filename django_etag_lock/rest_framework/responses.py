"""Problem details rendering: ``application/problem+json`` responses, and the bodiless 304."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from django_etag_lock import problems
from django_etag_lock.rest_framework.exceptions import PreconditionError, PreconditionRequired

__all__ = [
    "NotModifiedResponse",
    "ProblemJSONRenderer",
    "ProblemResponse",
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


def render_as_problem(response: Response) -> Response:
    """Make ``response`` render as problem+json whatever was negotiated; returns it.

    For ``finalize_response()``: problem details are JSON whatever the client accepts,
    browsable API included.
    """
    response.accepted_renderer = ProblemJSONRenderer()
    response.accepted_media_type = ProblemJSONRenderer.media_type
    return response
