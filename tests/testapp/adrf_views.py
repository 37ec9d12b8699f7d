"""adrf (async DRF) viewsets for tests/test_adrf.py and the ASGI race, under ``/t/async/``."""

from __future__ import annotations

from adrf.serializers import ModelSerializer
from adrf.viewsets import ModelViewSet
from customers.models import Customer
from rest_framework.permissions import AllowAny

from django_etag_lock.rest_framework import ETagField, ETagLockMixin
from tests.testapp.models import Shelf


class AsyncCustomerSerializer(ModelSerializer):  # type: ignore[misc]
    etag = ETagField()

    class Meta:
        model = Customer
        fields = ["id", "customer_id", "given_name", "family_name", "email", "notes", "etag"]


class AsyncCustomerViewSet(ETagLockMixin, ModelViewSet):  # type: ignore[misc]
    queryset = Customer.objects.all()
    serializer_class = AsyncCustomerSerializer
    permission_classes = [AllowAny]
    etag_lock_last_modified_field = "updated_at"


class PlainAsyncCustomerViewSet(ModelViewSet):  # type: ignore[misc]
    """adrf without the mixin: the query-count baseline."""

    queryset = Customer.objects.all()
    serializer_class = AsyncCustomerSerializer
    permission_classes = [AllowAny]


class AsyncShelfSerializer(ModelSerializer):  # type: ignore[misc]
    class Meta:
        model = Shelf
        fields = ["id", "name"]


class AsyncShelfViewSet(ETagLockMixin, ModelViewSet):  # type: ignore[misc]
    queryset = Shelf.objects.all()
    serializer_class = AsyncShelfSerializer
    permission_classes = [AllowAny]
