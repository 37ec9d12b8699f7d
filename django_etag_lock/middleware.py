"""``ConcurrencyRefusalMiddleware``: a conditional write whose commit the database refused
for a concurrent transaction answers 412, not 500.

Under ``ATOMIC_REQUESTS`` Django commits the request's transaction after the view has
returned, in its request handler. At ``SERIALIZABLE`` PostgreSQL may refuse that commit
(SQLSTATE ``40001``, "could not serialize access due to read/write dependencies among
transactions"): the request's writes are rolled back, it lost to a concurrent one, and
nothing the view could do catches it. This middleware's ``process_exception`` (which
Django calls for exceptions raised by the atomic-wrapped view, commit included) answers
such a refusal of a request that carried ``If-Match`` with the same 412 problem the views
give for a write the database refused. Anything else is left to Django.

    MIDDLEWARE = [
        ...,
        "django_etag_lock.middleware.ConcurrencyRefusalMiddleware",
    ]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse

from django_etag_lock import problems
from django_etag_lock.etags import Reason
from django_etag_lock.querysets import concurrency_refusal

__all__ = ["ConcurrencyRefusalMiddleware"]


class ConcurrencyRefusalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        if not isinstance(exception, DatabaseError) or "HTTP_IF_MATCH" not in request.META:
            return None
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        if not any(concurrency_refusal(exception, alias) is not None for alias in connections):
            return None
        body = problems.problem_details(
            type=problems.PRECONDITION_FAILED.type,
            title=problems.PRECONDITION_FAILED.title,
            status=problems.PRECONDITION_FAILED.status,
            detail=problems.refused_write_detail(),
            instance=request.path,
            reason=Reason.CONCURRENT_WRITE,
        )
        return HttpResponse(
            json.dumps(body),
            status=problems.PRECONDITION_FAILED.status,
            content_type="application/problem+json",
        )
