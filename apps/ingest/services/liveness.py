"""A device is alive while it reports: every authenticated report moves `last_seen_at`, and
the first report after the offline sweep flagged the device resolves its offline alert.

Shared by every report's module. Live-state changes are announced after commit only
(`device_updated`), so the real-time board never shows a change that rolled back.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.alerts.services import alert_resolve_open
from apps.devices.models import Device
from apps.ingest import rules as rule_engine
from apps.ingest.signals import device_updated

# A report within this long of the last one leaves last_seen_at alone (the offline sweep
# works in minutes); it spares the device row a write per report in a burst.
LAST_SEEN_RESOLUTION = timedelta(seconds=1)

_OFFLINE = json.dumps({"rules": {"offline": True}})


def device_announce(device: Device, changes: list[str]) -> None:
    """Tell the real-time side, after commit, what changed in the device's live state."""
    if not changes:
        return
    device_id, tenant_id = device.pk, device.tenant_id
    transaction.on_commit(lambda: device_updated.send(sender=Device, device_id=device_id, tenant_id=tenant_id,
                                                      changes=changes))


def device_restore_if_offline(device: Device, state: dict) -> list[str]:
    """A flagged device reports again: its offline alert resolves (`state` updated in place)."""
    if not state.pop("offline", False):
        return []
    alert_resolve_open(tenant=device.tenant, dedup_key=rule_engine.key("offline", device), resolution="restored",
                       note="The device is reporting again.")
    return ["online"]


def device_touch(*, device: Device) -> None:
    """Any authenticated report proves the device is alive (scans, telemetry, alerts)."""
    now = timezone.now()
    if not (device.rule_state or {}).get("rules", {}).get("offline"):
        if device.last_seen_at is not None and now - device.last_seen_at < LAST_SEEN_RESOLUTION:
            return
        with connection.cursor() as cursor:
            cursor.execute("UPDATE devices_device SET last_seen_at = GREATEST(last_seen_at, %s) "
                           "WHERE id = %s AND NOT rule_state @> %s::jsonb RETURNING id",
                           [now, device.pk, _OFFLINE])
            if cursor.fetchone() is not None:
                device.last_seen_at = max(now, device.last_seen_at) if device.last_seen_at else now
                return
    with transaction.atomic():  # flagged offline: coming back resolves the offline alert
        locked = Device.objects.select_for_update().select_related("tenant").get(pk=device.pk)
        state = dict(locked.rule_state.get("rules", {}))
        changes = device_restore_if_offline(locked, state)
        locked.last_seen_at = timezone.now()
        locked.rule_state = {**locked.rule_state, "rules": state}
        locked.save(update_fields=["last_seen_at", "rule_state"])
        device_announce(locked, changes)
