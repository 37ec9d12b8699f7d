"""Versioned inlines: each inline row is saved and deleted against the version shown."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.admin.helpers import change_url, client_for, conflict_rows, form_values, headline
from tests.testapp.models import Order, OrderLine, Parcel

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.admin.urls")]

FORM = "order_form"


@pytest.fixture
def order() -> Order:
    order = Order.objects.create(reference="A-1")
    OrderLine.objects.create(order=order, sku="apple", qty=1)
    OrderLine.objects.create(order=order, sku="pear", qty=2)
    Parcel.objects.create(order=order, label="box")
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def editor(alice: User) -> Client:
    return client_for(alice)


def opened(client: Client, order: Order) -> dict[str, list[str]]:
    response = client.get(change_url(order, "orders"))
    assert response.status_code == 200
    return form_values(response, FORM)


def post(client: Client, order: Order, values: dict[str, list[str]], **changes: str) -> Any:
    data = {**values, **{name: [value] for name, value in changes.items()}}
    return client.post(change_url(order, "orders"), data)


def test_every_inline_row_carries_its_signed_version(editor, order):
    values = opened(editor, order)
    assert values["lines-0-_etag_lock_version"][0]
    assert values["lines-1-_etag_lock_version"][0]
    assert values["parcels-0-_etag_lock_version"][0]
    assert values["lines-2-_etag_lock_version"] == [""]  # the extra, new row


def test_a_fresh_save_with_an_inline_change_writes_the_row_and_touches_the_order(editor, order):
    values = opened(editor, order)
    response = post(editor, order, values, **{"lines-0-qty": "5"})
    assert response.status_code == 302
    assert OrderLine.objects.get(sku="apple").qty == 5
    assert Order.objects.get(pk=order.pk).version == order.version + 2  # its save, the touch


def test_an_inline_row_changed_elsewhere_refuses_the_whole_save_and_names_it(editor, order):
    values = opened(editor, order)
    line = OrderLine.objects.get(sku="apple")
    line.qty = 9
    line.save()  # someone else; touches the order
    response = post(editor, order, values, note="mine", **{"lines-0-qty": "5"})
    assert response.status_code == 200
    text = headline(response)
    assert "order line “apple x 9”" in text
    rows = conflict_rows(response)
    assert rows[f"lines_{line.pk}_qty"][:3] == ("1", "9", "5")
    assert OrderLine.objects.get(pk=line.pk).qty == 9
    assert Order.objects.get(pk=order.pk).note == ""
    # The editor's typing is kept.
    kept = form_values(response, FORM)
    assert kept["lines-0-qty"] == ["5"]
    assert kept["note"] == ["mine"]
    assert 'id="etag-lock-overwrite"' not in response.content.decode()


def test_an_order_touched_by_an_inline_edit_elsewhere_is_stale_even_if_the_row_was_not_edited(
    editor, order
):
    values = opened(editor, order)
    line = OrderLine.objects.get(sku="pear")
    line.qty = 7
    line.save()
    response = post(editor, order, values, note="only the note")
    assert response.status_code == 200
    assert "order line “pear x 7”" in headline(response)
    assert Order.objects.get(pk=order.pk).note == ""


def test_an_inline_row_of_a_child_that_does_not_touch_is_checked_on_its_own(editor, order):
    values = opened(editor, order)
    parcel = Parcel.objects.get()
    Parcel.objects.filter(pk=parcel.pk).update(label="theirs")  # the order is not touched
    response = post(editor, order, values, note="mine", **{"parcels-0-label": "mine"})
    assert response.status_code == 200
    assert "parcel" in headline(response)
    assert conflict_rows(response)[f"parcels_{parcel.pk}_label"][:3] == ("box", "theirs", "mine")
    assert Parcel.objects.get(pk=parcel.pk).label == "theirs"
    assert Order.objects.get(pk=order.pk).note == ""


def test_an_untouched_row_changed_elsewhere_is_left_alone_by_a_save(editor, order):
    values = opened(editor, order)
    parcel = Parcel.objects.get()
    Parcel.objects.filter(pk=parcel.pk).update(label="theirs")
    response = post(editor, order, values, note="mine")
    assert response.status_code == 302
    assert Parcel.objects.get(pk=parcel.pk).label == "theirs"
    assert Order.objects.get(pk=order.pk).note == "mine"


def test_deleting_an_inline_row_changed_elsewhere_deletes_nothing(editor, order):
    values = opened(editor, order)
    parcel = Parcel.objects.get()
    Parcel.objects.filter(pk=parcel.pk).update(label="theirs")
    response = post(editor, order, values, **{"parcels-0-DELETE": "on"})
    assert response.status_code == 200
    assert "parcel" in headline(response)
    assert Parcel.objects.filter(pk=parcel.pk).exists()


def test_deleting_a_fresh_inline_row_deletes_it(editor, order):
    values = opened(editor, order)
    response = post(editor, order, values, **{"parcels-0-DELETE": "on"})
    assert response.status_code == 302
    assert not Parcel.objects.exists()


def test_a_new_inline_row_needs_no_version(editor, order):
    values = opened(editor, order)
    response = post(editor, order, values, **{"lines-2-sku": "plum", "lines-2-qty": "3"})
    assert response.status_code == 302
    assert OrderLine.objects.get(sku="plum").qty == 3


def test_an_inline_row_deleted_elsewhere_refuses_the_whole_save(editor, order):
    values = opened(editor, order)
    pear = OrderLine.objects.get(sku="pear")
    pear.delete()  # someone else; touches the order
    response = post(editor, order, values, note="mine", **{"lines-0-qty": "4"})
    assert response.status_code == 200
    # Django's formset reports the row it cannot find; nothing of the save is written.
    assert response.context["inline_admin_formsets"][0].formset.errors[1]
    assert Order.objects.get(pk=order.pk).note == ""
    assert OrderLine.objects.get(sku="apple").qty == 1
    assert form_values(response, FORM)["lines-0-qty"] == ["4"]
