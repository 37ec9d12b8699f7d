"""Django views for tests/test_views.py: plain baselines and configurations the demo lacks."""

from __future__ import annotations

import json

from customers.models import Customer
from customers.views import EDITABLE, _as_json
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.generic.edit import UpdateView

from django_etag_lock.views import VersionedUpdateView, etag_lock_view
from tests.testapp.models import Shelf, ShelfItem


class PlainCustomerUpdate(UpdateView):  # type: ignore[type-arg]
    """Django's own UpdateView on the demo's model and template: the query-count baseline."""

    model = Customer
    fields = EDITABLE
    template_name = "customers/customer_form.html"
    success_url = "/"


def plain_customer_json(request: HttpRequest, pk: int) -> HttpResponse:
    """The demo's JSON view without the decorator: the query-count baseline."""
    customer = get_object_or_404(Customer, pk=pk)
    if request.method == "PATCH":
        changes = json.loads(request.body)
        Customer.objects.filter(pk=customer.pk).update(**changes)
        for name, value in changes.items():
            setattr(customer, name, value)
    return JsonResponse(_as_json(customer))


class ShelfUpdate(VersionedUpdateView):
    """A second model for the editing views (its tests add a pre_save receiver)."""

    model = Shelf
    fields = ["name"]
    template_name = "customers/customer_form.html"
    success_url = "/"


@etag_lock_view(Shelf)
def shelf_json(request: HttpRequest, pk: int, shelf: Shelf) -> HttpResponse:
    """A write besides the row, then the row's save: rolled back together on a lost race."""
    ShelfItem.objects.create(shelf=shelf, label="added")
    shelf.name = json.loads(request.body)["name"]
    shelf.save()
    return JsonResponse({"name": shelf.name})
