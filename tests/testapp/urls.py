"""URLs of tests/testapp/views.py, mounted under ``/t/`` by tests/urls.py."""

from __future__ import annotations

from adrf.routers import SimpleRouter as AsyncSimpleRouter
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tests.testapp import adrf_views, django_views, views
from tests.testapp.ninja_api import api as ninja_api

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

# adrf's router maps each route to the async action (aretrieve, partial_aupdate, ...).
async_router = AsyncSimpleRouter()
async_router.register("customers", adrf_views.AsyncCustomerViewSet, basename="t-async-customer")
async_router.register(
    "plain-customers", adrf_views.PlainAsyncCustomerViewSet, basename="t-async-plain-customer"
)
async_router.register("shelves", adrf_views.AsyncShelfViewSet, basename="t-async-shelf")

urlpatterns = [
    path("async/", include(async_router.urls)),
    path("", include(router.urls)),
    path("ninja/", ninja_api.urls),
    path("plain-edit/<int:pk>/", django_views.PlainCustomerUpdate.as_view()),
    path("plain-json/<int:pk>", django_views.plain_customer_json),
    path("shelf-edit/<int:pk>/", django_views.ShelfUpdate.as_view()),
    path("shelf-json/<int:pk>", django_views.shelf_json),
    path("generic-books/", views.BookCreateView.as_view(), name="generic-book-create"),
    path("generic-books/<int:pk>/", views.BookDetailView.as_view(), name="generic-book-detail"),
    path("unlocated-books/", views.UnlocatedBookCreateView.as_view()),
]
