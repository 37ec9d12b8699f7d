"""URLs of tests/testapp/views.py, mounted under ``/t/`` by tests/urls.py."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tests.testapp import views

router = SimpleRouter()
router.register("books", views.BookViewSet, basename="book")
router.register("optional-books", views.OptionalIfMatchBookViewSet, basename="optional-book")
router.register("no-star-books", views.NoStarBookViewSet, basename="no-star-book")
router.register("rep-books", views.RepresentationBookViewSet, basename="rep-book")
router.register("writable-version-books", views.WritableVersionBookViewSet, basename="wv-book")
router.register("guarded-books", views.GuardedBookViewSet, basename="guarded-book")
router.register("write-only-books", views.WriteOnlyBookViewSet, basename="write-only-book")
router.register("shelves", views.ShelfViewSet, basename="shelf")
router.register("orders", views.OrderViewSet, basename="order")
router.register("optional-tag-orders", views.OptionalTagOrderViewSet, basename="optional-tag-order")
router.register("hand-orders", views.HandOrderViewSet, basename="hand-order")
router.register("order-lines", views.OrderLineViewSet, basename="order-line")
router.register("plain-customers", views.PlainCustomerViewSet, basename="plain-customer")

urlpatterns = [
    path("", include(router.urls)),
    path("generic-books/", views.BookCreateView.as_view(), name="generic-book-create"),
    path("generic-books/<int:pk>/", views.BookDetailView.as_view(), name="generic-book-detail"),
]
