"""Reads for alerts: every one takes the tenant, and people's reads their scope too
(apps.tenancy.scoping: a site-scoped member sees only their sites' alerts)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from apps.alerts.models import OPEN_STATUSES, Alert, AlertEvent, AlertEventKind
from apps.tenancy.models import Tenant
from apps.tenancy.scoping import Scope


def alert_list(*, tenant: Tenant, scope: Scope | None = None) -> QuerySet[Alert]:
    alerts = Alert.objects.for_tenant(tenant).select_related("site", "device", "group")
    return alerts if scope is None else scope.filter(alerts)


def alert_detail_queryset(*, tenant: Tenant, scope: Scope | None = None) -> QuerySet[Alert]:
    return alert_list(tenant=tenant, scope=scope).prefetch_related(
        Prefetch("events", queryset=AlertEvent.objects.order_by("at", "id")))


def alert_open_by_key(*, tenant: Tenant, dedup_key: str) -> Alert | None:
    return Alert.objects.for_tenant(tenant).filter(dedup_key=dedup_key, status__in=OPEN_STATUSES).order_by().first()


def alert_list_with_ack_note(*, tenant: Tenant, scope: Scope | None = None) -> QuerySet[Alert]:
    """The tenant's alerts with the note of their latest acknowledgement (`acknowledgement_note`),
    which is where the legacy dashboard's `notes` live (an alert has a timeline, not a notes column)."""
    note = (AlertEvent.objects.filter(alert=OuterRef("pk"), kind=AlertEventKind.ACKNOWLEDGED)
            .order_by("-at", "-id").values("note")[:1])
    return alert_list(tenant=tenant, scope=scope).annotate(acknowledgement_note=Subquery(note))


def alert_recent_with_ack_note(*, tenant: Tenant, limit: int, since: datetime | None = None,
                               scope: Scope | None = None) -> QuerySet[Alert]:
    """The latest `limit` alerts seen since `since`, latest first, as `alert_list_with_ack_note`."""
    queryset = alert_list_with_ack_note(tenant=tenant, scope=scope)
    if since is not None:
        queryset = queryset.filter(last_seen_at__gte=since)
    return queryset.order_by("-last_seen_at", "-id")[:limit]
