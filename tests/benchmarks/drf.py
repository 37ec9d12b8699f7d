"""DRF in process: GET, GET + PATCH with If-Match, and the cost of a 412 vs a 200.

Requests are built with ``RequestFactory`` and handed straight to the viewset's view,
then rendered: no middleware, no HTTP parsing, so the figure is the view layer alone
(the strictest comparison; http_load.py measures the whole stack).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any

from django.db import connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import override_settings

from django_etag_lock.conf import Settings, conf
from tests.benchmarks.benchapp.api import VIEWSETS
from tests.benchmarks.benchapp.models import Item, PlainItem
from tests.benchmarks.harness import Case, Group, Target, compare
from tests.benchmarks.scale import Scale

ROLES = {
    "plain": "baseline",
    "etag-lock": "variant",
    "drf-extensions": "anchor",
    "plain-unversioned": "reference",
    "etag-lock-atomic": "reference",
    "etag-lock-fetch-off": "reference",
}
NAMES = {
    "plain": "plain ModelViewSet",
    "etag-lock": "ETagLockModelViewSet",
    "drf-extensions": "drf-extensions APIETAGMixin",
    "plain-unversioned": "plain ModelViewSet, unversioned model",
    "etag-lock-atomic": "ETagLockModelViewSet, etag_lock_atomic_writes = True (before)",
    "etag-lock-fetch-off": "ETagLockModelViewSet, ETAG_LOCK_COMPILED_FETCH=False",
}

factory = RequestFactory()


class Client:
    """One viewset, one row: GET and PATCH it as a client would."""

    def __init__(self, key: str) -> None:
        model = PlainItem if key in ("plain-unversioned", "drf-extensions") else Item
        self.row = model._default_manager.create(title=f"drf {key}", pages=0)
        self.path = f"/{key}/{self.row.pk}/"
        self.view = VIEWSETS[key].as_view({"get": "retrieve", "patch": "partial_update"})

    def _call(self, request: Any) -> HttpResponse:
        response: HttpResponse = self.view(request, pk=str(self.row.pk))
        response.render()  # type: ignore[attr-defined]
        return response

    def get(self) -> HttpResponse:
        return self._call(factory.get(self.path))

    def patch(self, pages: int, if_match: str | None) -> HttpResponse:
        headers = {"If-Match": if_match} if if_match is not None else {}
        body = json.dumps({"pages": pages})
        return self._call(
            factory.patch(self.path, body, content_type="application/json", headers=headers)
        )


def _fill_settings_cache() -> None:
    for name in vars(Settings):
        if name.isupper():
            getattr(conf, name)


@contextmanager
def _fetch_off() -> Iterator[None]:
    # Entering and leaving override_settings empties the settings cache: fill it again
    # each time, untimed, so neither this case nor the next pays for the misses.
    with override_settings(ETAG_LOCK_COMPILED_FETCH=False):
        _fill_settings_cache()
        yield
    _fill_settings_cache()


def _fetch_off_atomic_requests() -> AbstractContextManager[object]:
    stack = ExitStack()
    stack.enter_context(_atomic_requests())
    stack.enter_context(_fetch_off())
    return stack


def _context(key: str) -> Callable[[], AbstractContextManager[object]] | None:
    return _fetch_off if key == "etag-lock-fetch-off" else None


@contextmanager
def _atomic_requests() -> Iterator[None]:
    previous = connection.settings_dict.get("ATOMIC_REQUESTS", False)
    connection.settings_dict["ATOMIC_REQUESTS"] = True
    try:
        yield
    finally:
        connection.settings_dict["ATOMIC_REQUESTS"] = previous


def _in_request_transaction(op: Callable[[int], None]) -> Callable[[int], None]:
    """Each request in its own transaction, as ``BaseHandler.make_view_atomic`` does."""

    def wrapped(i: int) -> None:
        with transaction.atomic():
            op(i)

    return wrapped


def _expect(response: HttpResponse, status: int, what: str) -> None:
    if response.status_code != status:
        raise AssertionError(
            f"{what}: expected {status}, got {response.status_code}: {response.content[:300]!r}"
        )


def bench_drf(scale: Scale) -> list[Group] | None:
    clients = {key: Client(key) for key in ROLES}
    order = [
        "plain",
        "etag-lock",
        "drf-extensions",
        "plain-unversioned",
        "etag-lock-atomic",
        "etag-lock-fetch-off",
    ]

    def get_op(client: Client) -> Callable[[int], None]:
        def op(i: int) -> None:
            _expect(client.get(), 200, f"GET {client.path}")

        return op

    def get_patch_op(client: Client) -> Callable[[int], None]:
        def op(i: int) -> None:
            response = client.get()
            _expect(response, 200, f"GET {client.path}")
            tag = response.headers.get("ETag", '"none"')
            _expect(client.patch(i, tag), 200, f"PATCH {client.path}")

        return op

    tags: dict[str, str] = {}

    def patch_op(key: str) -> Callable[[int], None]:
        client = clients[key]

        def op(i: int) -> None:
            response = client.patch(i, tags[key])
            _expect(response, 200, f"PATCH {client.path}")
            tags[key] = response.headers.get("ETag", tags[key])

        return op

    groups = [
        compare(
            "drf-get",
            "DRF in process: GET one object",
            [Case(NAMES[k], get_op(clients[k]), role=ROLES[k], context=_context(k)) for k in order],
            rounds=scale.rounds,
            iterations=scale.drf_iterations,
        ),
        compare(
            "drf-get-patch",
            "DRF in process: GET, then PATCH with If-Match",
            [
                Case(NAMES[k], get_patch_op(clients[k]), role=ROLES[k], context=_context(k))
                for k in order
            ],
            rounds=scale.rounds,
            iterations=scale.drf_iterations,
            target=Target(
                NAMES["etag-lock"], 0.98, "ETag-locked GET + PATCH >= 0.98x plain ModelViewSet"
            ),
        ),
        compare(
            "drf-get-patch-atomic-requests",
            "DRF in process: GET, then PATCH with If-Match, each request in ATOMIC_REQUESTS",
            [
                Case(
                    NAMES[k],
                    _in_request_transaction(get_patch_op(clients[k])),
                    role=ROLES[k],
                    context=(
                        _fetch_off_atomic_requests
                        if k == "etag-lock-fetch-off"
                        else _atomic_requests
                    ),
                )
                for k in order
            ],
            rounds=scale.rounds,
            iterations=scale.drf_iterations,
            target=Target(
                NAMES["etag-lock"],
                0.98,
                "ETag-locked GET + PATCH >= 0.98x plain ModelViewSet under ATOMIC_REQUESTS",
            ),
            notes=(
                "ATOMIC_REQUESTS on the connection and each request in transaction.atomic, "
                "as Django's handler runs a view."
            ),
        ),
    ]
    tags.update({k: client.get().headers.get("ETag", '"none"') for k, client in clients.items()})
    groups += [
        compare(
            "drf-patch",
            "DRF in process: PATCH with the ETag of the previous response (as the HTTP loop)",
            [Case(NAMES[k], patch_op(k), role=ROLES[k], context=_context(k)) for k in order],
            rounds=scale.rounds,
            iterations=scale.drf_iterations,
        ),
    ]

    fresh = Client("etag-lock")
    stale = Client("etag-lock")
    stale_tag = stale.get().headers["ETag"]
    _expect(stale.patch(1, stale_tag), 200, "first PATCH")
    current = {"tag": fresh.get().headers["ETag"]}

    def patch_ok(i: int) -> None:
        response = fresh.patch(i, current["tag"])
        _expect(response, 200, "PATCH with the current ETag")
        current["tag"] = response.headers["ETag"]

    def patch_stale(i: int) -> None:
        _expect(stale.patch(i, stale_tag), 412, "PATCH with a stale ETag")

    def patch_missing(i: int) -> None:
        _expect(stale.patch(i, None), 428, "PATCH without If-Match")

    groups.append(
        compare(
            "drf-412",
            "DRF in process: ETagLockModelViewSet PATCH, 412 vs 200",
            [
                Case("PATCH, current ETag (200)", patch_ok, role="baseline"),
                Case("PATCH, stale ETag (412)", patch_stale),
                Case("PATCH, no If-Match (428)", patch_missing),
            ],
            rounds=scale.rounds,
            iterations=scale.drf_iterations,
            target=Target(
                "PATCH, stale ETag (412)", 1.0, "a 412 costs no more than a successful PATCH"
            ),
        )
    )
    return groups
