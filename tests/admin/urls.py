"""Admin sites for the admin tests, one per configuration, each mounted at ``/<name>/``.

Test modules use it with ``pytest.mark.urls("tests.admin.urls")``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import django
from customers.models import Customer
from django.contrib import admin
from django.db import DatabaseError, connections, transaction
from django.http import HttpRequest
from django.urls import path

from django_etag_lock.admin import (
    ConflictReport,
    History,
    VersionedAdminMixin,
    VersionedModelAdmin,
    VersionedStackedInline,
    VersionedTabularInline,
)
from django_etag_lock.changes import FieldChange
from tests.testapp.models import Book, Order, OrderLine, Parcel, Restaurant, Shelf, ShelfItem


class OwnBaseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A project's own ModelAdmin base, which the mixin goes in front of."""

    list_per_page = 50
    fields = ["title", "pages"]


class OverriddenFieldsetsAdmin(VersionedModelAdmin):
    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [("Only the title", {"fields": ["title"]})]  # no super(): our field is absent


BOOK_ADMINS: dict[str, type[admin.ModelAdmin]] = {  # type: ignore[type-arg]
    "plain": VersionedModelAdmin,
    "fields": type("FieldsAdmin", (VersionedModelAdmin,), {"fields": ["title"]}),
    "fieldsets": type(
        "FieldsetsAdmin",
        (VersionedModelAdmin,),
        {
            "fieldsets": [
                ("Numbers", {"fields": ["pages"]}),
                ("Text", {"fields": ["title"], "classes": ["collapse"]}),
            ]
        },
    ),
    "exclude": type("ExcludeAdmin", (VersionedModelAdmin,), {"exclude": ["pages"]}),
    "readonly": type(
        "ReadonlyAdmin",
        (VersionedModelAdmin,),
        {"fields": ["title", "pages"], "readonly_fields": ["pages"]},
    ),
    "overridden": OverriddenFieldsetsAdmin,
    "ownbase": type("OwnBaseVersionedAdmin", (VersionedAdminMixin, OwnBaseAdmin), {}),
}


class ShelfItemInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ShelfItem
    extra = 1


class ShelfAdmin(VersionedModelAdmin):
    inlines = [ShelfItemInline]


class LimitedCustomerAdmin(VersionedModelAdmin):
    """Staff see three fields, and may not edit the email."""

    fields = ["given_name", "family_name", "email"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if request.user.is_superuser else ["email"]


@admin.action(description="Mark notes")
def mark_notes(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    for customer in queryset:
        customer.notes = "marked"
        customer.save()


class ActionCustomerAdmin(VersionedModelAdmin):
    list_display = ["customer_id", "given_name", "email"]
    list_editable = ["email"]
    list_per_page = 2
    actions = [mark_notes]


class AllOrNothingCustomerAdmin(VersionedModelAdmin):
    list_display = ["customer_id", "email"]
    list_editable = ["email"]
    list_editable_all_or_nothing = True


class PartialCustomerAdmin(AllOrNothingCustomerAdmin):
    list_editable_all_or_nothing = False


class RacyCustomerAdmin(VersionedModelAdmin):
    """Someone saves the first selected row after the selection check, before the delete."""

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        if request.POST.get("post"):
            first = Customer.objects.get(pk=request.POST.getlist("_selected_action")[0])
            first.notes = "changed at the last moment"
            first.save()
        return super().get_deleted_objects(objs, request)


CHANGE_FORM_ACTIONS = django.VERSION >= (6, 1)


if CHANGE_FORM_ACTIONS:  # Django 6.1 added actions on the change form.
    mark_notes_anywhere = admin.action(
        mark_notes,
        description="Mark notes",
        location=[admin.ActionLocation.CHANGE_FORM, admin.ActionLocation.CHANGE_LIST],
    )
    ChangeFormActionAdmin: type[VersionedModelAdmin] = type(
        "ChangeFormActionAdmin", (VersionedModelAdmin,), {"actions": [mark_notes_anywhere]}
    )
else:
    ChangeFormActionAdmin = VersionedModelAdmin


RACE: list[Callable[[Any], None]] = []


class RaceCustomerAdmin(VersionedModelAdmin):
    """Runs RACE's writer, in another thread and connection, right before saving."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        for writer in RACE:
            thread = threading.Thread(target=_in_own_connection, args=(writer, obj.pk))
            thread.start()
            thread.join()
        super().save_model(request, obj, form, change)


def _in_own_connection(writer: Callable[[Any], None], pk: Any) -> None:
    try:
        writer(pk)
    finally:
        connections.close_all()


class BehindTheLockCustomerAdmin(PartialCustomerAdmin):
    """Bumps C1 in the save's own transaction right before saving it: a write the
    lock cannot keep out (as on SQLite, which has no row locks)."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if obj.customer_id == "C1":
            Customer.objects.filter(pk=obj.pk).update(notes="behind the lock")
        super().save_model(request, obj, form, change)


LOCK_PROBES: list[str] = []


class LockProbeCustomerAdmin(PartialCustomerAdmin):
    """Before each save, another connection tries to lock the row without waiting."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        thread = threading.Thread(target=_in_own_connection, args=(_probe_lock, obj.pk))
        thread.start()
        thread.join()
        super().save_model(request, obj, form, change)


def _probe_lock(pk: Any) -> None:
    try:
        with transaction.atomic():
            list(Customer.objects.select_for_update(nowait=True).filter(pk=pk))
    except DatabaseError:
        LOCK_PROBES.append("locked")
    else:
        LOCK_PROBES.append("free")


class ShortReport(ConflictReport):
    """A project's own conflict report: a fixed headline, one column of its own."""

    def headline(self, obj: Any, history: History, outcome: str) -> str:
        return f"Too late for {obj}: {history.versions} newer version(s). {outcome}"

    def status_text(self, change: FieldChange, history: History, *, deleting: bool) -> str:
        return f"status={change.status}"


class ReportAttributeAdmin(VersionedModelAdmin):
    conflict_report_class = ShortReport


class ReportHookAdmin(VersionedModelAdmin):
    def get_conflict_report(self, request: HttpRequest) -> ConflictReport:
        report = super().get_conflict_report(request)
        report.display = lambda field, value: f"<{value}>"  # type: ignore[method-assign]
        return report


class OrderLineInline(VersionedTabularInline):
    model = OrderLine
    fields = ["sku", "qty"]
    extra = 1


class ParcelInline(VersionedStackedInline):
    model = Parcel
    fields = ["label"]
    extra = 0


class OrderAdmin(VersionedModelAdmin):
    fields = ["reference", "note"]
    inlines = [OrderLineInline, ParcelInline]


def _site(name: str, registrations: dict[type, type]) -> admin.AdminSite:
    site = admin.AdminSite(name=name)
    for model, model_admin in registrations.items():
        site.register(model, model_admin)
    return site


SITES = {
    **{f"book-{name}": _site(f"book-{name}", {Book: cls}) for name, cls in BOOK_ADMINS.items()},
    "shelf": _site("shelf", {Shelf: ShelfAdmin, Restaurant: VersionedModelAdmin}),
    "limited": _site("limited", {Customer: LimitedCustomerAdmin}),
    "actions": _site("actions", {Customer: ActionCustomerAdmin}),
    "allornothing": _site("allornothing", {Customer: AllOrNothingCustomerAdmin}),
    "partial": _site("partial", {Customer: PartialCustomerAdmin}),
    "racy": _site("racy", {Customer: RacyCustomerAdmin}),
    "formactions": _site("formactions", {Customer: ChangeFormActionAdmin}),
    "race": _site("race", {Customer: RaceCustomerAdmin}),
    "report": _site("report", {Customer: ReportAttributeAdmin}),
    "behindthelock": _site("behindthelock", {Customer: BehindTheLockCustomerAdmin}),
    "lockprobe": _site("lockprobe", {Customer: LockProbeCustomerAdmin}),
    "reporthook": _site("reporthook", {Customer: ReportHookAdmin}),
    "orders": _site("orders", {Order: OrderAdmin, OrderLine: VersionedModelAdmin}),
}


urlpatterns = [
    path("admin/", admin.site.urls),
    *(path(f"{name}/", site.urls) for name, site in SITES.items()),
]
