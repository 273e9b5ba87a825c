"""What the live board shows when it opens; the stream keeps it current from there."""

from __future__ import annotations

from apps.alerts.models import OPEN_STATUSES, AlertKind
from apps.alerts.selectors import alert_list
from apps.devices.models import Device, DeviceStatus
from apps.notifications.models import Notification
from apps.realtime import payloads
from apps.tenancy.models import Membership, Site, Tenant

# A board is for what needs attention now; beyond these, the API pages through the rest.
MAX_ALERTS = 500
MAX_DEVICES = 1000
MAX_NOTIFICATIONS = 3000


def board_snapshot(*, tenant: Tenant) -> dict:
    alerts = list(alert_list(tenant=tenant).filter(status__in=OPEN_STATUSES)
                  .order_by("-last_seen_at", "-id")[:MAX_ALERTS + 1])
    devices = list(Device.objects.for_tenant(tenant).exclude(status=DeviceStatus.REVOKED)
                   .select_related("site").order_by("site__name", "name", "id")[:MAX_DEVICES + 1])
    notifications = (Notification.objects.for_tenant(tenant)
                     .filter(alert_id__in=[alert.pk for alert in alerts[:MAX_ALERTS]])
                     .select_related("alert", "channel").order_by("created_at", "id")[:MAX_NOTIFICATIONS])
    return {
        "tenant": {"id": tenant.public_id, "name": tenant.name},
        "sites": [{"id": site.public_id, "name": site.name, "kind": site.kind, "location_id": site.location_id,
                   "timezone": site.timezone} for site in Site.objects.for_tenant(tenant).order_by("name")],
        "kinds": [{"value": value, "label": label} for value, label in AlertKind.choices],
        "alerts": [payloads.alert_payload(alert) for alert in alerts[:MAX_ALERTS]],
        "devices": [payloads.device_payload(device) for device in devices[:MAX_DEVICES]],
        "notifications": [payloads.notification_payload(n) for n in notifications],
        "truncated": len(alerts) > MAX_ALERTS or len(devices) > MAX_DEVICES,
    }


def tenants_to_choose(user) -> list[Tenant]:
    """The tenants a person may open the board for (superusers: all active ones)."""
    if user.is_superuser:
        return list(Tenant.objects.filter(is_active=True).order_by("name"))
    tenant_ids = Membership.objects.filter(user=user).values_list("tenant_id", flat=True)
    return list(Tenant.objects.filter(pk__in=tenant_ids, is_active=True).order_by("name"))
