"""The demo's customer pages outside the admin, and a function-based JSON view.

``/customers/<pk>/edit/`` and ``/customers/<pk>/delete/`` are Django's own editing views
made safe (``django_etag_lock.views``); with HTMX (``HX-Request: true``) they answer with
the form partial. ``/json/customers/<pk>`` is a plain function view with ETags and
If-Match preconditions (``etag_lock_view``).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse, reverse_lazy
from django.views.decorators.csrf import csrf_exempt

from customers.models import Customer
from django_etag_lock.views import VersionedDeleteView, VersionedUpdateView, etag_lock_view

EDITABLE = ["given_name", "family_name", "email", "notes"]


class CustomerUpdate(VersionedUpdateView):
    model = Customer
    fields = EDITABLE
    template_name = "customers/customer_form.html"

    def get_success_url(self) -> str:
        return reverse("customer-edit", args=[self.object.pk]) + "?saved=1"


class CustomerDelete(VersionedDeleteView):
    model = Customer
    template_name = "customers/customer_confirm_delete.html"
    success_url = reverse_lazy("home")


def _as_json(customer: Customer) -> dict[str, object]:
    return {
        "id": customer.pk,
        "customer_id": customer.customer_id,
        **{name: getattr(customer, name) for name in EDITABLE},
    }


@csrf_exempt
@etag_lock_view(Customer, last_modified_field="updated_at")
def customer_json(request: HttpRequest, pk: int, customer: Customer) -> HttpResponse:
    """GET, PATCH (a JSON object of the editable fields) and DELETE one customer."""
    if request.method in ("GET", "HEAD"):
        return JsonResponse(_as_json(customer))
    if request.method == "PATCH":
        try:
            changes = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"detail": "The body must be a JSON object."}, status=400)
        if not isinstance(changes, dict) or set(changes) - set(EDITABLE):
            return JsonResponse({"detail": f"Send an object with {EDITABLE}."}, status=400)
        # One UPDATE ... WHERE pk AND version = <the version If-Match matched>.
        customer.version = Customer.objects.update_if_version(
            customer.pk, customer.version, **changes
        )
        for name, value in changes.items():
            setattr(customer, name, value)
        return JsonResponse(_as_json(customer))
    if request.method == "DELETE":
        Customer.objects.delete_if_version(customer.pk, customer.version)
        return HttpResponse(status=204)
    return HttpResponse(status=405, headers={"Allow": "GET, HEAD, PATCH, DELETE"})
