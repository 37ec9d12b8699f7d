"""Helpers of the DRF tests: URLs, problem bodies, other writers, statement counts."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import CustomerFactory

PROBLEM = "application/problem+json"


def book_url(pk: int, prefix: str = "books") -> str:
    return f"/t/{prefix}/{pk}/"


def customer_url(pk: int) -> str:
    return f"/api/customers/{pk}/"


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == PROBLEM
    data: dict[str, Any] = json.loads(response.content)
    assert data["status"] == response.status_code
    return data


def bump(obj: Any) -> None:
    """Another client's write, committed: the row moves to the next version."""
    type(obj).objects.filter(pk=obj.pk).update()


def stored(obj: Any) -> Any:
    return type(obj)._base_manager.get(pk=obj.pk)


_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def _count(callable_: Any) -> tuple[int, list[str], Any]:
    """(data statements, transaction-control statements, response) of one request.

    Django logs BEGIN/COMMIT/SAVEPOINT too; they are counted apart, because wrapping the
    write in a transaction (so a lost race rolls back everything) is the one thing the
    integration adds on purpose.
    """
    with CaptureQueriesContext(connection) as ctx:
        response = callable_()
    sql = [q["sql"].strip() for q in ctx.captured_queries]
    control = [s.split(" ")[0] for s in sql if s.upper().startswith(_TRANSACTION_CONTROL)]
    return len(sql) - len(control), control, response


def side_by_side(api: APIClient) -> dict[str, tuple[int, int, list[str], list[str]]]:
    """{request: (our data statements, plain's, our transaction control, plain's)}."""
    ours, plain = CustomerFactory(), CustomerFactory()
    body = {"customer_id": "Z1", "given_name": "G", "family_name": "F", "email": ""}
    counts: dict[str, tuple[int, int, list[str], list[str]]] = {}

    def both(name, ours_call, plain_call, ours_status, plain_status):
        ours_n, ours_control, ours_r = _count(ours_call)
        plain_n, plain_control, plain_r = _count(plain_call)
        assert ours_r.status_code == ours_status, (name, ours_r.content)
        assert plain_r.status_code == plain_status, (name, plain_r.content)
        counts[name] = (ours_n, plain_n, ours_control, plain_control)

    ou, pu = customer_url(ours.pk), f"/t/plain-customers/{plain.pk}/"
    both("GET", lambda: api.get(ou), lambda: api.get(pu), 200, 200)
    both("HEAD", lambda: api.head(ou), lambda: api.head(pu), 200, 200)
    both(
        "PUT",
        lambda: api.put(ou, {**body, "customer_id": "Z1"}, HTTP_IF_MATCH='"1"', format="json"),
        lambda: api.put(pu, {**body, "customer_id": "Z2"}, format="json"),
        200,
        200,
    )
    both(
        "PATCH",
        lambda: api.patch(ou, {"notes": "n"}, HTTP_IF_MATCH='"2"', format="json"),
        lambda: api.patch(pu, {"notes": "n"}, format="json"),
        200,
        200,
    )
    # Conditional outcomes against what plain DRF spends to answer the same request
    # without the condition: a 304 against its GET, a 412/428 against its load.
    both("304", lambda: api.get(ou, HTTP_IF_NONE_MATCH='"3"'), lambda: api.get(pu), 304, 200)
    both(
        "412",
        lambda: api.patch(ou, {"notes": "m"}, HTTP_IF_MATCH='"1"', format="json"),
        lambda: api.get(pu),
        412,
        200,
    )
    both("428", lambda: api.patch(ou, {"notes": "m"}, format="json"), lambda: api.get(pu), 428, 200)
    both("DELETE", lambda: api.delete(ou, HTTP_IF_MATCH='"3"'), lambda: api.delete(pu), 204, 204)
    return counts
