from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tests.benchmarks.benchapp.api import VIEWSETS


def ready(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


router = SimpleRouter()
for prefix, viewset in VIEWSETS.items():
    router.register(prefix, viewset, basename=prefix)

urlpatterns = [
    path("ready/", ready),
    path("", include(router.urls)),
]
