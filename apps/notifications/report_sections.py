"""Deliveries by channel and outcome, for the operations report (registered at start-up)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count

from apps.notifications.models import Notification
from apps.reports.sections import DeliveryRow


def delivery_counts(*, tenant, site_ids: list[int], since: datetime, until: datetime) -> list[DeliveryRow]:
    rows = Notification.objects.filter(tenant=tenant, alert__site_id__in=site_ids, created_at__gte=since,
                                       created_at__lt=until) \
        .values_list("channel__name", "channel__kind", "status").annotate(count=Count("id"))
    return [(name, kind, status, count) for name, kind, status, count in rows]
