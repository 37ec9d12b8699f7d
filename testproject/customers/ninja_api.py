"""The demo's django-ninja API: the same customers and the same rules as ``/api/``.

``/ninja/customers`` lists (each item with its ``etag``) and creates;
``/ninja/customers/<pk>`` reads, replaces, patches and deletes, each write conditional on
the ETag the client last read (428 without If-Match, 412 when it is stale).
``/ninja/docs`` is Ninja's interactive OpenAPI page.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import ModelSchema, NinjaAPI, Schema
from ninja.responses import Status

from customers.models import Customer
from django_etag_lock.ninja import ETagSchema, etag_lock

api = NinjaAPI(
    title="django-etag-lock demo (django-ninja)",
    description="Customers, protected by ETag / If-Match preconditions.",
    urls_namespace="ninja",
)


class CustomerOut(ETagSchema, ModelSchema):
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
        ]


class CustomerIn(Schema):
    customer_id: str
    given_name: str
    family_name: str
    email: str = ""
    notes: str = ""


class CustomerPatch(Schema):
    customer_id: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    notes: str | None = None


@api.get("/customers", response=list[CustomerOut])
def list_customers(request: HttpRequest) -> object:
    return Customer.objects.all()


@api.post("/customers", response={201: CustomerOut})
@etag_lock(Customer)
def create_customer(request: HttpRequest, payload: CustomerIn) -> object:
    return Status(201, Customer.objects.create(**payload.dict()))


@api.get("/customers/{pk}", response=CustomerOut)
@etag_lock(Customer, last_modified_field="updated_at")
def get_customer(request: HttpRequest, pk: int, customer: Customer) -> object:
    return customer


@api.put("/customers/{pk}", response=CustomerOut)
@etag_lock(Customer, last_modified_field="updated_at")
def replace_customer(
    request: HttpRequest, pk: int, payload: CustomerIn, customer: Customer
) -> object:
    for name, value in payload.dict().items():
        setattr(customer, name, value)
    customer.save()
    return customer


@api.patch("/customers/{pk}", response=CustomerOut)
@etag_lock(Customer, last_modified_field="updated_at")
def update_customer(
    request: HttpRequest, pk: int, payload: CustomerPatch, customer: Customer
) -> object:
    for name, value in payload.dict(exclude_unset=True).items():
        setattr(customer, name, value)
    customer.save()
    return customer


@api.delete("/customers/{pk}", response={204: None})
@etag_lock(Customer)
def delete_customer(request: HttpRequest, pk: int, customer: Customer) -> object:
    customer.delete()
    return Status(204, None)
