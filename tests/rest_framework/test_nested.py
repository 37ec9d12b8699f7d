"""Nested writes through a parent's endpoint: each child is checked against its own tag.

``/t/orders/`` embeds lines (which touch the order) and parcels (which do not) through
drf-writable-nested's ``WritableNestedModelSerializer``; ``/t/hand-orders/`` is a
hand-written nested ``update()`` using ``write_children()``; ``/t/order-lines/`` is the
lines' own endpoint.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.testapp.models import Order, OrderLine, Parcel

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def order() -> Order:
    order = Order.objects.create(reference="A-1")
    OrderLine.objects.create(order=order, sku="apple", qty=1)
    OrderLine.objects.create(order=order, sku="pear", qty=2)
    return Order.objects.get(pk=order.pk)


def url(order: Order, prefix: str = "orders") -> str:
    return f"/t/{prefix}/{order.pk}/"


def line_url(line: OrderLine) -> str:
    return f"/t/order-lines/{line.pk}/"


def read(api: APIClient, order: Order, prefix: str = "orders") -> tuple[str, dict[str, Any]]:
    response = api.get(url(order, prefix))
    assert response.status_code == 200
    return response["ETag"], response.json()


def lines_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in line.items() if k != "version"} for line in body["lines"]]


def stored_lines(order: Order) -> list[tuple[str, int, int]]:
    return list(order.lines.order_by("pk").values_list("sku", "qty", "version"))


def version(order: Order) -> int:
    return int(Order.objects.values_list("version", flat=True).get(pk=order.pk))


def edit_line_elsewhere(api: APIClient, line: OrderLine, qty: int) -> None:
    """Client B: the line's own endpoint, with a fresh If-Match."""
    etag = api.get(line_url(line))["ETag"]
    response = api.patch(line_url(line), {"qty": qty}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.content


def problem(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/problem+json"
    return dict(response.json())


# -- the parent's tag covers what it embeds -----------------------------------------------


def test_the_order_shows_each_line_with_its_own_etag(api, order):
    etag, body = read(api, order)
    assert etag == f'"{order.version}"'
    assert [line["etag"] for line in body["lines"]] == ['"1"', '"1"']


def test_a_line_edit_elsewhere_changes_the_orders_etag_so_revalidation_is_not_304(api, order):
    etag, _ = read(api, order)
    edit_line_elsewhere(api, order.lines.first(), qty=9)
    response = api.get(url(order), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert response.json()["lines"][0]["qty"] == 9


def test_the_issues_lost_update_through_the_parent_is_a_412(api, order):
    etag, body = read(api, order)  # client A
    first = order.lines.order_by("pk").first()
    edit_line_elsewhere(api, first, qty=9)  # client B
    lines = lines_of(body)
    lines[0]["qty"] = 5
    response = api.patch(url(order), {"lines": lines}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert OrderLine.objects.get(pk=first.pk).qty == 9


# -- nested writes: each child against its own tag -----------------------------------------


def test_a_stale_child_tag_under_a_current_order_tag_is_a_412_naming_the_child(api, order):
    _, body = read(api, order)
    second = order.lines.order_by("pk")[1]
    edit_line_elsewhere(api, second, qty=7)
    etag, _ = read(api, order)  # the order's tag is current, the lines in hand are not
    before = (version(order), stored_lines(order))
    lines = lines_of(body)
    lines[0]["qty"] = 10
    lines[1]["qty"] = 11
    response = api.patch(
        url(order), {"note": "mine", "lines": lines}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 412
    data = problem(response)
    assert data["reason"] == "child-precondition-failed"
    assert data["errors"] == [{"pointer": "/lines/1", "current_etag": '"2"'}]
    assert "/lines/1" in data["detail"]
    assert (version(order), stored_lines(order)) == before
    assert Order.objects.get(pk=order.pk).note == ""


def test_fresh_child_tags_write_every_child_and_the_response_etag_is_the_stored_one(api, order):
    etag, body = read(api, order)
    lines = lines_of(body)
    lines[0]["qty"] = 10
    lines[1]["qty"] = 20
    response = api.patch(url(order), {"lines": lines}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.content
    assert [q for _, q, _ in stored_lines(order)] == [10, 20]
    assert response["ETag"] == f'"{version(order)}"'
    assert response["ETag"] == read(api, order)[0]
    assert [line["etag"] for line in response.json()["lines"]] == ['"2"', '"2"']


def test_an_existing_child_without_its_tag_is_a_428_and_nothing_is_written(api, order):
    etag, body = read(api, order)
    lines = lines_of(body)
    del lines[1]["etag"]
    lines[1]["qty"] = 99
    before = (version(order), stored_lines(order))
    response = api.patch(url(order), {"lines": lines}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 428
    data = problem(response)
    assert data["reason"] == "child-etag-missing"
    assert data["errors"] == [{"pointer": "/lines/1"}]
    assert (version(order), stored_lines(order)) == before


def test_a_null_child_tag_counts_as_missing(api, order):
    etag, body = read(api, order)
    lines = lines_of(body)
    lines[0]["etag"] = None
    response = api.patch(url(order), {"lines": lines}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 428


def test_a_view_that_does_not_require_if_match_lets_a_child_through_without_its_tag(api, order):
    etag, body = read(api, order, "optional-tag-orders")
    lines = lines_of(body)
    del lines[0]["etag"]
    lines[0]["qty"] = 42
    response = api.patch(
        url(order, "optional-tag-orders"), {"lines": lines}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200, response.content
    assert stored_lines(order)[0][1] == 42


def test_new_children_need_no_tag_and_a_tag_sent_for_one_is_ignored(api, order):
    etag, body = read(api, order)
    lines = [*lines_of(body), {"sku": "plum", "qty": 3}, {"sku": "fig", "etag": '"9"'}]
    response = api.patch(url(order), {"lines": lines}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.content
    assert [(sku, v) for sku, _, v in stored_lines(order)] == [
        ("apple", 2),
        ("pear", 2),
        ("plum", 1),
        ("fig", 1),
    ]


def test_the_parents_tag_sent_for_a_child_gets_the_child_check(api, order):
    etag, body = read(api, order)
    assert etag != '"1"'
    lines = lines_of(body)
    lines[0]["etag"] = etag  # the order's tag, not the line's
    lines[0]["qty"] = 50
    response = api.patch(url(order), {"lines": lines}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert problem(response)["errors"][0]["pointer"] == "/lines/0"
    assert stored_lines(order)[0][1] == 1


def test_a_weak_child_tag_never_matches(api, order):
    etag, body = read(api, order)
    lines = lines_of(body)
    lines[0]["etag"] = 'W/"1"'
    response = api.patch(url(order), {"lines": lines}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412


@pytest.mark.parametrize("bad", ["1", 1, '"1', "*", ['"1"'], {"v": 1}])
def test_a_malformed_child_tag_is_a_400_on_that_field(api, order, bad):
    etag, body = read(api, order)
    lines = lines_of(body)
    lines[0]["etag"] = bad
    before = (version(order), stored_lines(order))
    response = api.patch(url(order), {"lines": lines}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 400
    errors = response.json()["lines"]  # DRF 3.18 keys list errors by index
    assert "etag" in (errors["0"] if isinstance(errors, dict) else errors[0])
    assert (version(order), stored_lines(order)) == before


def test_a_child_deleted_meanwhile_is_a_412_naming_it_and_not_recreated(api, order):
    _, body = read(api, order)
    first = order.lines.order_by("pk").first()
    assert first is not None
    OrderLine.objects.get(pk=first.pk).delete()
    etag, _ = read(api, order)  # current order tag, stale lines
    lines = lines_of(body)
    lines[0]["qty"] = 5
    response = api.patch(url(order), {"lines": lines}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    data = problem(response)
    assert data["reason"] == "child-deleted"
    assert data["errors"] == [{"pointer": "/lines/0"}]
    assert [sku for sku, _, _ in stored_lines(order)] == ["pear"]


def test_hand_written_update_of_a_line_deleted_meanwhile_is_a_412(api, order):
    _, body = read(api, order, "hand-orders")
    OrderLine.objects.get(pk=body["lines"][1]["id"]).delete()
    etag, _ = read(api, order, "hand-orders")
    response = api.patch(
        url(order, "hand-orders"), {"lines": body["lines"]}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 412
    assert problem(response)["errors"] == [{"pointer": "/lines/1"}]
    assert [sku for sku, _, _ in stored_lines(order)] == ["apple"]


# -- removal by omission ---------------------------------------------------------------------


def test_leaving_out_a_touching_child_deletes_it_covered_by_the_orders_tag(api, order):
    etag, body = read(api, order)
    lines = lines_of(body)[:1]
    response = api.patch(url(order), {"lines": lines}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.content
    assert [sku for sku, _, _ in stored_lines(order)] == ["apple"]


def test_leaving_out_a_touching_child_after_it_changed_is_a_412(api, order):
    etag, body = read(api, order)
    edit_line_elsewhere(api, order.lines.order_by("pk")[1], qty=5)
    response = api.patch(
        url(order), {"lines": lines_of(body)[:1]}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 412
    assert order.lines.count() == 2


def test_leaving_out_a_child_that_does_not_touch_is_refused_with_428(api, order):
    parcel = Parcel.objects.create(order=order, label="box")
    etag, body = read(api, order)
    assert body["parcels"][0]["etag"] == '"1"'
    response = api.patch(url(order), {"parcels": []}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 428
    data = problem(response)
    assert data["reason"] == "child-removal-unchecked"
    assert data["errors"] == [{"pointer": "/parcels", "ids": [parcel.pk]}]
    assert Parcel.objects.filter(pk=parcel.pk).exists()


def test_a_child_that_does_not_touch_is_still_checked_against_its_tag(api, order):
    parcel = Parcel.objects.create(order=order, label="box")
    etag, body = read(api, order)
    Parcel.objects.filter(pk=parcel.pk).update(label="theirs")
    # The order's tag did not move (parcels do not touch), the parcel's did.
    assert read(api, order)[0] == etag
    items = [{**body["parcels"][0], "label": "mine"}]
    response = api.patch(url(order), {"parcels": items}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert problem(response)["errors"] == [{"pointer": "/parcels/0", "current_etag": '"2"'}]
    assert Parcel.objects.get(pk=parcel.pk).label == "theirs"


def test_creating_an_order_with_nested_lines_needs_no_child_tags(api):
    response = api.post(
        "/t/orders/",
        {"reference": "N-1", "lines": [{"sku": "a"}, {"sku": "b", "qty": 2}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(reference="N-1")
    assert response["ETag"] == f'"{order.version}"'
    assert order.lines.count() == 2


# -- a hand-written nested update() with write_children() ---------------------------------


def test_hand_written_update_with_fresh_tags_writes_the_lines(api, order):
    etag, body = read(api, order, "hand-orders")
    lines = body["lines"]
    lines[0]["qty"] = 8
    response = api.patch(
        url(order, "hand-orders"), {"lines": lines}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200, response.content
    assert stored_lines(order)[0][1:] == (8, 2)
    assert response["ETag"] == read(api, order, "hand-orders")[0]


def test_hand_written_update_with_a_stale_line_tag_is_a_412_naming_it(api, order):
    _, body = read(api, order, "hand-orders")
    edit_line_elsewhere(api, order.lines.order_by("pk").first(), qty=9)
    etag, _ = read(api, order, "hand-orders")
    before = (version(order), stored_lines(order))
    lines = body["lines"]
    lines[0]["qty"] = 8
    response = api.patch(
        url(order, "hand-orders"),
        {"note": "x", "lines": lines},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert response.status_code == 412
    assert problem(response)["errors"] == [{"pointer": "/lines/0", "current_etag": '"2"'}]
    assert (version(order), stored_lines(order)) == before


def test_hand_written_update_without_a_line_tag_is_a_428(api, order):
    etag, body = read(api, order, "hand-orders")
    lines = body["lines"]
    del lines[1]["etag"]
    response = api.patch(
        url(order, "hand-orders"), {"lines": lines}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 428
    assert problem(response)["errors"] == [{"pointer": "/lines/1"}]


def test_hand_written_update_removes_omitted_touching_lines_and_creates_new_ones(api, order):
    etag, body = read(api, order, "hand-orders")
    lines = [body["lines"][1], {"sku": "plum"}]
    response = api.patch(
        url(order, "hand-orders"), {"lines": lines}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200, response.content
    assert [sku for sku, _, _ in stored_lines(order)] == ["pear", "plum"]


def test_hand_written_update_refuses_a_line_of_another_order(api, order):
    other = Order.objects.create(reference="B")
    foreign = OrderLine.objects.create(order=other, sku="kiwi")
    etag, body = read(api, order, "hand-orders")
    lines = [*body["lines"], {"id": foreign.pk, "sku": "kiwi", "qty": 5, "etag": '"1"'}]
    response = api.patch(
        url(order, "hand-orders"), {"lines": lines}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 400
    assert "id" in response.json()["lines"][2]
    assert OrderLine.objects.get(pk=foreign.pk).qty == 1


def test_hand_written_create_with_lines(api):
    response = api.post(
        "/t/hand-orders/", {"reference": "H-1", "lines": [{"sku": "a"}]}, format="json"
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(reference="H-1")
    assert order.lines.get().sku == "a"
    assert response["ETag"] == f'"{order.version}"'


# -- the line's own endpoint: the body's etag is still ignored --------------------------------


def test_on_the_lines_own_endpoint_a_body_etag_is_ignored_and_if_match_decides(api, order):
    line = order.lines.order_by("pk").first()
    assert line is not None
    response = api.patch(
        line_url(line), {"qty": 4, "etag": '"99"'}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.content
    assert OrderLine.objects.get(pk=line.pk).qty == 4


# -- OpenAPI -----------------------------------------------------------------------------


def test_openapi_nested_child_etag_is_accepted_on_input_and_described_as_its_precondition():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    line_etag = components["HandLine"]["properties"]["etag"]
    assert "readOnly" not in line_etag
    assert "precondition" in line_etag["description"]
    assert "412" in line_etag["description"]
    assert "etag" not in components["HandLine"].get("required", [])
    # The parent's own etag stays read-only: If-Match is its precondition.
    assert components["HandOrder"]["properties"]["etag"]["readOnly"] is True
    nested = components["PatchedNestedOrder"]["properties"]["lines"]
    assert nested["items"]["$ref"].endswith("/OrderLine")
    assert "readOnly" not in components["OrderLine"]["properties"]["etag"]
