"""The deliveries export: one row per notification, with its alert, channel and outcome.

The channel's target (a phone number, an address) is personal data of the person paged and
is left out; the channel's name and kind say where it went.
"""

from __future__ import annotations

from apps.notifications.models import Notification
from apps.reports.exports import CHUNK, register_export
from apps.tenancy.models import Tenant
from apps.tenancy.scoping import Scope


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def notifications_export(*, tenant: Tenant, filters: dict, scope: Scope):
    header = ["id", "alert_id", "alert_kind", "alert_severity", "site", "channel", "channel_kind", "cycle", "step",
              "purpose", "status", "attempts", "error_code", "provider", "receipt_status", "created_at", "sent_at",
              "dead_at"]
    notifications = scope.filter(Notification.objects.filter(tenant=tenant))
    if filters.get("site") is not None:
        notifications = notifications.filter(alert__site=filters["site"])
    if filters.get("since") is not None:
        notifications = notifications.filter(created_at__gte=filters["since"])
    if filters.get("until") is not None:
        notifications = notifications.filter(created_at__lt=filters["until"])
    rows = notifications.order_by("created_at", "id").values_list(
        "public_id", "alert__public_id", "alert__kind", "alert__severity", "alert__site__public_id", "channel__name",
        "channel__kind", "cycle", "step", "purpose", "status", "attempts", "error_code", "provider",
        "receipt_status", "created_at", "sent_at", "dead_at")

    def produce():
        for row in rows.iterator(chunk_size=CHUNK):
            yield (*row[:15], _iso(row[15]), _iso(row[16]), _iso(row[17]))

    return header, produce()


register_export("notifications", notifications_export)
