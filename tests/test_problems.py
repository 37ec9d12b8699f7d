"""django_etag_lock.problems: the RFC 9457 bodies every door answers with, without DRF."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.utils import translation

from django_etag_lock import problems
from django_etag_lock.etags import Decision, Outcome, evaluate_preconditions
from django_etag_lock.exceptions import ObjectDeletedError, StaleObjectError
from tests.testapp.models import Book

STANDARD = ["type", "title", "status", "detail", "instance"]


def decide(**kwargs: object) -> Decision:
    arguments: dict[str, object] = {
        "method": "PATCH",
        "current_etag": '"2"',
        "last_modified": None,
        "if_match": None,
        "if_none_match": None,
        "if_unmodified_since": None,
        "if_modified_since": None,
        "require_if_match": True,
        "allow_star": True,
        "max_tags": 64,
    }
    arguments.update(kwargs)
    return evaluate_preconditions(**arguments)  # type: ignore[arg-type]


def test_module_imports_no_drf():
    code = (
        "import sys, django; from django.conf import settings; settings.configure(); "
        "django.setup(); import django_etag_lock.problems; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('rest_framework', 'drf_spectacular')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_stale_if_match_is_a_412_body_naming_the_reason_and_the_header():
    body = problems.decision_problem(decide(if_match='"1"'), instance="/books/7/")
    assert list(body) == [*STANDARD, "reason", "header"]
    assert body["type"] == problems.PROBLEM_TYPE_PRECONDITION_FAILED
    assert body["title"] == "Precondition Failed"
    assert body["status"] == 412
    assert body["instance"] == "/books/7/"
    assert body["reason"] == "if-match-failed"
    assert body["header"] == "If-Match"
    assert "If-Match" in body["detail"]


def test_missing_if_match_is_a_428_body():
    body = problems.decision_problem(decide(), instance="/books/7/")
    assert body["type"] == problems.PROBLEM_TYPE_PRECONDITION_REQUIRED
    assert (body["status"], body["title"]) == (428, "Precondition Required")
    assert body["reason"] == "if-match-missing"


def test_malformed_if_match_is_a_400_body():
    body = problems.decision_problem(decide(if_match="7"), instance="/books/7/")
    assert body["type"] == problems.PROBLEM_TYPE_MALFORMED_PRECONDITION
    assert (body["status"], body["title"]) == (400, "Malformed conditional header")
    assert body["reason"] == "malformed-if-match"


@pytest.mark.parametrize("outcome", [Outcome.PROCEED, Outcome.NOT_MODIFIED])
def test_a_decision_that_is_no_problem_has_no_body(outcome):
    with pytest.raises(ValueError, match="not a problem"):
        problems.decision_problem(Decision(outcome, "x", "y", None), instance="/")


def test_a_race_lost_to_a_write_is_a_412_concurrent_write():
    body = problems.conflict_problem(StaleObjectError(Book, 7, 1, 2), instance="/books/7/")
    assert list(body) == [*STANDARD, "reason"]
    assert (body["status"], body["reason"]) == (412, "concurrent-write")
    assert "changed by another request" in body["detail"]


def test_a_race_lost_to_a_delete_is_a_412_concurrent_delete():
    body = problems.conflict_problem(ObjectDeletedError(Book, 7, 1), instance="/b/7/")
    assert (body["status"], body["reason"]) == (412, "concurrent-delete")
    assert "deleted by another request" in body["detail"]


def test_problem_details_drops_extensions_that_are_none_and_renders_lazy_text():
    body = problems.problem_details(
        type="about:blank",
        title=problems.PRECONDITION_FAILED.title,
        status=412,
        detail=problems.PRECONDITION_FAILED.default_detail,
        instance="/x/",
        reason="r",
        header=None,
    )
    assert body == {
        "type": "about:blank",
        "title": "Precondition Failed",
        "status": 412,
        "detail": str(problems.PRECONDITION_FAILED.default_detail),
        "instance": "/x/",
        "reason": "r",
    }


def test_bodies_follow_the_active_language():
    with translation.override("de"):
        body = problems.decision_problem(decide(), instance="/")
        conflict = problems.conflict_problem(StaleObjectError(Book, 7, 1, 2), instance="/")
    assert body["title"] == "Vorbedingung erforderlich"
    assert body["detail"].startswith("Diese Anfrage muss bedingt sein")
    assert conflict["detail"].startswith("Die Ressource wurde von einer anderen Anfrage")


def test_kinds_match_the_outcomes():
    assert problems.kind_for_outcome(Outcome.PRECONDITION_FAILED).status == 412
    assert problems.kind_for_outcome(Outcome.PRECONDITION_REQUIRED).status == 428
    assert problems.kind_for_outcome(Outcome.BAD_REQUEST).status == 400
