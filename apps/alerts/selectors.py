"""Reads for alerts: every one takes the tenant."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from apps.alerts.models import Alert, AlertEvent
from apps.tenancy.models import Tenant


def alert_list(*, tenant: Tenant) -> QuerySet[Alert]:
    return Alert.objects.for_tenant(tenant).select_related("site", "device", "group")


def alert_detail_queryset(*, tenant: Tenant) -> QuerySet[Alert]:
    return alert_list(tenant=tenant).prefetch_related(
        Prefetch("events", queryset=AlertEvent.objects.order_by("at", "id")))


def alert_open_by_key(*, tenant: Tenant, dedup_key: str) -> Alert | None:
    return Alert.objects.for_tenant(tenant).filter(dedup_key=dedup_key,
                                                   status__in=["triggered", "acknowledged"]).order_by().first()
