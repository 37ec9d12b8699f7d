from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from django_etag_lock.models import VersionedModel


class Customer(VersionedModel):
    customer_id = models.CharField(_("customer id"), max_length=16, unique=True)
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    email = models.EmailField(_("email"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["customer_id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.given_name} {self.family_name}"
