"""Reads for alerts: every one takes the tenant, and people's reads their scope too
(apps.tenancy.scoping: a site-scoped member sees only their sites' alerts)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from apps.alerts.models import Alert, AlertEvent
from apps.tenancy.models import Tenant
from apps.tenancy.scoping import Scope


def alert_list(*, tenant: Tenant, scope: Scope | None = None) -> QuerySet[Alert]:
    alerts = Alert.objects.for_tenant(tenant).select_related("site", "device", "group")
    return alerts if scope is None else scope.filter(alerts)


def alert_detail_queryset(*, tenant: Tenant, scope: Scope | None = None) -> QuerySet[Alert]:
    return alert_list(tenant=tenant, scope=scope).prefetch_related(
        Prefetch("events", queryset=AlertEvent.objects.order_by("at", "id")))


def alert_open_by_key(*, tenant: Tenant, dedup_key: str) -> Alert | None:
    return Alert.objects.for_tenant(tenant).filter(dedup_key=dedup_key,
                                                   status__in=["triggered", "acknowledged"]).order_by().first()
