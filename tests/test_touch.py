"""Touch: every write of a child that declares ``etag_lock_touch`` bumps its parent."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, models, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext, isolate_apps

from django_etag_lock import checks
from django_etag_lock.exceptions import StaleObjectError, StaleObjectsError
from django_etag_lock.models import VersionedModel, unchecked
from tests.testapp.models import LineNote, Order, OrderLine, Parcel, Product

pytestmark = pytest.mark.django_db


def _table(sql: str) -> str:
    """The table an ``UPDATE`` statement writes."""
    return sql.split(" SET ")[0].split()[-1].strip('"`')


def _version(obj: models.Model) -> int:
    return int(type(obj)._base_manager.values_list("version", flat=True).get(pk=obj.pk))


@pytest.fixture
def order() -> Order:
    return Order.objects.create(reference="A-1")


@pytest.fixture
def other_order() -> Order:
    return Order.objects.create(reference="B-1")


@pytest.fixture
def line(order: Order) -> OrderLine:
    line = OrderLine.objects.create(order=order, sku="apple", qty=1)
    order.refresh_from_db()
    return line


# -- create, save, delete ---------------------------------------------------------------


def test_creating_a_child_bumps_the_parent_in_the_database_and_in_memory(order):
    OrderLine.objects.create(order=order, sku="apple")
    assert _version(order) == 2
    assert order.version == 2


def test_saving_a_child_bumps_its_parent_once(line, order):
    before = _version(order)
    line.qty = 5
    line.save()
    assert _version(order) == before + 1
    assert order.version == before + 1  # line.order is this instance
    assert _version(line) == 2


def test_a_child_save_touches_the_parent_before_writing_itself_in_one_transaction(line):
    line.qty = 5
    with CaptureQueriesContext(connection) as ctx:
        line.save()
    sql = [q["sql"] for q in ctx.captured_queries]
    updates = [s for s in sql if s.startswith("UPDATE")]
    assert [_table(u) for u in updates] == ["testapp_order", "testapp_orderline"]
    # The test runs inside a transaction, so the save's own is a savepoint around both.
    assert sql[0].startswith("SAVEPOINT")
    assert sql[-1].startswith("RELEASE SAVEPOINT")


def test_a_stale_child_save_raises_and_leaves_the_parent_untouched(line, order):
    theirs = OrderLine.objects.get(pk=line.pk)
    theirs.qty = 9
    theirs.save()
    before = _version(order)
    line.qty = 2
    with pytest.raises(StaleObjectError):
        line.save()
    assert _version(order) == before
    assert OrderLine.objects.get(pk=line.pk).qty == 9


def test_a_stale_child_save_inside_a_transaction_leaves_it_usable_and_the_parent_untouched(
    line, order
):
    OrderLine.objects.filter(pk=line.pk).update(qty=7)
    before = _version(order)
    with transaction.atomic():
        line.qty = 2
        with pytest.raises(StaleObjectError):
            line.save()
        assert _version(order) == before
        Order.objects.filter(pk=order.pk).update(note="still usable")
    assert Order.objects.get(pk=order.pk).note == "still usable"


def test_the_parents_auto_now_moves_with_the_touch(line, order):
    stamp = Order.objects.get(pk=order.pk).updated_at
    line.qty = 3
    line.save()
    assert Order.objects.get(pk=order.pk).updated_at > stamp


def test_deleting_a_child_bumps_its_parent(line, order):
    before = _version(order)
    line.delete()
    assert _version(order) == before + 1
    assert order.version == before + 1
    assert not OrderLine.objects.exists()


def test_a_stale_child_delete_raises_and_leaves_the_parent_untouched(line, order):
    OrderLine.objects.filter(pk=line.pk).update(qty=7)
    before = _version(order)
    with pytest.raises(StaleObjectError):
        line.delete()
    assert _version(order) == before
    assert OrderLine.objects.filter(pk=line.pk).exists()


def test_moving_a_child_touches_the_old_and_the_new_parent(line, order, other_order):
    old, new = _version(order), _version(other_order)
    line.order = other_order
    line.save()
    assert _version(order) == old + 1
    assert _version(other_order) == new + 1


def test_update_fields_without_the_foreign_key_touches_only_the_stored_parent(
    line, order, other_order
):
    new = _version(other_order)
    line.order = other_order  # not written below
    line.qty = 4
    old = _version(order)
    line.save(update_fields=["qty"])
    assert _version(other_order) == new
    assert _version(order) == old + 1


def test_empty_update_fields_is_still_a_no_op(line, order):
    with CaptureQueriesContext(connection) as ctx:
        line.save(update_fields=[])
    assert ctx.captured_queries == []
    assert _version(order) == 2


def test_an_unchecked_child_save_still_touches(line, order):
    before = _version(order)
    with unchecked("test"):
        line.qty = 8
        line.save()
    assert _version(order) == before + 1


def test_grandchildren_touch_the_child_and_the_grandparent(line, order):
    before = _version(order)
    note = LineNote.objects.create(line=line, text="ripe")
    assert _version(line) == 2
    assert _version(order) == before + 1
    note.text = "very ripe"
    note.save()
    assert _version(line) == 3
    assert _version(order) == before + 2
    note.delete()
    assert _version(line) == 4
    assert _version(order) == before + 3


def test_the_in_memory_chain_of_parents_stays_in_step_with_the_database(line, order):
    line = OrderLine.objects.select_related("order").get(pk=line.pk)
    note = LineNote(line=line, text="x")
    note.save()
    assert line.version == _version(line)
    assert line.order.version == _version(order)
    line.order.note = "saved after the touch"
    line.order.save()  # compares the bumped in-memory version: passes


def test_a_child_that_does_not_declare_touch_leaves_the_parent_alone(order):
    Parcel.objects.create(order=order, label="box")
    assert _version(order) == 1


# -- querysets ----------------------------------------------------------------------------


def test_queryset_update_through_the_child_touches_the_parents_of_matched_rows(order, other_order):
    OrderLine.objects.create(order=order, sku="a")
    OrderLine.objects.create(order=other_order, sku="b")
    a, b = _version(order), _version(other_order)
    with CaptureQueriesContext(connection) as ctx:
        OrderLine.objects.filter(sku="a").update(qty=F("qty") + 1)
    assert _version(order) == a + 1
    assert _version(other_order) == b
    updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
    assert [_table(u) for u in updates] == ["testapp_order", "testapp_orderline"]


def test_queryset_update_moving_rows_touches_old_and_new_parents(line, order, other_order):
    old, new = _version(order), _version(other_order)
    OrderLine.objects.filter(pk=line.pk).update(order=other_order)
    assert _version(order) == old + 1
    assert _version(other_order) == new + 1


def test_queryset_update_moving_rows_by_expression_touches_the_new_parents(
    line, order, other_order
):
    old, new = _version(order), _version(other_order)
    OrderLine.objects.filter(order=order).update(
        order_id=F("order_id") + (other_order.pk - order.pk)
    )
    assert OrderLine.objects.get(pk=line.pk).order_id == other_order.pk
    assert _version(order) == old + 1
    assert _version(other_order) == new + 1


def test_related_manager_update_touches_the_parent(line, order):
    before = _version(order)
    order.lines.update(qty=10)
    assert _version(order) == before + 1


def test_queryset_delete_through_the_child_touches_the_parents(line, order):
    before = _version(order)
    OrderLine.objects.filter(pk=line.pk).delete()
    assert _version(order) == before + 1


def test_bulk_update_touches_the_parents_once_before_the_rows(order, other_order):
    lines = [OrderLine.objects.create(order=order, sku=str(n)) for n in range(3)]
    before = _version(order)
    for item in lines:
        item.qty = 7
    with CaptureQueriesContext(connection) as ctx:
        OrderLine.objects.bulk_update(lines, ["qty"])
    assert _version(order) == before + 1
    assert _version(other_order) == 1
    updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
    assert [_table(u) for u in updates] == ["testapp_order", "testapp_orderline"]


def test_bulk_update_moving_rows_touches_old_and_new_parents(line, order, other_order):
    old, new = _version(order), _version(other_order)
    line.order = other_order
    OrderLine.objects.bulk_update([line], ["order"])
    assert _version(order) == old + 1
    assert _version(other_order) == new + 1


def test_bulk_update_with_a_stale_row_keeps_the_fresh_rows_and_their_touches(order):
    fresh = OrderLine.objects.create(order=order, sku="fresh")
    stale = OrderLine.objects.create(order=order, sku="stale")
    OrderLine.objects.filter(pk=stale.pk).update(qty=99)
    before = _version(order)
    fresh.qty = stale.qty = 5
    with pytest.raises(StaleObjectsError) as caught:
        OrderLine.objects.bulk_update([fresh, stale], ["qty"])
    assert caught.value.updated == 1
    assert OrderLine.objects.get(pk=fresh.pk).qty == 5
    assert _version(order) == before + 1


def test_bulk_update_all_or_nothing_that_fails_touches_nothing(line, order):
    OrderLine.objects.filter(pk=line.pk).update(qty=99)
    before = _version(order)
    line.qty = 5
    with pytest.raises(StaleObjectsError):
        OrderLine.objects.bulk_update([line], ["qty"], all_or_nothing=True)
    assert _version(order) == before


def test_bulk_create_touches_every_parent(order, other_order):
    OrderLine.objects.bulk_create(
        [OrderLine(order=order, sku="a"), OrderLine(order=other_order, sku="b")]
    )
    assert _version(order) == 2
    assert _version(other_order) == 2


def test_a_cascade_from_elsewhere_touches_the_parents(order):
    product = Product.objects.create(name="pear")
    OrderLine.objects.create(order=order, product=product, sku="pear")
    before = _version(order)
    product.delete()
    assert not OrderLine.objects.exists()
    assert _version(order) == before + 1


def test_deleting_the_parent_cascades_to_its_children_without_error(line, order):
    LineNote.objects.create(line=line, text="x")
    order.refresh_from_db()
    order.delete()
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert not LineNote.objects.exists()


def test_fixtures_do_not_touch(line, order, tmp_path):
    from django.core import serializers

    data = serializers.serialize("json", [line])
    path = tmp_path / "line.json"
    path.write_text(data)
    before = _version(order)
    call_command("loaddata", str(path), verbosity=0)
    assert _version(order) == before


# -- E012 --------------------------------------------------------------------------------


@pytest.fixture
def apps() -> Any:
    with isolate_apps("tests.testapp") as registry:
        yield registry


def _model(name: str, attrs: dict[str, Any]) -> type[models.Model]:
    attrs = {"__module__": __name__, "Meta": type("Meta", (), {"app_label": "testapp"}), **attrs}
    return type(name, (VersionedModel,), attrs)


@pytest.mark.parametrize(
    ("touch", "fragment"),
    [
        (("nope",), "has no field 'nope'"),
        (("label",), "not a ForeignKey"),
        (("plain",), "is not a VersionedModel"),
    ],
)
def test_e012_touch_naming_no_foreign_key_to_a_versioned_model(apps, touch, fragment):
    class Plain(models.Model):
        class Meta:
            app_label = "testapp"

    class Versioned(VersionedModel):
        class Meta:
            app_label = "testapp"

    model = _model(
        "BadTouch",
        {
            "label": models.CharField(max_length=10),
            "plain": models.ForeignKey(Plain, on_delete=models.CASCADE),
            "parent": models.ForeignKey(Versioned, on_delete=models.CASCADE),
            "etag_lock_touch": touch,
        },
    )
    messages = checks.check_touch_declarations(app_configs=[apps.get_app_config("testapp")])
    assert [m.id for m in messages] == ["django_etag_lock.E012"]
    assert messages[0].obj is model
    assert fragment in messages[0].msg


def test_e012_is_silent_for_a_correct_declaration(apps):
    class Versioned(VersionedModel):
        class Meta:
            app_label = "testapp"

    _model(
        "GoodTouch",
        {
            "parent": models.ForeignKey(Versioned, on_delete=models.CASCADE),
            "etag_lock_touch": ("parent",),
        },
    )
    assert checks.check_touch_declarations(app_configs=[apps.get_app_config("testapp")]) == []


def test_the_test_apps_declarations_pass_the_check():
    assert checks.check_touch_declarations() == []


# -- a foreign key with to_field -----------------------------------------------------------


def test_a_foreign_key_with_to_field_touches_the_parent_it_names():
    from tests.testapp.models import Account, Entry

    # pks and codes cross, so touching by the wrong column would hit the other account.
    first = Account.objects.create(code="2")
    second = Account.objects.create(code="1")
    entry = Entry.objects.create(account=first, amount=1)
    assert (_version(first), _version(second)) == (2, 1)
    entry.amount = 2
    entry.save()
    assert (_version(first), _version(second)) == (3, 1)
    Entry.objects.filter(pk=entry.pk).update(amount=3)
    assert (_version(first), _version(second)) == (4, 1)
    entry = Entry.objects.get(pk=entry.pk)
    entry.account = second
    entry.save()
    assert (_version(first), _version(second)) == (5, 2)
    Entry.objects.bulk_create([Entry(account=first)])
    assert (_version(first), _version(second)) == (6, 2)
    entry.delete()
    assert (_version(first), _version(second)) == (6, 3)
