from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("testproject.urls")),
    path("t/", include("tests.testapp.urls")),
]
