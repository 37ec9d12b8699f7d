"""The viewsets compared: plain DRF, django-etag-lock, and drf-extensions' APIETAGMixin."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, viewsets
from rest_framework_extensions.etag.mixins import APIETAGMixin

from django_etag_lock.rest_framework import ETagLockModelViewSet
from tests.benchmarks.benchapp.models import Item, PlainItem

ITEM_FIELDS = ["id", "title", "pages", "notes", "updated_at"]


class ItemSerializer(serializers.ModelSerializer[Item]):
    class Meta:
        model = Item
        fields = [*ITEM_FIELDS, "version"]
        read_only_fields = ["id", "updated_at", "version"]


class PlainItemSerializer(serializers.ModelSerializer[PlainItem]):
    class Meta:
        model = PlainItem
        fields = ITEM_FIELDS
        read_only_fields = ["id", "updated_at"]


class PlainItemViewSet(viewsets.ModelViewSet[PlainItem]):
    """Unversioned model, plain DRF: the floor."""

    queryset = PlainItem.objects.all()
    serializer_class = PlainItemSerializer


class VersionedPlainViewSet(viewsets.ModelViewSet[Item]):
    """The versioned model behind a plain ModelViewSet: the DRF baseline (no ETags)."""

    queryset = Item.objects.all()
    serializer_class = ItemSerializer


class DrfExtensionsViewSet(APIETAGMixin, viewsets.ModelViewSet[PlainItem]):  # type: ignore[misc]
    """drf-extensions' ETag mixin on the unversioned model, as it is used on its own."""

    queryset = PlainItem.objects.all()
    serializer_class = PlainItemSerializer


class LockedViewSet(ETagLockModelViewSet):
    """django-etag-lock: ETag on every response, If-Match required on writes."""

    queryset = Item.objects.all()
    serializer_class = ItemSerializer


class LockedAlwaysAtomicViewSet(LockedViewSet):
    """The same with ``etag_lock_atomic_writes = True``: every write in a transaction.

    What every write cost before ``"auto"`` became the default (BEGIN and COMMIT round
    trips, or a savepoint inside ``ATOMIC_REQUESTS``).
    """

    etag_lock_atomic_writes = True


class LockedFetchOffViewSet(LockedViewSet):
    """The same, run with ``ETAG_LOCK_COMPILED_FETCH = False``: DRF's own ``get_object()``.

    The mixin's own per-request work over plain DRF, without the compiled fetch that
    more than pays for it.
    """


VIEWSETS: dict[str, type[Any]] = {
    "plain-unversioned": PlainItemViewSet,
    "plain": VersionedPlainViewSet,
    "drf-extensions": DrfExtensionsViewSet,
    "etag-lock": LockedViewSet,
    "etag-lock-atomic": LockedAlwaysAtomicViewSet,
    "etag-lock-fetch-off": LockedFetchOffViewSet,
}
