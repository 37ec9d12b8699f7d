"""HTML helpers of the admin integration: templates that extend the admin's, inputs
added to rendered pages, a request replayed as a GET."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.loader import get_template, select_template
from django.template.response import TemplateResponse
from django.utils.html import format_html

VALUE_RE = re.compile(r'value="([^"]*)"')


def extend_response(response: TemplateResponse, template: str, **context: Any) -> None:
    """Render ``template`` instead, which extends the template the admin chose.

    So a project's own (per-app, per-model or ModelAdmin) template stays in use.
    """
    chosen = response.template_name
    if isinstance(chosen, str):
        base: Any = get_template(chosen)
    elif isinstance(chosen, (list, tuple)):
        base = select_template(chosen)
    else:  # already a template object
        base = chosen
    response.context_data = {
        **(response.context_data or {}),
        **context,
        "etag_lock_base_template": base,
    }
    response.template_name = template


def insert_after(
    response: TemplateResponse, anchor: str | re.Pattern[str], extra: Callable[[str], str]
) -> None:
    """After rendering, add ``extra(anchor_html)`` right after each anchor input.

    Django's delete and action confirmation templates have no block inside their
    form; the anchors are inputs those forms always contain (``post=yes``, the
    selected pks, see :mod:`django_etag_lock.compat`), so the version reaches the
    POST that deletes.
    """
    pattern = anchor if isinstance(anchor, re.Pattern) else re.compile(re.escape(anchor))

    def add_inputs(rendered: HttpResponse) -> None:
        charset = rendered.charset
        content = rendered.content.decode(charset)
        rendered.content = pattern.sub(lambda m: m.group(0) + extra(m.group(0)), content).encode(
            charset
        )

    response.add_post_render_callback(add_inputs)


def hidden_input(name: str, value: str) -> str:
    """``<input type="hidden">``, escaped."""
    return str(format_html('<input type="hidden" name="{}" value="{}">', name, value))


def as_get(request: HttpRequest) -> HttpRequest:
    """The same request as a GET, to have Django's view render its confirmation page."""
    clone = copy.copy(request)
    clone.method = "GET"
    clone.POST = QueryDict()
    return clone
