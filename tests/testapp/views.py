"""DRF views for tests/rest_framework/: one per configuration under test."""

from __future__ import annotations

from typing import Any

from customers.api import CustomerSerializer
from customers.models import Customer
from drf_writable_nested.serializers import WritableNestedModelSerializer
from rest_framework import generics, serializers
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ModelViewSet

from django_etag_lock.rest_framework import ETagField, ETagLockMixin, ETagLockModelViewSet
from django_etag_lock.rest_framework.nested import write_children
from tests.testapp.models import Book, Order, OrderLine, Parcel, PlainBook, Shelf, ShelfItem


class BookSerializer(serializers.ModelSerializer[Book]):
    etag = ETagField()

    class Meta:
        model = Book
        fields = ["id", "title", "pages", "updated_at", "version", "etag"]


class WritableVersionBookSerializer(serializers.ModelSerializer[Book]):
    """A careless serializer that declares ``version`` writable."""

    version = serializers.IntegerField(required=False)

    class Meta:
        model = Book
        fields = ["id", "title", "pages", "version"]


class ShelfItemSerializer(serializers.ModelSerializer[ShelfItem]):
    class Meta:
        model = ShelfItem
        fields = ["id", "label"]


class ShelfSerializer(serializers.ModelSerializer[Shelf]):
    """Nested writes: the items are written before the shelf itself."""

    items = ShelfItemSerializer(many=True, required=False)
    etag = ETagField()

    class Meta:
        model = Shelf
        fields = ["id", "name", "items", "version", "etag"]

    def update(self, instance: Shelf, validated_data: dict[str, Any]) -> Shelf:
        for item in validated_data.pop("items", []):
            ShelfItem.objects.create(shelf=instance, **item)
        return super().update(instance, validated_data)


class PlainBookSerializer(serializers.ModelSerializer[PlainBook]):
    class Meta:
        model = PlainBook
        fields = ["id", "title", "pages"]


class NoWritesToLockedBooks(BasePermission):
    """Object-level 403 for writes to books titled "locked"."""

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return request.method in SAFE_METHODS or obj.title != "locked"


class WriteOnly(BasePermission):
    """May write but not read: a 412 must not show such a caller the current tag."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method not in SAFE_METHODS


class BookViewSet(ETagLockModelViewSet):
    queryset = Book.objects.all()
    serializer_class = BookSerializer
    renderer_classes = [JSONRenderer]

    @action(detail=True, methods=["post"])
    def touch(self, request: Request, pk: str | None = None) -> Response:
        book = self.get_object()
        book.save()
        return Response({"touched": True})


class OptionalIfMatchBookViewSet(BookViewSet):
    etag_lock_require_if_match = False
    etag_lock_last_modified_field = "updated_at"


class NoStarBookViewSet(BookViewSet):
    etag_lock_allow_star = False


class RepresentationBookViewSet(BookViewSet):
    etag_lock_include_representation_on_412 = True


class WritableVersionBookViewSet(BookViewSet):
    serializer_class = WritableVersionBookSerializer


class GuardedBookViewSet(BookViewSet):
    permission_classes = [NoWritesToLockedBooks]


class WriteOnlyBookViewSet(RepresentationBookViewSet):
    permission_classes = [WriteOnly]


class ShelfViewSet(ETagLockModelViewSet):
    queryset = Shelf.objects.all()
    serializer_class = ShelfSerializer
    renderer_classes = [JSONRenderer]


class BookDetailView(ETagLockMixin, generics.RetrieveUpdateDestroyAPIView[Book]):
    queryset = Book.objects.all()
    serializer_class = BookSerializer


class BookCreateView(ETagLockMixin, generics.CreateAPIView[Book]):
    queryset = Book.objects.all()
    serializer_class = BookSerializer
    etag_lock_detail_view_name = "generic-book-detail"


class UnlocatedBookCreateView(ETagLockMixin, generics.CreateAPIView[Book]):
    """A create view whose detail route it cannot name: its 201 has no Location."""

    queryset = Book.objects.all()
    serializer_class = BookSerializer


class PlainCustomerViewSet(ModelViewSet[Customer]):
    """Plain DRF on the demo's model and serializer: the query-count baseline."""

    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer


class UnversionedViewSet(ETagLockModelViewSet):
    """Misconfigured on purpose: PlainBook is not a VersionedModel."""

    queryset = PlainBook.objects.all()
    serializer_class = PlainBookSerializer


# -- parents and children (tests/test_children.py, docs/children.md) --------------------


class OrderLineSerializer(serializers.ModelSerializer[OrderLine]):
    etag = ETagField()

    class Meta:
        model = OrderLine
        fields = ["id", "sku", "qty", "version", "etag"]


class ParcelSerializer(serializers.ModelSerializer[Parcel]):
    etag = ETagField()

    class Meta:
        model = Parcel
        fields = ["id", "label", "etag"]


class NestedOrderSerializer(WritableNestedModelSerializer):  # type: ignore[misc]
    """drf-writable-nested: lines (touch the order) and parcels (do not)."""

    lines = OrderLineSerializer(many=True, required=False)
    parcels = ParcelSerializer(many=True, required=False)
    etag = ETagField()

    class Meta:
        model = Order
        fields = ["id", "reference", "note", "lines", "parcels", "version", "etag"]


class HandLineSerializer(serializers.ModelSerializer[OrderLine]):
    id = serializers.IntegerField(required=False)
    etag = ETagField()

    class Meta:
        model = OrderLine
        fields = ["id", "sku", "qty", "etag"]


class HandOrderSerializer(serializers.ModelSerializer[Order]):
    """A hand-written nested update() through write_children()."""

    lines = HandLineSerializer(many=True, required=False)
    etag = ETagField()

    class Meta:
        model = Order
        fields = ["id", "reference", "note", "lines", "etag"]

    def create(self, validated_data: dict[str, Any]) -> Order:
        lines = validated_data.pop("lines", None)
        order = super().create(validated_data)
        write_children(self, order, "lines", lines)
        return order

    def update(self, instance: Order, validated_data: dict[str, Any]) -> Order:
        lines = validated_data.pop("lines", None)
        instance = super().update(instance, validated_data)
        write_children(self, instance, "lines", lines, remove_missing=True)
        return instance


class OrderViewSet(ETagLockModelViewSet):
    queryset = Order.objects.all()
    serializer_class = NestedOrderSerializer
    renderer_classes = [JSONRenderer]


class OptionalTagOrderViewSet(OrderViewSet):
    etag_lock_require_if_match = False


class HandOrderViewSet(ETagLockModelViewSet):
    queryset = Order.objects.all()
    serializer_class = HandOrderSerializer
    renderer_classes = [JSONRenderer]


class OrderLineViewSet(ETagLockModelViewSet):
    queryset = OrderLine.objects.all()
    serializer_class = OrderLineSerializer
    renderer_classes = [JSONRenderer]
