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

from django_etag_lock.etags import Decision, Outcome
from django_etag_lock.exceptions import StaleObjectError

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "MALFORMED_PRECONDITION",
    "PRECONDITION_FAILED",
    "PRECONDITION_REQUIRED",
    "PROBLEM_TYPE_MALFORMED_PRECONDITION",
    "PROBLEM_TYPE_PRECONDITION_FAILED",
    "PROBLEM_TYPE_PRECONDITION_REQUIRED",
    "ProblemKind",
    "conflict_detail",
    "conflict_problem",
    "conflict_reason",
    "decision_detail",
    "decision_problem",
    "kind_for_outcome",
    "problem_details",
]

# RFC 9457 section 3.1.1: problem types are identifiers, not links; consumers compare them
# as strings and must not dereference them. URNs keep them stable, host-free and
# independent of settings.
PROBLEM_TYPE_PRECONDITION_FAILED = "urn:django-etag-lock:problem:precondition-failed"
PROBLEM_TYPE_PRECONDITION_REQUIRED = "urn:django-etag-lock:problem:precondition-required"
PROBLEM_TYPE_MALFORMED_PRECONDITION = "urn:django-etag-lock:problem:malformed-precondition"


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
_REASON_MESSAGES: dict[str, str] = {
    "if-match-missing": gettext_noop(
        "This request must be conditional: GET the resource, then resend the request with "
        "its ETag in an If-Match header."
    ),
    "if-match-failed": gettext_noop(
        "None of the entity-tags in If-Match matches the current ETag: the resource has "
        "changed since you read it, or the tag was weak (W/), which never matches. GET it "
        "again, reapply your change and resend it with the new ETag in If-Match."
    ),
    "if-match-star-refused": gettext_noop(
        "If-Match: * is not accepted here because it cannot detect changes. Send the ETag "
        "you read in If-Match instead."
    ),
    "if-unmodified-since-failed": gettext_noop(
        "The resource has changed since the If-Unmodified-Since date. GET it again, reapply "
        "your change and resend it with the new ETag in If-Match."
    ),
    "if-none-match-failed": gettext_noop(
        "If-None-Match matches the current ETag, so the request was not performed."
    ),
    "malformed-if-match": gettext_noop(
        'The If-Match header is malformed: entity-tags must be quoted, like If-Match: "7".'
    ),
    "malformed-if-none-match": gettext_noop(
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
    if decision.reason.startswith("malformed-"):
        # Keep the technical specifics (which token, which header) after the translation.
        return f"{translated} ({decision.detail})"
    return translated


def conflict_reason(exc: StaleObjectError) -> str:
    """``concurrent-delete`` when the row is gone, else ``concurrent-write``."""
    return "concurrent-delete" if exc.current_version is None else "concurrent-write"


def conflict_detail(exc: StaleObjectError) -> StrOrPromise:
    """The problem ``detail`` of a compare-and-set lost after the preconditions passed."""
    if exc.current_version is None:
        return _(
            "The resource was deleted by another request after your preconditions "
            "were checked; nothing was written."
        )
    return _(
        "The resource was changed by another request after your preconditions were "
        "checked; nothing was written. GET it again, reapply your change and resend "
        "it with the new ETag in If-Match."
    )


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
