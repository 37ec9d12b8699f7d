"""The demo's HAL API (``application/hal+json``): the customers again, with links.

``/hal/`` is the entry point: its ``_links`` name the collection (``customers``) and a
templated ``customer`` link, ``/hal/customers/{customerId}/``, so a client such as
halchemy navigates by relation instead of building URLs. ``/hal/customers/`` embeds
every customer under ``_embedded.customers`` (each with its ``_etag``, the exact ETag
its own URL sends) and takes POST; ``/hal/customers/<customer_id>/`` reads, replaces,
patches and deletes one customer. The preconditions are the library's ``ETagLockMixin``,
as on ``/api/customers/``: 428 without If-Match, 412 when it is stale, 304 for a current
If-None-Match. Every error is ``application/problem+json`` (RFC 9457).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ModelViewSet

from customers.models import Customer
from django_etag_lock.problems import problem_details
from django_etag_lock.rest_framework import ETagField, ETagLockMixin, ProblemResponse
from django_etag_lock.rest_framework.responses import render_as_problem

HAL_JSON = "application/hal+json"
CUSTOMERS_REL = "customers"
"""The rel of the collection link and of the items embedded in it (HAL convention)."""
CUSTOMER_REL = "customer"
CUSTOMER_ID_VARIABLE = "customerId"

app_name = "hal"


class HalJSONRenderer(JSONRenderer):
    media_type = HAL_JSON
    format = "hal"


class HalJSONParser(JSONParser):
    """Request bodies as ``application/hal+json`` (``application/json`` works too)."""

    media_type = HAL_JSON


def absolute_url(request: Request, viewname: str, **kwargs: str) -> str:
    return request.build_absolute_uri(reverse(viewname, kwargs=kwargs or None))


def customer_template(request: Request) -> str:
    """``http://host/hal/customers/{customerId}/``, an RFC 6570 URI template."""
    variable = "{" + CUSTOMER_ID_VARIABLE + "}"
    # reverse() percent-encodes the braces; the template needs them literal.
    url = absolute_url(request, "hal:customer", customer_id=variable)
    return url.replace(quote(variable), variable)


def link(href: str, **attributes: Any) -> dict[str, Any]:
    return {"href": href, **attributes}


class HalCustomerSerializer(serializers.ModelSerializer[Customer]):
    """One customer as a HAL resource: ``_links``, ``_etag``, then its fields."""

    _links = serializers.SerializerMethodField(method_name="get_links")
    _etag = ETagField()

    class Meta:
        model = Customer
        fields = [
            "_links",
            "_etag",
            "customer_id",
            "given_name",
            "family_name",
            "email",
            "notes",
            "updated_at",
            "version",
        ]
        read_only_fields = ["version", "updated_at"]

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        if self.instance is not None:
            # The customer id is in the resource's URL: set once, by POST, then kept.
            fields["customer_id"] = serializers.CharField(read_only=True)
        return fields

    def get_links(self, customer: Customer) -> dict[str, dict[str, Any]]:
        request: Request = self.context["request"]
        return {
            "self": link(absolute_url(request, "hal:customer", customer_id=customer.customer_id)),
            "collection": link(absolute_url(request, "hal:customers")),
        }


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class HalProblemsMixin(APIView):
    """Every error of a HAL view as ``application/problem+json`` (RFC 9457).

    The 412, 428 and malformed-header 400 already are (``ETagLockMixin``); DRF's other
    errors (404, 405, 406, a validation 400, ...) become ``about:blank`` problems whose
    title is the status phrase (RFC 9457 section 4.2.1); field errors go in ``errors``.
    """

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if response.status_code < 400 or isinstance(response, ProblemResponse):
            return response
        return self.problem_from_error(response)

    def problem_from_error(self, response: Response) -> ProblemResponse:
        status = response.status_code
        data = response.data
        field_errors = not (isinstance(data, dict) and set(data) == {"detail"})
        detail = (
            str(_("The request body is invalid: errors lists the problem with each field."))
            if field_errors
            else str(data["detail"])
        )
        problem = problem_details(
            type="about:blank",
            title=_phrase(status),
            status=status,
            detail=detail,
            instance=self.request.path,
        )
        if field_errors:
            problem["errors"] = data
        # Allow (405), WWW-Authenticate (401), Retry-After (429) and the like stay.
        headers = {name: value for name, value in response.items() if name != "Content-Type"}
        return ProblemResponse(problem, status=status, headers=headers)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, ProblemResponse):
            render_as_problem(response)
        return response


class HalHomeView(HalProblemsMixin, APIView):
    """The entry point: where the customers are, and how to reach one by its id."""

    renderer_classes: list[type[BaseRenderer]] = [HalJSONRenderer]
    permission_classes = [AllowAny]
    # A HAL API describes itself through its links; the OpenAPI document is /api/'s.
    schema = None

    def get(self, request: Request) -> Response:
        return Response(
            {
                "_links": {
                    "self": link(absolute_url(request, "hal:home")),
                    CUSTOMERS_REL: link(absolute_url(request, "hal:customers")),
                    CUSTOMER_REL: link(customer_template(request), templated=True),
                }
            }
        )


class HalCustomerViewSet(HalProblemsMixin, ETagLockMixin, ModelViewSet):  # type: ignore[type-arg]
    """Customers by ``customer_id``. Writes need If-Match with the ETag (or ``_etag``)."""

    queryset = Customer.objects.all()
    serializer_class = HalCustomerSerializer
    lookup_field = "customer_id"
    renderer_classes: list[type[BaseRenderer]] = [HalJSONRenderer]
    parser_classes = [JSONParser, HalJSONParser]
    # The demo serves on loopback only and is open to anonymous clients.
    permission_classes = [AllowAny]
    # The collection is one HAL document built here, not a paginator's page.
    pagination_class = None
    etag_lock_last_modified_field = "updated_at"
    schema = None

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        customers = self.filter_queryset(self.get_queryset())
        items = self.get_serializer(customers, many=True).data
        return Response(
            {
                "_links": {
                    "self": link(absolute_url(request, "hal:customers")),
                    CUSTOMER_REL: link(customer_template(request), templated=True),
                },
                "_embedded": {CUSTOMERS_REL: items},
            }
        )

    def get_success_headers(self, data: Any) -> dict[str, str]:
        return {"Location": data["_links"]["self"]["href"]}


urlpatterns = [
    path("", HalHomeView.as_view(), name="home"),
    path(
        "customers/",
        HalCustomerViewSet.as_view({"get": "list", "post": "create"}),
        name="customers",
    ),
    # path, not str: an id containing "/" still gets a link that resolves back to it.
    path(
        "customers/<path:customer_id>/",
        HalCustomerViewSet.as_view(
            {
                "get": "retrieve",
                "put": "update",
                "patch": "partial_update",
                "delete": "destroy",
            }
        ),
        name="customer",
    ),
]
