"""What the live board shows when it opens; the stream keeps it current from there.

Everything is read inside the viewer's scope (apps.tenancy.scoping), as the stream they
open is: a Lisbon-only member's board holds Lisbon's alerts, devices and sites only."""

from __future__ import annotations

from apps.alerts.models import OPEN_STATUSES, Alert, AlertKind
from apps.alerts.selectors import alert_list
from apps.devices.models import Device, DeviceStatus
from apps.notifications.models import Notification
from apps.realtime import payloads
from apps.tenancy.models import Membership, Site, Tenant
from apps.tenancy.scoping import Scope

# A board is for what needs attention now; beyond these, the API pages through the rest.
MAX_ALERTS = 500
MAX_DEVICES = 1000
MAX_NOTIFICATIONS = 3000


def board_snapshot(*, tenant: Tenant, scope: Scope, focus: str | None = None) -> dict:
    """The open alerts, devices and deliveries in `scope`; `focus` (an alert's public id, from
    a page's link) adds that alert whatever its state, so the link always shows what it named."""
    alerts = list(alert_list(tenant=tenant, scope=scope).filter(status__in=OPEN_STATUSES)
                  .order_by("-last_seen_at", "-id")[:MAX_ALERTS + 1])
    focused = alert_list(tenant=tenant, scope=scope).filter(public_id=focus).order_by().first() if focus else None
    if focused is not None and focused.pk not in {alert.pk for alert in alerts[:MAX_ALERTS]}:
        alerts.insert(0, focused)
    devices = list(scope.filter(Device.objects.for_tenant(tenant)).exclude(status=DeviceStatus.REVOKED)
                   .select_related("site").order_by("site__name", "name", "id")[:MAX_DEVICES + 1])
    notifications = (Notification.objects.for_tenant(tenant)
                     .filter(alert_id__in=[alert.pk for alert in alerts[:MAX_ALERTS]])
                     .select_related("alert", "channel").order_by("created_at", "id")[:MAX_NOTIFICATIONS])
    sites = scope.filter(Site.objects.for_tenant(tenant)).order_by("name")
    return {
        "tenant": {"id": tenant.public_id, "name": tenant.name},
        "sites": [{"id": site.public_id, "name": site.name, "kind": site.kind, "location_id": site.location_id,
                   "timezone": site.timezone} for site in sites],
        "kinds": [{"value": value, "label": label} for value, label in AlertKind.choices],
        "alerts": [payloads.alert_payload(alert) for alert in alerts[:MAX_ALERTS]],
        "devices": [payloads.device_payload(device) for device in devices[:MAX_DEVICES]],
        "notifications": [payloads.notification_payload(n) for n in notifications],
        "truncated": len(alerts) > MAX_ALERTS or len(devices) > MAX_DEVICES,
        "focus": focused.public_id if focused is not None else None,
    }


def tenant_of_alert(*, user, public_id: str) -> str | None:
    """The public id of the tenant of an alert this person may see (None otherwise)."""
    alerts = Alert.objects.filter(public_id=public_id)
    if not user.is_superuser:
        alerts = alerts.filter(tenant__memberships__user=user, tenant__memberships__is_active=True)
    return alerts.values_list("tenant__public_id", flat=True).order_by().first()


def tenants_to_choose(user) -> list[Tenant]:
    """The tenants a person may open the board for (superusers: all active ones)."""
    if user.is_superuser:
        return list(Tenant.objects.filter(is_active=True).order_by("name"))
    tenant_ids = Membership.objects.filter(user=user).values_list("tenant_id", flat=True)
    return list(Tenant.objects.filter(pk__in=tenant_ids, is_active=True).order_by("name"))
