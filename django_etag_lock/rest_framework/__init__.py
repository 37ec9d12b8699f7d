"""Django REST Framework integration: ETags, conditional requests, 412 and 428.

``ETagLockMixin`` goes in front of a generic view or viewset of a
:class:`~django_etag_lock.models.VersionedModel`; ``ETagLockModelViewSet`` is the ready
pair with ``ModelViewSet``. The decision itself is :func:`etags.evaluate_preconditions`
(RFC 9110 section 13); this package only feeds it the request and the loaded row, and
turns its outcome into responses:

- ``get_object()`` loads the row (404 and 403 come first), then evaluates the request's
  preconditions against it: 304, 412, 428 or 400 stop the request before the body is
  validated.
- ``perform_create/update/destroy`` run in ``transaction.atomic``; the write compares
  the version the preconditions were checked against, in the UPDATE/DELETE itself, so a
  race lost since the check is a 412 and every write of the request is rolled back.
- Responses about the row carry ``ETag`` (and ``Last-Modified`` when configured) with
  ``Cache-Control``; 412, 428 and the 400 for a malformed validator are RFC 9457 problem
  details, ``application/problem+json`` whatever the request's ``Accept``.

The modules: ``exceptions`` (the 412/428/400/304 exceptions), ``responses`` (problem
details rendering), ``fields`` (``ETagField``), ``mixins`` (the mixin and the viewset),
``schema`` (the schema descriptor). Every name below is importable from this package;
the DRF-free problem bodies are :mod:`django_etag_lock.problems`.
"""

from __future__ import annotations

from django_etag_lock.problems import (
    PROBLEM_TYPE_MALFORMED_PRECONDITION,
    PROBLEM_TYPE_PRECONDITION_FAILED,
    PROBLEM_TYPE_PRECONDITION_REQUIRED,
)
from django_etag_lock.problems import (
    decision_detail as decision_detail,
)
from django_etag_lock.rest_framework.exceptions import (
    MalformedPrecondition,
    NotModified,
    PreconditionError,
    PreconditionFailed,
    PreconditionRequired,
)
from django_etag_lock.rest_framework.fields import ETagField
from django_etag_lock.rest_framework.mixins import (
    ETagLockMixin,
    ETagLockModelViewSet,
)
from django_etag_lock.rest_framework.mixins import (
    declared_model as declared_model,
)
from django_etag_lock.rest_framework.responses import (
    NotModifiedResponse,
    ProblemJSONRenderer,
    ProblemResponse,
)
from django_etag_lock.rest_framework.schema import ETagLockSchema

__all__ = [
    "PROBLEM_TYPE_MALFORMED_PRECONDITION",
    "PROBLEM_TYPE_PRECONDITION_FAILED",
    "PROBLEM_TYPE_PRECONDITION_REQUIRED",
    "ETagField",
    "ETagLockMixin",
    "ETagLockModelViewSet",
    "ETagLockSchema",
    "MalformedPrecondition",
    "NotModified",
    "NotModifiedResponse",
    "PreconditionError",
    "PreconditionFailed",
    "PreconditionRequired",
    "ProblemJSONRenderer",
    "ProblemResponse",
]
