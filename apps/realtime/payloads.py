"""What the board and stream clients see of alerts, devices and deliveries.

The shapes are the REST API's own serializers, so an event, the board's first render and
the answer of `POST /api/v1/alerts/{id}/acknowledge/` describe an alert identically and
a client can merge any of them into the same state.
"""

from __future__ import annotations

from apps.devices.api.serializers import DeviceSerializer
from apps.devices.models import Device, DeviceStatus


def device_link_state(device: Device) -> str:
    """online / offline / never_seen, or the status of a device that isn't active.

    Offline means what the offline sweep decided (as in the device analytics), so the
    board and the "device offline" alert never disagree.
    """
    if device.status != DeviceStatus.ACTIVE:
        return device.status
    if device.last_seen_at is None:
        return "never_seen"
    if device.rule_state.get("rules", {}).get("offline"):
        return "offline"
    return "online"


def _iso(moment) -> str | None:
    """DRF's rendering of an aware datetime in UTC ("...Z")."""
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def alert_payload(alert) -> dict:
    """AlertSerializer's shape, built by hand: every duplicate of a busy alert is published,
    and DRF's field machinery cost more than the rest of the event (a test keeps the two
    identical)."""
    return {
        "id": alert.public_id, "kind": alert.kind, "severity": alert.severity, "status": alert.status,
        "source": alert.source, "dedup_key": alert.dedup_key, "summary": alert.summary, "details": alert.details,
        "count": alert.count, "first_seen_at": _iso(alert.first_seen_at), "last_seen_at": _iso(alert.last_seen_at),
        "site": alert.site.public_id if alert.site_id else None,
        "site_name": alert.site.name if alert.site_id else None,
        "device": alert.device.public_id if alert.device_id else None,
        "device_name": str(alert.device) if alert.device_id else None,
        "location_label": alert.device.location_label if alert.device_id else "",
        "acknowledged_at": _iso(alert.acknowledged_at), "acknowledged_by_label": alert.acknowledged_by_label,
        "resolved_at": _iso(alert.resolved_at), "resolved_by_label": alert.resolved_by_label,
        "resolution": alert.resolution, "escalation_step": alert.escalation_step,
        "unnotified_reason": alert.unnotified_reason, "is_group": alert.is_group,
        "group": alert.group.public_id if alert.group_id else None,
        "in_maintenance": alert.in_maintenance(), "maintenance_until": _iso(alert.maintenance_until),
        "snoozed": alert.is_snoozed(), "snoozed_until": _iso(alert.snoozed_until),
        "created_at": _iso(alert.created_at), "updated_at": _iso(alert.updated_at),
    }


def notification_payload(notification) -> dict:
    """NotificationSerializer's shape, built by hand for the same reason as alerts': every
    delivery outcome is published from the worker (a test keeps the two identical)."""
    return {
        "id": notification.public_id, "alert": notification.alert.public_id,
        "channel": notification.channel.public_id, "channel_name": notification.channel.name,
        "channel_kind": notification.channel.kind, "step": notification.step, "purpose": notification.purpose,
        "status": notification.status, "attempts": notification.attempts, "due_at": _iso(notification.due_at),
        "last_error": notification.last_error, "error_code": notification.error_code,
        "provider": notification.provider, "provider_message_id": notification.provider_message_id,
        "receipt_status": notification.receipt_status, "receipt_error_code": notification.receipt_error_code,
        "receipt_at": _iso(notification.receipt_at), "sent_at": _iso(notification.sent_at),
        "dead_at": _iso(notification.dead_at), "created_at": _iso(notification.created_at),
    }


def device_payload(device: Device) -> dict:
    return {**DeviceSerializer(device).data, "state": device_link_state(device),
            "site_kind": device.site.kind}
