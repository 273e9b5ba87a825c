"""Health checks, heartbeats and the alerts a device raises about itself.

Health is sampled every ``health_check_interval_seconds`` so a threshold crossing is noticed
quickly; a heartbeat (with the latest sample) is queued every ``heartbeat_interval_seconds``.
Local alerts fire once when a condition starts, not on every sample: the server deduplicates
too, but a device should not flood its own outbox.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from device_agent import __version__
from device_agent.alerts import device_alert
from device_agent.collectors.battery import BatteryReading
from device_agent.collectors.health import HealthSample
from device_agent.collectors.wifi import LinkReading
from device_agent.identity import IdentityStore
from device_agent.logging_setup import error_counter
from device_agent.outbox import HEARTBEAT, NewItem, Outbox
from device_agent.runtime_status import RuntimeStatus
from device_agent.site_config import EffectiveSettings
from device_agent.timeutil import iso_utc

log = logging.getLogger(__name__)


class HealthSource(Protocol):
    def sample(self) -> HealthSample:
        """The device's health now (a HealthCollector, or the simulator's sensors)."""


@dataclass(frozen=True)
class Snapshot:
    health: HealthSample = field(default_factory=HealthSample)
    battery: BatteryReading = field(default_factory=BatteryReading)
    link: LinkReading = field(default_factory=LinkReading)


class DeviceMonitor:
    """Samples the device, raises local alerts on threshold crossings, builds heartbeats."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        notify: Callable[[], None],
        settings: EffectiveSettings,
        identity: IdentityStore,
        status: RuntimeStatus,
        kind: str,
        health_monitoring: bool,
        health: HealthSource,
        read_battery: Callable[[], BatteryReading],
        read_link: Callable[[], LinkReading],
        firmware: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.notify = notify
        self.settings = settings
        self.identity = identity
        self.status = status
        self.kind = kind
        self.health_monitoring = health_monitoring
        self.health = health
        self.read_battery = read_battery
        self.read_link = read_link
        self.firmware = firmware or f"tocsin-agent/{__version__}"
        self._clock = clock
        self._active: set = set()
        self.latest = Snapshot()

    def check(self) -> Snapshot:
        """Sample every source and queue an alert for each condition that just started."""
        if not self.health_monitoring:
            return self.latest
        snapshot = Snapshot(self.health.sample(), self.read_battery(), self.read_link())
        self.latest = snapshot
        alerts = [alert for alert in self._conditions(snapshot) if alert is not None]
        if alerts:
            self.outbox.put_many(alerts)
            self.notify()
        return snapshot

    def queue_heartbeat(self) -> dict[str, Any]:
        now = self._clock()
        payload = self.heartbeat_payload(self.latest, now)
        self.outbox.put(
            NewItem(kind=HEARTBEAT, item_id=str(uuid.uuid4()), occurred_at=now, payload=payload)
        )
        self.notify()
        return payload

    def heartbeat_payload(self, snapshot: Snapshot, now: float) -> dict[str, Any]:
        """Only what is known: an unknown reading is left out, never sent as a number."""
        payload: dict[str, Any] = {"sent_at": iso_utc(now), "firmware": self.firmware,
                                   "error_count": error_counter().count}
        parts = {
            "battery": snapshot.battery.battery_fields(),
            "link": snapshot.link.link_fields(),
            "health": snapshot.health.health_fields(),
        }
        payload.update({name: part for name, part in parts.items() if part})
        if snapshot.health.uptime_s is not None:
            payload["uptime_s"] = int(snapshot.health.uptime_s)  # the API takes whole seconds
        if self.kind == "scanner":
            payload["scanner_status"] = self.status.scanner_status
        payload["outbox"] = outbox_backlog(self.outbox, now)
        return payload

    def _conditions(self, snapshot: Snapshot) -> list[NewItem | None]:
        site = self.settings.site.config
        device = self.identity.state.device_id
        temperature = snapshot.health.temperature_c
        threshold = self.settings.cpu_temp_threshold
        battery = snapshot.battery
        results = [
            self._transition(
                "overheat",
                temperature is not None and temperature > threshold,
                kind="custom", severity="warning", dedup_key=f"overheat:{device}",
                details={"reason": "cpu_overheat", "temperature_c": temperature,
                         "threshold_c": threshold},
            ),
            self._transition(
                "battery_low",
                site.battery_warning_percent is not None and battery.level is not None
                and battery.level < site.battery_warning_percent and battery.charging is not True,
                kind="battery_low", severity="warning", dedup_key=f"battery_low:{device}",
                details={"level": battery.level, "threshold": site.battery_warning_percent},
            ),
        ]
        if self.kind == "tablet":
            reasons = breach_reasons(snapshot.link, site.rssi_breach_dbm, site.allowed_bssids)
            results.append(self._transition(
                "breach", bool(reasons),
                kind="breach", severity="critical", dedup_key=f"breach:{device}",
                details={"reasons": reasons, "rssi": snapshot.link.rssi,
                         "wifi_bssid": snapshot.link.bssid,
                         "rssi_breach_dbm": site.rssi_breach_dbm},
            ))
        return results

    def _transition(self, name: str, active: bool, **alert: Any) -> NewItem | None:
        if not active:
            if name in self._active:
                self._active.discard(name)
                log.info("condition cleared", extra={"fields": {"condition": name}})
            return None
        if name in self._active:
            return None
        self._active.add(name)
        log.warning("condition raised an alert",
                    extra={"fields": {"condition": name, "details": alert["details"]}})
        return device_alert(occurred_at=self._clock(), **alert)


def outbox_backlog(outbox: Outbox, now: float) -> dict[str, int]:
    """What waits to be sent (heartbeats aside: they go at once), the oldest one's age, and
    what the server refused for good: the server shows it and alerts on an old backlog."""
    waiting = {kind: s for kind, s in outbox.summaries().items() if kind != HEARTBEAT}
    oldest = min((summary.oldest_at for summary in waiting.values()), default=None)
    return {
        "size": sum(summary.waiting for summary in waiting.values()),
        "oldest_age_s": max(0, int(now - oldest)) if oldest is not None else 0,
        "parked": outbox.counts().parked,
    }


def breach_reasons(
    link: LinkReading, rssi_breach_dbm: int | None, allowed_bssids: tuple[str, ...]
) -> list[str]:
    """Why a tablet's link says it has left its room (empty when it hasn't, or can't tell)."""
    reasons = []
    if link.rssi is not None and rssi_breach_dbm is not None and link.rssi < rssi_breach_dbm:
        reasons.append("weak_signal")
    if link.bssid is not None and allowed_bssids and link.bssid.lower() not in allowed_bssids:
        reasons.append("unknown_bssid")
    return reasons


class MonitorLoop(threading.Thread):
    """Runs the checks and heartbeats on their intervals until stopped."""

    def __init__(self, monitor: DeviceMonitor, settings: EffectiveSettings) -> None:
        super().__init__(name="tocsin-monitor", daemon=True)
        self.monitor = monitor
        self.settings = settings
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        next_check = next_heartbeat = time.monotonic()
        while not self._stop_event.is_set():
            now = time.monotonic()
            try:
                if now >= next_check:
                    self.monitor.check()
                    next_check = now + self.settings.local.health_check_interval_seconds
                if now >= next_heartbeat:
                    self.monitor.queue_heartbeat()
                    next_heartbeat = now + self.settings.heartbeat_interval_seconds
            except Exception:
                log.exception("health check failed; trying again next interval")
                next_check = now + self.settings.local.health_check_interval_seconds
                next_heartbeat = max(next_heartbeat, next_check)
            self._stop_event.wait(max(0.0, min(next_check, next_heartbeat) - time.monotonic()))
