"""adrf (async DRF) viewsets for tests/test_adrf.py and the ASGI race, under ``/t/async/``."""

from __future__ import annotations

from adrf.serializers import ModelSerializer
from adrf.viewsets import ModelViewSet
from customers.async_api import AsyncCustomerSerializer
from customers.models import Customer
from rest_framework.permissions import AllowAny

from django_etag_lock.rest_framework import ETagLockMixin
from tests.testapp.models import Shelf


class AsyncCustomerViewSet(ETagLockMixin, ModelViewSet):  # type: ignore[misc]
    """The mixin on adrf's ModelViewSet by hand (the demo uses the ready class)."""

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
