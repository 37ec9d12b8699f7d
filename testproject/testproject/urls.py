from __future__ import annotations

from customers.api import router
from customers.async_api import router as async_router
from customers.ninja_api import api as ninja_api
from customers.views import CustomerDelete, CustomerUpdate, customer_json
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from testproject.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include(router.urls)),
    path("hal/", include("customers.hal")),
    path("ninja/", ninja_api.urls),
    path("async-api/", include(async_router.urls)),
    path("customers/<int:pk>/edit/", CustomerUpdate.as_view(), name="customer-edit"),
    path("customers/<int:pk>/delete/", CustomerDelete.as_view(), name="customer-delete"),
    path("json/customers/<int:pk>", customer_json, name="customer-json"),
]
