"""What the pure rules decided becomes alerts: raised, or the open one cleared.

The one place where rule decisions meet the alert engine, so every report (heartbeat,
scan, telemetry) raises and clears the same way and keeps the device's alarm set honest.
"""

from __future__ import annotations

from datetime import datetime

from apps.alerts.models import AlertSource
from apps.alerts.services import RaiseResult, alert_raise, alert_resolve_open
from apps.audit.services import Actor
from apps.devices.models import Device
from apps.ingest import rules as rule_engine


def decisions_apply(*, device: Device, decisions: rule_engine.Decisions, occurred_at: datetime | None = None,
                    state: dict | None = None) -> list[RaiseResult]:
    """Raise and clear what the rules decided; the device's alarm set in `state` follows."""
    alarms = set(state.get("alarms", [])) if state is not None else set()
    results = []
    for decision in decisions.raises:
        results.append(alert_raise(
            tenant=device.tenant, kind=decision.kind, dedup_key=decision.dedup_key, severity=decision.severity,
            summary=decision.summary, source=AlertSource.RULE, site=device.site, device=device,
            details=decision.details, occurred_at=occurred_at, actor=Actor.system("rules"),
        ))
        alarms.add(decision.dedup_key)
    for clear in decisions.clears:
        # Only keys this device raised are worth a query; everything else was never open.
        if state is None or clear.dedup_key in alarms:
            alert_resolve_open(tenant=device.tenant, dedup_key=clear.dedup_key, resolution=clear.resolution,
                               note=clear.note)
            alarms.discard(clear.dedup_key)
    if state is not None:
        state["alarms"] = sorted(alarms)
    return results
