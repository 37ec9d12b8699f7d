from django.contrib import admin

from customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["customer_id", "given_name", "family_name", "email", "version", "updated_at"]
    search_fields = ["customer_id", "given_name", "family_name", "email"]
