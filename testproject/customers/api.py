"""The demo JSON API: customers, protected by ETag / If-Match preconditions.

``/api/customers/`` lists and creates; ``/api/customers/<pk>/`` reads, replaces, patches
and deletes, each write conditional on the ETag the client last read (428 without
If-Match, 412 when it is stale). ``/api/schema/`` is the OpenAPI document.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from customers.models import Customer
from django_etag_lock.rest_framework import ETagField, ETagLockModelViewSet


class CustomerSerializer(serializers.ModelSerializer[Customer]):
    etag = ETagField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "customer_id",
            "given_name",
            "family_name",
            "email",
            "notes",
            "updated_at",
            "version",
            "etag",
        ]
        read_only_fields = ["version", "updated_at"]


class CustomerViewSet(ETagLockModelViewSet):
    """Customers. Writes need ``If-Match`` with the ETag of your last read."""

    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer
    # The demo serves on loopback only and is open to anonymous clients.
    permission_classes = [AllowAny]
    etag_lock_last_modified_field = "updated_at"


router = DefaultRouter()
router.register("customers", CustomerViewSet)
