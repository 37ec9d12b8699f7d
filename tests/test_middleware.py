"""ConcurrencyRefusalMiddleware: a conditional write whose commit the database refused for
a concurrent transaction (ATOMIC_REQUESTS at SERIALIZABLE) answers 412, not 500."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import translation

from django_etag_lock.middleware import ConcurrencyRefusalMiddleware
from tests.utils import needs_server_db

pytestmark = needs_server_db


def _refusal() -> OperationalError:
    """What Django raises for PostgreSQL's 40001 / MariaDB's 1213 at COMMIT."""

    class Cause(Exception):
        sqlstate = "40001"

    error = OperationalError(1213, "could not serialize access")
    error.__cause__ = Cause()
    return error


@pytest.fixture
def middleware() -> ConcurrencyRefusalMiddleware:
    return ConcurrencyRefusalMiddleware(lambda request: HttpResponse())


def test_refused_commit_of_a_conditional_write_is_a_412_problem(middleware):
    request = RequestFactory().patch("/api/customers/1/", HTTP_IF_MATCH='"3"')
    with translation.override("en"):
        response = middleware.process_exception(request, _refusal())
    assert response.status_code == 412
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["reason"] == "concurrent-write"
    assert body["instance"] == "/api/customers/1/"
    assert "nothing was written" in body["detail"]
    assert "ETag" not in response


@pytest.mark.parametrize(
    "request_kwargs",
    [
        pytest.param({"method": "patch", "headers": {}}, id="no If-Match"),
        pytest.param({"method": "get", "headers": {"HTTP_IF_MATCH": '"3"'}}, id="a read"),
    ],
)
def test_other_requests_are_left_to_django(middleware, request_kwargs):
    factory = getattr(RequestFactory(), request_kwargs["method"])
    request = factory("/api/customers/1/", **request_kwargs["headers"])
    assert middleware.process_exception(request, _refusal()) is None


def test_other_database_errors_are_left_to_django(middleware):
    request = RequestFactory().patch("/api/customers/1/", HTTP_IF_MATCH='"3"')
    assert middleware.process_exception(request, IntegrityError("duplicate key")) is None
    assert middleware.process_exception(request, ValueError("x")) is None
    assert connection.vendor in ("postgresql", "mysql")
