"""Async DRF (adrf): the ready viewset. ``ETagLockMixin`` itself handles adrf's async paths.

``AsyncETagLockModelViewSet`` is ``ETagLockMixin`` on adrf's ``ModelViewSet``: the async
actions (``alist``, ``aretrieve``, ``acreate``, ``aupdate``, ``partial_aupdate``,
``adestroy``) answer the same request -> response table as ``ETagLockModelViewSet``. Use it
with adrf's serializers (``adrf.serializers.ModelSerializer``), which have ``asave()``.
This is the only module that imports adrf; importing it names adrf's own write hooks and
serializers for ``ETAG_LOCK_ATOMIC_WRITES = "auto"`` (``mixins.register_async_stock``).
"""

from __future__ import annotations

from adrf import mixins, serializers
from adrf.viewsets import ModelViewSet

from django_etag_lock.rest_framework.mixins import ETagLockMixin, register_async_stock

__all__ = ["AsyncETagLockModelViewSet"]

register_async_stock(
    {
        "perform_acreate": (mixins.CreateModelMixin,),
        "perform_aupdate": (mixins.UpdateModelMixin,),
        "perform_adestroy": (mixins.DestroyModelMixin,),
    },
    (serializers.BaseSerializer, serializers.Serializer, serializers.ModelSerializer),
)


class AsyncETagLockModelViewSet(ETagLockMixin, ModelViewSet):  # type: ignore[misc]
    """adrf's async ``ModelViewSet`` with ETags, If-Match/If-None-Match, 412 and 428."""
