"""Conditional requests for plain Django requests and responses (no DRF, no django-ninja).

The shared middle of the doors that are not DRF: the django-ninja door
(:mod:`django_etag_lock.ninja`) and Django's own views (:mod:`django_etag_lock.views`).
It feeds a :class:`~django.http.HttpRequest`'s conditional headers to
:func:`etags.evaluate_preconditions`, builds the validator headers of a row (ETag,
Last-Modified, Cache-Control) and the responses every door answers with: 304 with the
validators, and the RFC 9457 problem details of :mod:`django_etag_lock.problems` as
``application/problem+json``. It also sends the :mod:`~django_etag_lock.signals` of a
door (:func:`report_refusal`, :func:`report_conflict`, :func:`report_unconditional`) with
the same fields as the DRF door. Settings are the shared ``ETAG_LOCK_*`` ones (:mod:`conf`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from django_etag_lock.conf import conf
from django_etag_lock.etags import (
    Decision,
    MalformedHeader,
    Outcome,
    evaluate_preconditions,
    format_http_date,
    parse_entity_tags,
)
from django_etag_lock.etags import make_etag as _make_etag
from django_etag_lock.exceptions import StaleObjectError
from django_etag_lock.problems import conflict_problem, conflict_reason, decision_problem
from django_etag_lock.querysets import VERSION_FIELD
from django_etag_lock.signals import (
    Source,
    send_unconditional_write,
    send_write_refused,
    write_refused,
)

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "Preconditions",
    "conflict_response",
    "get_etag",
    "not_modified_response",
    "precondition_response",
    "problem_response",
    "report_conflict",
    "report_refusal",
    "report_unconditional",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"

TAGGED_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "POST"})
"""Methods whose 200/201 answer is the row's representation, so it carries the row's ETag."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_IF_MATCH_METHODS = frozenset({"PUT", "PATCH", "DELETE"})


def get_etag(instance: Model) -> str:
    """The strong ETag of ``instance``: its version, quoted. No query, no hashing."""
    return _make_etag(getattr(instance, VERSION_FIELD))


@dataclass(frozen=True)
class Preconditions:
    """How one view evaluates preconditions; ``None`` means "use the ``ETAG_LOCK_*`` setting".

    ``owner`` names the view in error messages (``"customers.api.update_customer"``).
    """

    owner: str
    require_if_match: bool | None = None
    allow_star: bool | None = None
    last_modified_field: str | None = None
    atomic_writes: bool | None = None

    @property
    def requires_if_match(self) -> bool:
        return conf.REQUIRE_IF_MATCH if self.require_if_match is None else self.require_if_match

    @property
    def allows_star(self) -> bool:
        return conf.ALLOW_IF_MATCH_STAR if self.allow_star is None else self.allow_star

    @property
    def writes_atomically(self) -> bool:
        # A view body can write anything, so "auto" cannot know it is one statement.
        value = conf.ATOMIC_WRITES if self.atomic_writes is None else self.atomic_writes
        return value is not False

    def last_modified(self, instance: Model) -> datetime | None:
        """``instance``'s modification time from ``last_modified_field``, if one is named."""
        name = self.last_modified_field
        if not name:
            return None
        value = getattr(instance, name)
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise ImproperlyConfigured(
                f"{self.owner} names {type(instance)._meta.label}.{name} as its last-modified "
                f"field, but it holds {type(value).__name__}, not a datetime. Name a "
                "DateTimeField such as updated_at = DateTimeField(auto_now=True), or none."
            )
        return timezone.make_aware(value) if timezone.is_naive(value) else value

    def validator_headers(self, instance: Model) -> dict[str, str]:
        """ETag, Last-Modified and Cache-Control for a response describing ``instance``."""
        headers = {"ETag": get_etag(instance)}
        last_modified = self.last_modified(instance)
        if last_modified is not None:
            headers["Last-Modified"] = format_http_date(last_modified)
        if conf.CACHE_CONTROL:
            headers["Cache-Control"] = conf.CACHE_CONTROL
        return headers

    def evaluate(self, request: HttpRequest, instance: Model | None) -> Decision:
        """RFC 9110 section 13.2.2 for ``request`` against ``instance`` (``None``: no row)."""
        meta = request.META
        return evaluate_preconditions(
            method=request.method or "GET",
            current_etag=None if instance is None else get_etag(instance),
            last_modified=None if instance is None else self.last_modified(instance),
            if_match=meta.get("HTTP_IF_MATCH"),
            if_none_match=meta.get("HTTP_IF_NONE_MATCH"),
            if_unmodified_since=meta.get("HTTP_IF_UNMODIFIED_SINCE"),
            if_modified_since=meta.get("HTTP_IF_MODIFIED_SINCE"),
            require_if_match=self.requires_if_match,
            allow_star=self.allows_star,
            max_tags=conf.MAX_IF_MATCH_TAGS,
        )

    def refusal(
        self,
        request: HttpRequest,
        decision: Decision,
        instance: Model,
        represent: Callable[[Model], Any] | None = None,
    ) -> HttpResponse:
        """The response for a decision other than PROCEED: 304, 400, 412 or 428.

        ``represent(instance)`` gives a 412 its ``current`` member when
        ``ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412`` is on.
        """
        if decision.outcome is Outcome.NOT_MODIFIED:
            return not_modified_response(self.validator_headers(instance))
        if decision.outcome is not Outcome.PRECONDITION_FAILED:
            return precondition_response(request, decision)
        current = None
        if represent is not None and conf.INCLUDE_REPRESENTATION_ON_412:
            current = represent(instance)
        return precondition_response(
            request, decision, current_headers=self.validator_headers(instance), current=current
        )


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> HttpResponse:
    """``body`` (an RFC 9457 problem) as ``application/problem+json`` with its status."""
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder),
        status=int(body["status"]),
        content_type=PROBLEM_CONTENT_TYPE,
    )
    if body["status"] == 428:
        # RFC 6585 section 3: caches must not store a 428. It names no tag on purpose:
        # echoing the current one would invite blind overwrites.
        response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def precondition_response(
    request: HttpRequest,
    decision: Decision,
    *,
    current_headers: dict[str, str] | None = None,
    current: Any = None,
) -> HttpResponse:
    """The 400, 412 or 428 problem for ``decision``.

    ``current_headers`` (the row's validators) go on a 412 only, with the tag repeated as
    the body member ``current_etag``, as the DRF door does for callers who may read the row;
    ``current`` is the row's representation, for ``ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412``.
    """
    body = decision_problem(decision, instance=request.path)
    headers: dict[str, str] = {}
    if decision.outcome is Outcome.PRECONDITION_FAILED and current_headers:
        headers = dict(current_headers)
        body["current_etag"] = headers["ETag"]
        if current is not None:
            body["current"] = current
    return problem_response(body, headers)


def conflict_response(
    request: HttpRequest,
    exc: StaleObjectError,
    *,
    current_headers: dict[str, str] | None = None,
    current: Any = None,
) -> HttpResponse:
    """The 412 for a compare-and-set lost after the preconditions passed.

    ``current_headers`` are the validators of the row as it is now (absent once it is
    deleted); ``current`` its representation, for ``ETAG_LOCK_INCLUDE_REPRESENTATION_ON_412``.
    """
    body = conflict_problem(exc, instance=request.path)
    headers = dict(current_headers or {})
    if "ETag" in headers:
        body["current_etag"] = headers["ETag"]
    if current is not None:
        body["current"] = current
    return problem_response(body, headers)


def not_modified_response(headers: dict[str, str]) -> HttpResponse:
    """304 with the validators a 200 would carry and no body (RFC 9110 section 15.4.5)."""
    response = HttpResponse(status=304)
    del response["Content-Type"]
    for name, value in headers.items():
        response[name] = value
    return response


# -- signals (the DRF door's, for the doors that are not DRF) -------------------------


def expected_version(request: HttpRequest) -> int | None:
    """The version an ``If-Match: "7"`` names, if it names exactly one of ours."""
    try:
        tags = parse_entity_tags(request.META.get("HTTP_IF_MATCH"), max_tags=1)
    except MalformedHeader:
        return None
    opaque = tags[0].opaque if isinstance(tags, list) and not tags[0].weak else ""
    # A version is a positive bigint: at most 19 digits.
    return int(opaque) if opaque.isdigit() and len(opaque) <= 19 else None


def report_refusal(
    source: Source, request: HttpRequest, decision: Decision, instance: Model
) -> None:
    """Send ``write_refused`` for the 412 or 428 ``decision`` answers to a write."""
    if (request.method or "GET") in _SAFE_METHODS or decision.outcome not in (
        Outcome.PRECONDITION_FAILED,
        Outcome.PRECONDITION_REQUIRED,
    ):
        return
    model = type(instance)
    if not write_refused.has_listeners(model):
        return
    send_write_refused(
        source=source,
        model=model,
        pk=instance.pk,
        reason=decision.reason,
        expected_version=expected_version(request),
        current_version=getattr(instance, VERSION_FIELD),
        request=request,
    )


def report_conflict(source: Source, request: HttpRequest, exc: StaleObjectError) -> None:
    """Send ``write_refused`` for the 412 of a race lost after the preconditions passed.

    The door's write runs under ``signals.reported_by(source)``, so the ORM left it to us.
    """
    send_write_refused(
        source=source,
        model=exc.model,
        pk=exc.pk,
        reason=conflict_reason(exc),
        expected_version=exc.expected_version,
        current_version=exc.current_version,
        request=request,
    )


def report_unconditional(source: Source, request: HttpRequest, instance: Model) -> None:
    """Send ``unconditional_write`` for a PUT, PATCH or DELETE let through without If-Match."""
    if request.method in _IF_MATCH_METHODS and "HTTP_IF_MATCH" not in request.META:
        send_unconditional_write(
            source=source, model=type(instance), pk=instance.pk, request=request
        )
