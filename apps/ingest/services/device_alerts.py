"""Alerts a device raised itself (a tamper switch, its own breach or battery judgement).

A device reports only the kinds below; problems the server's rules also detect share the
rules' dedup key, so one problem is one alert whichever side noticed it first.
"""

from __future__ import annotations

from datetime import datetime

from apps.alerts.models import AlertKind, AlertSource, Severity
from apps.alerts.services import RaiseResult, alert_raise
from apps.audit.models import ActorType
from apps.audit.services import Actor
from apps.devices.models import Device
from apps.ingest import rules as rule_engine
from apps.ingest.services.liveness import device_touch

DEVICE_ALERT_KINDS = {
    "breach": (AlertKind.BREACH, Severity.CRITICAL),
    "underage": (AlertKind.UNDERAGE, Severity.CRITICAL),
    "tamper": (AlertKind.TAMPER, Severity.HIGH),
    "battery_low": (AlertKind.BATTERY, Severity.WARNING),
    "custom": (AlertKind.CUSTOM, Severity.WARNING),
}


def _device_actor(device: Device) -> Actor:
    return Actor(type=ActorType.DEVICE, id=device.public_id, label=device.name or device.hardware_id)


def device_alert_report(*, device: Device, kind: str, occurred_at: datetime, details: dict,
                        severity: str | None = None, dedup_key: str | None = None) -> RaiseResult:
    """What a device detected itself.

    Problems the server's own rules also detect (breach, low battery, an underage scan)
    share the rules' dedup key, so a device report and a rule match are one alert. Other
    kinds may carry the device's own key, namespaced by device so no device can bump (or
    hide behind) another device's alert.
    """
    alert_kind, default_severity = DEVICE_ALERT_KINDS[kind]
    if kind == "underage" and details.get("scan_id"):
        full_key = rule_engine.key("underage", device, str(details["scan_id"]))
    elif kind == "breach":
        full_key = rule_engine.key("breach", device)
    elif kind == "battery_low":
        full_key = rule_engine.key("battery", device)
    elif dedup_key:
        full_key = f"device:{device.public_id}:{dedup_key}"
    else:
        full_key = rule_engine.key(alert_kind, device)
    summary = details.get("summary") if isinstance(details.get("summary"), str) else None
    result = alert_raise(
        tenant=device.tenant, kind=alert_kind, dedup_key=full_key, severity=severity or default_severity,
        summary=summary or f"{alert_kind.label} reported by {device}", source=AlertSource.DEVICE,
        site=device.site, device=device, details=details, occurred_at=occurred_at, actor=_device_actor(device),
    )
    device_touch(device=device)
    return result
