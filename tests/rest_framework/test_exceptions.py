"""django_etag_lock.rest_framework.exceptions: DRF-style exceptions."""

from __future__ import annotations

from django_etag_lock import problems
from django_etag_lock.etags import Outcome
from django_etag_lock.rest_framework import (
    MalformedPrecondition,
    PreconditionFailed,
    PreconditionRequired,
)
from django_etag_lock.rest_framework.exceptions import EXCEPTIONS

# -- DRF-style exceptions ------------------------------------------------------------


def test_exceptions_are_drf_style_class_attributes_with_lazy_translations():
    from django.utils.functional import Promise

    assert PreconditionFailed.status_code == 412
    assert PreconditionFailed.default_code == "precondition_failed"
    assert PreconditionRequired.status_code == 428
    assert PreconditionRequired.default_code == "precondition_required"
    for exc in (PreconditionFailed, PreconditionRequired):
        assert isinstance(exc.default_detail, Promise)
        assert isinstance(exc.title, Promise)
    assert str(PreconditionRequired().detail).startswith("This request must be conditional")


def test_each_problem_outcome_has_the_exception_of_its_kind():
    for outcome, exc in EXCEPTIONS.items():
        kind = problems.kind_for_outcome(outcome)
        assert (exc.status_code, exc.problem_type, exc.default_code) == (
            kind.status,
            kind.type,
            kind.default_code,
        )
        assert str(exc.title) == str(kind.title)
        assert str(exc().detail) == str(kind.default_detail)
    assert set(EXCEPTIONS) == {
        Outcome.PRECONDITION_FAILED,
        Outcome.PRECONDITION_REQUIRED,
        Outcome.BAD_REQUEST,
    }
    assert MalformedPrecondition.status_code == 400
