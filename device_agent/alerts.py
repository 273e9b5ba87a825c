"""Device-raised alerts as outbox items (the ``device-alerts`` contract)."""

from __future__ import annotations

import uuid
from typing import Any

from device_agent.outbox import ALERT, NewItem
from device_agent.timeutil import iso_utc

ALERT_KINDS = ("breach", "underage", "tamper", "battery_low", "custom")
SEVERITIES = ("critical", "high", "warning", "info")


def device_alert(
    *,
    kind: str,
    severity: str,
    dedup_key: str | None,
    details: dict[str, Any],
    occurred_at: float,
    urgent: bool = False,
) -> NewItem:
    """An alert ready for the outbox. ``details`` must never carry personal data."""
    if kind not in ALERT_KINDS or severity not in SEVERITIES:
        raise ValueError(f"unknown alert kind/severity: {kind}/{severity}")
    payload: dict[str, Any] = {
        "kind": kind,
        "severity": severity,
        "occurred_at": iso_utc(occurred_at),
        "details": details,
    }
    if dedup_key:
        payload["dedup_key"] = dedup_key
    return NewItem(
        kind=ALERT,
        item_id=str(uuid.uuid4()),
        occurred_at=occurred_at,
        payload=payload,
        urgent=urgent,
    )
