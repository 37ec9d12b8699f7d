from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EtagLockConfig(AppConfig):
    name = "django_etag_lock"
    verbose_name = _("ETag lock")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps

        from django_etag_lock import checks  # noqa: F401  (registers the system checks)
        from django_etag_lock.models import connect_collector_bumps

        connect_collector_bumps()

        from django_etag_lock.touch import connect_delete_receivers

        connect_delete_receivers(apps.get_models())
