"""The demo's async API (adrf): the same customers and rules as ``/api/``, on async views.

``/async-api/customers/`` and ``/async-api/customers/<pk>/``; serve the project with an
ASGI server (``cd testproject && uvicorn testproject.asgi:application``) to run them on an
event loop.
"""

from __future__ import annotations

from adrf.serializers import ModelSerializer
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

from customers.models import Customer
from django_etag_lock.rest_framework import ETagField
from django_etag_lock.rest_framework.adrf import AsyncETagLockModelViewSet


class AsyncCustomerSerializer(ModelSerializer):  # type: ignore[misc]
    etag = ETagField()

    class Meta:
        model = Customer
        fields = ["id", "customer_id", "given_name", "family_name", "email", "notes", "etag"]


class AsyncCustomerViewSet(AsyncETagLockModelViewSet):
    """Customers, async. Writes need ``If-Match`` with the ETag of your last read."""

    queryset = Customer.objects.all()
    serializer_class = AsyncCustomerSerializer
    # The demo serves on loopback only and is open to anonymous clients.
    permission_classes = [AllowAny]
    etag_lock_last_modified_field = "updated_at"


router = SimpleRouter()
router.register("customers", AsyncCustomerViewSet, basename="async-customer")
