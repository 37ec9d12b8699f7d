"""The DRF exceptions a conditional request ends in: 412, 428, the malformed 400, and 304.

HTTP exceptions in DRF's style (class attributes ``status_code``, ``default_detail``,
``default_code``); the titles, types and details are those of
:mod:`django_etag_lock.problems`, shared by every door.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import Model
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import APIException

from django_etag_lock import problems
from django_etag_lock.etags import Outcome, Reason

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "MalformedPrecondition",
    "NotModified",
    "PreconditionError",
    "PreconditionFailed",
    "PreconditionRequired",
    "UniqueConflict",
    "WrittenThenFailed",
]


class PreconditionError(APIException):
    """A conditional request the view answers itself, with a problem details body.

    ``reason`` is the stable machine code (``etags.Decision.reason``, or
    ``concurrent-write`` / ``concurrent-delete`` for a race lost after the check);
    ``header`` names the request header that decided; ``instance`` is the row as it is
    now, when known (its tag goes into a 412 for callers allowed to read it); ``errors``
    names nested children by JSON pointer (docs/children.md).
    """

    problem_type: ClassVar[str] = problems.PROBLEM_TYPE_PRECONDITION_FAILED
    title: ClassVar[StrOrPromise] = problems.PRECONDITION_FAILED.title

    def __init__(
        self,
        detail: StrOrPromise | None = None,
        code: str | None = None,
        *,
        reason: str | None = None,
        header: str | None = None,
        instance: Model | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail, code)
        self.reason: str = reason or str(self.default_code)
        self.header = header
        self.instance = instance
        self.errors = errors


class PreconditionFailed(PreconditionError):
    """412: a precondition was false, or the row changed between the check and the write."""

    status_code = problems.PRECONDITION_FAILED.status
    default_detail = problems.PRECONDITION_FAILED.default_detail
    default_code = problems.PRECONDITION_FAILED.default_code
    problem_type = problems.PRECONDITION_FAILED.type
    title = problems.PRECONDITION_FAILED.title


class PreconditionRequired(PreconditionError):
    """428 (RFC 6585 section 3): the write must be conditional and was not."""

    status_code = problems.PRECONDITION_REQUIRED.status
    default_detail = problems.PRECONDITION_REQUIRED.default_detail
    default_code = problems.PRECONDITION_REQUIRED.default_code
    problem_type = problems.PRECONDITION_REQUIRED.type
    title = problems.PRECONDITION_REQUIRED.title


class MalformedPrecondition(PreconditionError):
    """400: an If-Match or If-None-Match that breaks the RFC 9110 grammar, on a write."""

    status_code = problems.MALFORMED_PRECONDITION.status
    default_detail = problems.MALFORMED_PRECONDITION.default_detail
    default_code = problems.MALFORMED_PRECONDITION.default_code
    problem_type = problems.MALFORMED_PRECONDITION.type
    title = problems.MALFORMED_PRECONDITION.title


class WrittenThenFailed(PreconditionError):
    """500: the write was committed, then a conflict was raised after the commit.

    An ``on_commit`` callback (or, without the view's transaction, any step after the
    compare-and-set) hit a stale row. The request's change is in: the answer says so, and
    carries the row's new ``ETag``, instead of a 412 claiming nothing was written.
    """

    status_code = problems.WRITTEN_THEN_FAILED.status
    default_detail = problems.WRITTEN_THEN_FAILED.default_detail
    default_code = problems.WRITTEN_THEN_FAILED.default_code
    problem_type = problems.WRITTEN_THEN_FAILED.type
    title = problems.WRITTEN_THEN_FAILED.title


class NotModified(APIException):
    """304: the client's copy is current. Raised by ``get_object()``, answered without a body."""

    status_code = 304
    default_detail = _("Not Modified")
    default_code = "not_modified"

    def __init__(self, instance: Model) -> None:
        super().__init__()
        self.instance = instance


EXCEPTIONS: dict[Outcome, type[PreconditionError]] = {
    Outcome.PRECONDITION_FAILED: PreconditionFailed,
    Outcome.PRECONDITION_REQUIRED: PreconditionRequired,
    Outcome.BAD_REQUEST: MalformedPrecondition,
}
"""The exception class for each outcome that is a problem."""


class UniqueConflict(PreconditionError):
    """409: the write lost a race for a unique value; ``fields`` names the constraint's fields.

    Not a precondition, but answered the same way: a problem details body, the request's
    writes rolled back.
    """

    status_code = problems.UNIQUE_CONFLICT.status
    default_detail = problems.UNIQUE_CONFLICT.default_detail
    default_code = problems.UNIQUE_CONFLICT.default_code
    problem_type = problems.UNIQUE_CONFLICT.type
    title = problems.UNIQUE_CONFLICT.title

    def __init__(self, detail: StrOrPromise | None = None, *, fields: tuple[str, ...] = ()) -> None:
        super().__init__(detail, reason=Reason.UNIQUE_CONFLICT)
        self.fields = fields
