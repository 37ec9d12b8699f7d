"""A URLconf for tests/test_checks.py: nested children that all touch their parent."""

from __future__ import annotations

from django.urls import path

from tests.testapp import views

urlpatterns = [
    path("hand-orders/", views.HandOrderViewSet.as_view({"get": "list"})),
    path("lines/", views.OrderLineViewSet.as_view({"get": "list"})),
]
