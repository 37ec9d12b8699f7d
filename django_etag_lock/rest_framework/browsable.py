"""DRF's browsable API for ETag-locked views: forms that send If-Match, readable problems.

DRF's HTML forms (PUT, PATCH, DELETE and the raw-data form) are sent by its
``ajax-form.js`` without any conditional header, so every write from the browsable API
answered 428; and a problem answered as ``application/problem+json`` made the script
fall back to a GET that shows the old data without a word. Here:

- :class:`ETagLockBrowsableAPIRenderer` renders DRF's page plus a small script that puts
  the tag of the representation the page shows into ``If-Match`` of every PUT, PATCH and
  DELETE the page sends. ``ETagLockMixin`` uses it in place of DRF's own
  ``BrowsableAPIRenderer`` (an exact-class swap: a project's subclass is left alone and
  can mix in :class:`IfMatchFormsMixin`).
- :class:`ProblemBrowsableAPIRenderer` renders a 412, 428 or 400 for a client whose
  request negotiated the browsable API (a browser asking for HTML): what happened, the
  current tag, a link that reloads the resource. Every other client keeps getting
  ``application/problem+json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer
from rest_framework.request import Request

__all__ = [
    "ETagLockBrowsableAPIRenderer",
    "IfMatchFormsMixin",
    "ProblemBrowsableAPIRenderer",
    "browsable_renderers",
    "negotiated_html",
]

_WRITE_FORMS_STATUSES = frozenset({200, 201})

_WHAT_HAPPENED: Mapping[int, Any] = {
    412: _(
        "Nothing was written: this resource changed after the page you sent it from was "
        "loaded, so your request was based on an old version. Reload it to see the current "
        "version, then make your change again."
    ),
    428: _(
        "Nothing was written: the request did not say which version of the resource it was "
        "based on (no If-Match header). Reload the resource and send the change from the "
        "fresh page."
    ),
    400: _(
        "Nothing was written: the request's conditional header could not be read. Reload the "
        "resource and send the change from the fresh page."
    ),
}


class IfMatchFormsMixin(BrowsableAPIRenderer):
    """Makes the page's PUT, PATCH and DELETE send the shown representation's ETag.

    For a project's own ``BrowsableAPIRenderer`` subclass: put this mixin first, and keep
    ``{% include "django_etag_lock/rest_framework/if_match.html" %}`` in the ``script``
    block of its template (the default template here already has it).
    """

    template = "django_etag_lock/rest_framework/api.html"

    def get_context(
        self, data: Any, accepted_media_type: str | None, renderer_context: Mapping[str, Any]
    ) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(data, accepted_media_type, renderer_context)
        response = renderer_context["response"]
        # The tag describes this page's data only on a 200/201 of the object itself;
        # a list, an error or a 204 has none, and the forms then send no If-Match.
        if response.status_code in _WRITE_FORMS_STATUSES and response.has_header("ETag"):
            context["etag_lock_if_match"] = response["ETag"]
        return context


class ETagLockBrowsableAPIRenderer(IfMatchFormsMixin, BrowsableAPIRenderer):
    """DRF's browsable API whose write forms send ``If-Match`` (used by ``ETagLockMixin``)."""


class ProblemBrowsableAPIRenderer(BrowsableAPIRenderer):
    """A 412, 428 or 400 problem as a browsable-API page: what happened, and a way back.

    The page has no forms: a form on it would resend with a tag the user never saw the
    data of. Its reload link is a plain GET of the resource.
    """

    template = "django_etag_lock/rest_framework/problem.html"

    def get_rendered_html_form(self, data: Any, view: Any, method: str, request: Request) -> Any:
        return None

    def get_raw_data_form(self, data: Any, view: Any, method: str, request: Request) -> Any:
        return None

    def get_filter_form(self, data: Any, view: Any, request: Request) -> Any:
        return None

    def get_context(
        self, data: Any, accepted_media_type: str | None, renderer_context: Mapping[str, Any]
    ) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(data, accepted_media_type, renderer_context)
        request: Request = renderer_context["request"]
        response = renderer_context["response"]
        problem = data if isinstance(data, Mapping) else {}
        context["response_headers"]["Content-Type"] = "application/problem+json"
        context.update(
            problem=problem,
            status_phrase=_phrase(response.status_code),
            what_happened=_WHAT_HAPPENED.get(response.status_code, ""),
            sent_if_match=request.META.get("HTTP_IF_MATCH"),
            current_etag=problem.get("current_etag"),
            reload_url=request.path,
        )
        return context


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def browsable_renderers(renderers: Sequence[BaseRenderer]) -> list[BaseRenderer]:
    """``renderers`` with DRF's own ``BrowsableAPIRenderer`` replaced by ours."""
    if BrowsableAPIRenderer not in map(type, renderers):
        return list(renderers)
    return [
        ETagLockBrowsableAPIRenderer() if type(renderer) is BrowsableAPIRenderer else renderer
        for renderer in renderers
    ]


def negotiated_html(request: Request) -> bool:
    """Whether the request negotiated a browsable-API page (a browser asking for HTML)."""
    return isinstance(getattr(request, "accepted_renderer", None), BrowsableAPIRenderer)
