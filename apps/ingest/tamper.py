"""Tamper alerts for what the identity layer detects (a replayed legacy refresh credential).

apps.devices may not import the alert engine, so it sends `device_tampered` inside the
transaction that revokes the device; this raises the alert in that same transaction, so
the revocation never happens without staff being told.
"""

from __future__ import annotations

from apps.alerts.models import AlertKind, AlertSource, Severity
from apps.alerts.services import alert_raise
from apps.audit.services import Actor
from apps.devices.models import Device
from apps.ingest import rules as rule_engine


def on_device_tampered(sender, *, device: Device, reason: str, summary: str, **kwargs) -> None:
    alert_raise(
        tenant=device.tenant, kind=AlertKind.TAMPER, dedup_key=rule_engine.key("tamper", device, reason),
        severity=Severity.HIGH, summary=summary, source=AlertSource.SYSTEM, site=device.site, device=device,
        details={"reason": reason}, actor=Actor.system("devices"),
    )
