"""``Server-Timing: app;dur=<ms>`` on every response: the time the worker spent on it.

The client's latency also holds the time a request waited in gunicorn's queue; under
contention that wait is what decides whether a request loses (it queued behind the
winning write), so the cost of a 412 is read from this header instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ServerTimingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter_ns()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter_ns() - start) / 1e6:.3f}"
        return response
