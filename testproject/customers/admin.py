from __future__ import annotations

from django.contrib import admin

from customers.models import Customer
from django_etag_lock.admin import VersionedModelAdmin


@admin.register(Customer)
class CustomerAdmin(VersionedModelAdmin):
    list_display = ["customer_id", "given_name", "family_name", "email", "version", "updated_at"]
    list_editable = ["email"]
    search_fields = ["customer_id", "given_name", "family_name", "email"]
    readonly_fields = ["version", "updated_at"]
