"""What the board and stream clients see of alerts, devices and deliveries.

The shapes are the REST API's own serializers, so an event, the board's first render and
the answer of `POST /api/v1/alerts/{id}/acknowledge/` describe an alert identically and
a client can merge any of them into the same state.
"""

from __future__ import annotations

from apps.alerts.api.serializers import AlertSerializer
from apps.devices.api.serializers import DeviceSerializer
from apps.devices.models import Device, DeviceStatus
from apps.notifications.api.serializers import NotificationSerializer


def device_link_state(device: Device) -> str:
    """online / offline / never_seen, or the status of a device that isn't active.

    Offline means what the offline sweep decided (as in the device analytics), so the
    board and the "device offline" alert never disagree.
    """
    if device.status != DeviceStatus.ACTIVE:
        return device.status
    if device.last_seen_at is None:
        return "never_seen"
    if device.reported_state.get("rules", {}).get("offline"):
        return "offline"
    return "online"


def alert_payload(alert) -> dict:
    return dict(AlertSerializer(alert).data)


def notification_payload(notification) -> dict:
    return dict(NotificationSerializer(notification).data)


def device_payload(device: Device) -> dict:
    return {**DeviceSerializer(device).data, "state": device_link_state(device),
            "site_kind": device.site.kind}
