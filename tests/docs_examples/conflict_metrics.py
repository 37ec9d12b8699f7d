"""Count refused writes: a log line and a Prometheus counter for each (docs/monitoring.md).

Import it from your AppConfig.ready(), e.g. ``from myproject import conflict_metrics``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver
from prometheus_client import Counter

from django_etag_lock.signals import unconditional_write, write_refused

logger = logging.getLogger("myproject.conflicts")

REFUSED_WRITES = Counter(
    "etag_lock_refused_writes",  # exported as etag_lock_refused_writes_total
    "Writes refused by django-etag-lock: lost races, stale or missing If-Match.",
    ["source", "model", "reason"],
)
UNCONDITIONAL_WRITES = Counter(
    "etag_lock_unconditional_writes",
    "Writes without If-Match that went through because it is not required yet.",
    ["model"],
)


@receiver(write_refused, dispatch_uid="myproject.count_refused_write")
def count_refused_write(
    sender: Any,
    *,
    source: str,
    model: Any,
    pk: Any,
    reason: str,
    expected_version: int | None,
    current_version: int | None,
    **kwargs: Any,
) -> None:
    REFUSED_WRITES.labels(source=source, model=model._meta.label, reason=reason).inc()
    logger.info(
        "refused write: %s %s pk=%r reason=%s expected=%s current=%s",
        source,
        model._meta.label,
        pk,
        reason,
        expected_version,
        current_version,
    )


@receiver(unconditional_write, dispatch_uid="myproject.count_unconditional_write")
def count_unconditional_write(sender: Any, *, model: Any, **kwargs: Any) -> None:
    UNCONDITIONAL_WRITES.labels(model=model._meta.label).inc()
