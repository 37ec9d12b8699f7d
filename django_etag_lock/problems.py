"""RFC 9457 problem details for failed, missing and malformed preconditions.

The bodies every door (DRF, and any other web layer) answers 412, 428 and the 400 for a
malformed validator with: ``type``, ``title``, ``status``, ``detail``, ``instance``, plus
the extensions ``reason`` (a stable code) and ``header`` (the request header that
decided). Built from an :class:`~django_etag_lock.etags.Decision` or from a
:class:`~django_etag_lock.exceptions.StaleObjectError` (a race lost after the check).
Django only (translations); no DRF import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from django_etag_lock.etags import Decision, Outcome, Reason
from django_etag_lock.exceptions import ObjectDeletedError, StaleObjectError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "MALFORMED_PRECONDITION",
    "PRECONDITION_FAILED",
    "PRECONDITION_REQUIRED",
    "PROBLEM_TYPE_MALFORMED_PRECONDITION",
    "PROBLEM_TYPE_PRECONDITION_FAILED",
    "PROBLEM_TYPE_PRECONDITION_REQUIRED",
    "PROBLEM_TYPE_UNIQUE_CONFLICT",
    "UNIQUE_CONFLICT",
    "ProblemKind",
    "conflict_detail",
    "conflict_problem",
    "conflict_reason",
    "create_conflict_detail",
    "decision_detail",
    "decision_problem",
    "kind_for_outcome",
    "problem_details",
    "unique_conflict_detail",
]

# RFC 9457 section 3.1.1: problem types are identifiers, not links; consumers compare them
# as strings and must not dereference them. URNs keep them stable, host-free and
# independent of settings.
PROBLEM_TYPE_PRECONDITION_FAILED = "urn:django-etag-lock:problem:precondition-failed"
PROBLEM_TYPE_PRECONDITION_REQUIRED = "urn:django-etag-lock:problem:precondition-required"
PROBLEM_TYPE_MALFORMED_PRECONDITION = "urn:django-etag-lock:problem:malformed-precondition"
PROBLEM_TYPE_WRITTEN_THEN_FAILED = "urn:django-etag-lock:problem:written-then-failed"
PROBLEM_TYPE_UNIQUE_CONFLICT = "urn:django-etag-lock:problem:unique-conflict"


@dataclass(frozen=True)
class ProblemKind:
    """One kind of precondition problem: its status, type URI, title and default detail."""

    status: int
    type: str
    title: StrOrPromise
    default_detail: StrOrPromise
    default_code: str


PRECONDITION_FAILED = ProblemKind(
    status=412,
    type=PROBLEM_TYPE_PRECONDITION_FAILED,
    title=_("Precondition Failed"),
    default_detail=_(
        "The resource has changed since you read it. GET it again, reapply your change "
        "and resend it with the new ETag in If-Match."
    ),
    default_code="precondition_failed",
)
"""412: a precondition was false, or the row changed between the check and the write."""

PRECONDITION_REQUIRED = ProblemKind(
    status=428,
    type=PROBLEM_TYPE_PRECONDITION_REQUIRED,
    title=_("Precondition Required"),
    default_detail=_(
        "This request must be conditional: GET the resource, then resend the request with "
        "its ETag in an If-Match header."
    ),
    default_code="precondition_required",
)
"""428 (RFC 6585 section 3): the write must be conditional and was not."""

MALFORMED_PRECONDITION = ProblemKind(
    status=400,
    type=PROBLEM_TYPE_MALFORMED_PRECONDITION,
    title=_("Malformed conditional header"),
    default_detail=_(
        'A conditional header is malformed: entity-tags must be quoted, like If-Match: "7".'
    ),
    default_code="malformed_precondition",
)
"""400: an If-Match or If-None-Match that breaks the RFC 9110 grammar, on a write."""

WRITTEN_THEN_FAILED = ProblemKind(
    status=500,
    type=PROBLEM_TYPE_WRITTEN_THEN_FAILED,
    title=_("Saved, then a later step failed"),
    default_detail=_(
        "Your change was saved, but a step that ran after it was committed failed. Do "
        "not resend the change: GET the resource to see it."
    ),
    default_code="written_then_failed",
)
"""500: the write committed, then a conflict was raised after the commit (an on_commit
callback): the client must learn that its change is in, not that nothing was written."""
UNIQUE_CONFLICT = ProblemKind(
    status=409,
    type=PROBLEM_TYPE_UNIQUE_CONFLICT,
    title=_("Conflict"),
    default_detail=_(
        "Another request has just stored a value that must be unique; nothing was written."
    ),
    default_code="unique_conflict",
)
"""409: a concurrent write took a unique value this write needs (a race the validator lost)."""

_KINDS: dict[Outcome, ProblemKind] = {
    Outcome.PRECONDITION_FAILED: PRECONDITION_FAILED,
    Outcome.PRECONDITION_REQUIRED: PRECONDITION_REQUIRED,
    Outcome.BAD_REQUEST: MALFORMED_PRECONDITION,
}


def kind_for_outcome(outcome: Outcome) -> ProblemKind:
    """The problem kind of a decision's outcome; ``PROCEED`` and ``NOT_MODIFIED`` have none."""
    try:
        return _KINDS[outcome]
    except KeyError:
        raise ValueError(f"{outcome!r} is not a problem: it has no problem details.") from None


# etags.py is Django-free, so its details are English and name specifics (the tag a
# client should send). Where the active language has a translation of the reason's
# message, that message is used instead; otherwise the specific English detail stays.
_REASON_MESSAGES: dict[Reason, str] = {
    Reason.IF_MATCH_MISSING: gettext_noop(
        "This request must be conditional: GET the resource, then resend the request with "
        "its ETag in an If-Match header."
    ),
    Reason.IF_MATCH_FAILED: gettext_noop(
        "None of the entity-tags in If-Match matches the current ETag: the resource has "
        "changed since you read it, or the tag was weak (W/), which never matches. GET it "
        "again, reapply your change and resend it with the new ETag in If-Match."
    ),
    Reason.IF_MATCH_STAR_REFUSED: gettext_noop(
        "If-Match: * is not accepted here because it cannot detect changes. Send the ETag "
        "you read in If-Match instead."
    ),
    Reason.IF_UNMODIFIED_SINCE_FAILED: gettext_noop(
        "The resource has changed since the If-Unmodified-Since date. GET it again, reapply "
        "your change and resend it with the new ETag in If-Match."
    ),
    Reason.IF_NONE_MATCH_FAILED: gettext_noop(
        "If-None-Match matches the current ETag, so the request was not performed."
    ),
    Reason.MALFORMED_IF_MATCH: gettext_noop(
        'The If-Match header is malformed: entity-tags must be quoted, like If-Match: "7".'
    ),
    Reason.MALFORMED_IF_NONE_MATCH: gettext_noop(
        'The If-None-Match header is malformed: entity-tags must be quoted, like "7".'
    ),
}


def decision_detail(decision: Decision) -> str:
    """The problem ``detail`` for ``decision``, in the active language when translated."""
    msgid = _REASON_MESSAGES.get(decision.reason)
    if msgid is None:
        return decision.detail
    translated = gettext(msgid)
    if translated == msgid:
        return decision.detail
    if decision.reason in (Reason.MALFORMED_IF_MATCH, Reason.MALFORMED_IF_NONE_MATCH):
        # Keep the technical specifics (which token, which header) after the translation.
        return f"{translated} ({decision.detail})"
    return translated


def conflict_reason(exc: StaleObjectError) -> Reason:
    """``concurrent-delete`` when the row is gone, else ``concurrent-write``."""
    if isinstance(exc, ObjectDeletedError):
        return Reason.CONCURRENT_DELETE
    return Reason.CONCURRENT_WRITE


def conflict_detail(exc: StaleObjectError) -> StrOrPromise:
    """The problem ``detail`` of a compare-and-set lost after the preconditions passed."""
    if isinstance(exc, ObjectDeletedError):
        return _(
            "The resource was deleted by another request after your preconditions "
            "were checked; nothing was written."
        )
    if exc.current_version is None:
        return refused_write_detail()
    return _(
        "The resource was changed by another request after your preconditions were "
        "checked; nothing was written. GET it again, reapply your change and resend "
        "it with the new ETag in If-Match."
    )


def refused_write_detail() -> StrOrPromise:
    """The ``detail`` of a write the database refused for a concurrent transaction.

    REPEATABLE READ, SERIALIZABLE (PostgreSQL 40001, MariaDB 1213): the row's version
    now is unknown, so no ETag is offered.
    """
    return _(
        "The database refused your write because another request changed the resource "
        "at the same time; nothing was written. GET it again, reapply your change and "
        "resend it with the new ETag in If-Match."
    )


def written_then_failed_detail(exc: StaleObjectError) -> StrOrPromise:
    """The ``detail`` of a conflict raised after the request's write was committed."""
    return gettext(
        "Your change was saved, but a step that ran after it was committed failed "
        "because %(model)s %(pk)s had changed. Do not resend the change: GET the resource "
        "to see it."
    ) % {"model": exc.model._meta.verbose_name, "pk": exc.pk}


def create_conflict_detail() -> StrOrPromise:
    """The 412 ``detail`` of a create-only PUT that another request's create beat."""
    return _(
        "Another request created this resource after your If-None-Match: * was checked; "
        "nothing was written. GET it to see what was stored."
    )


def unique_conflict_detail(fields: tuple[str, ...]) -> str:
    """The 409 ``detail`` naming the unique fields (``fields`` empty when unknown)."""
    if not fields:
        return str(UNIQUE_CONFLICT.default_detail)
    return gettext(
        "Another request has just stored the same %(fields)s, which must be unique; "
        "nothing was written. Choose another value, or GET the resource that has it."
    ) % {"fields": ", ".join(fields)}


def problem_details(
    *,
    type: str,
    title: StrOrPromise,
    status: int,
    detail: StrOrPromise,
    instance: str,
    **extensions: Any,
) -> dict[str, Any]:
    """An RFC 9457 body: the five standard members, then the extensions not ``None``.

    Lazy translations are rendered in the active language.
    """
    body: dict[str, Any] = {
        "type": type,
        "title": str(title),
        "status": status,
        "detail": str(detail),
        "instance": instance,
    }
    body.update((name, value) for name, value in extensions.items() if value is not None)
    return body


def decision_problem(decision: Decision, *, instance: str) -> dict[str, Any]:
    """The body for a decision other than ``PROCEED`` or ``NOT_MODIFIED``.

    ``instance`` is the request's path.
    """
    kind = kind_for_outcome(decision.outcome)
    return problem_details(
        type=kind.type,
        title=kind.title,
        status=kind.status,
        detail=decision_detail(decision),
        instance=instance,
        reason=decision.reason,
        header=decision.header or None,
    )


def conflict_problem(exc: StaleObjectError, *, instance: str) -> dict[str, Any]:
    """The 412 body for a compare-and-set lost after the preconditions passed."""
    kind = PRECONDITION_FAILED
    return problem_details(
        type=kind.type,
        title=kind.title,
        status=kind.status,
        detail=conflict_detail(exc),
        instance=instance,
        reason=conflict_reason(exc),
    )
