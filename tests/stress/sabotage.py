"""``--sabotage``: serve every request inside ``unchecked()``, i.e. without compare-and-set.

Only for proving the harness: with the check switched off, racing writers overwrite each
other and the run must end in broken invariants (exit 1).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from django_etag_lock.models import unchecked


class UncheckedWritesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with unchecked("stress harness sabotage run"):
            return self.get_response(request)
