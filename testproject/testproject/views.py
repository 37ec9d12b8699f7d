"""The demo's start page: what to try, with the real URLs and the current ETag."""

from __future__ import annotations

from customers.models import Customer
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from django_etag_lock.etags import make_etag
from testproject.commands import manage, password_file, python, shown

DEMO_CUSTOMER = "A375"
ASGI_PORT = 8001


def _url(base: str, name: str, *args: object) -> str | None:
    """Absolute URL of a named route, or None when this URLconf does not serve it."""
    try:
        return base + reverse(name, args=args)
    except NoReverseMatch:
        return None


def home(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/").rstrip("/")
    customer = Customer.objects.filter(customer_id=DEMO_CUSTOMER).first()
    context: dict[str, object] = {
        "base": base,
        "customer_id": DEMO_CUSTOMER,
        "customer": customer,
        "admin_url": base + reverse("admin:index"),
        "changelist_url": base + reverse("admin:customers_customer_changelist"),
        "schema_url": base + reverse("schema"),
        "docs_url": _url(base, "api-docs"),
        "list_url": base + reverse("customer-list"),
        "hal_url": _url(base, "hal:home"),
        "password_file": shown(password_file()),
        "seed_command": manage("demo", "--no-serve"),
        "walkthrough_command": manage("conflict_walkthrough"),
        "password_command": manage("demo", "--password", "..."),
        "docs_command": f"{python()} -m pip install -e '.[docs]' && {python()} -m mkdocs serve",
        "asgi_command": (
            f"{python()} -m uvicorn --app-dir testproject testproject.asgi:application"
            f" --port {ASGI_PORT}"
        ),
        "asgi_port": ASGI_PORT,
        "ninja_url": _url(base, "ninja:list_customers"),
        "ninja_docs_url": _url(base, "ninja:openapi-view"),
    }
    if customer is not None:
        context.update(
            change_url=base + reverse("admin:customers_customer_change", args=[customer.pk]),
            api_url=base + reverse("customer-detail", args=[customer.pk]),
            etag=make_etag(customer.version),
            next_etag=make_etag(customer.version + 1),
            hal_customer_url=_url(base, "hal:customer", customer.customer_id),
            edit_url=_url(base, "customer-edit", customer.pk),
            ninja_customer_url=_url(base, "ninja:get_customer", customer.pk),
            json_url=_url(base, "customer-json", customer.pk),
            async_url=_url(base, "async-customer-detail", customer.pk),
        )
    return render(request, "home.html", context)
