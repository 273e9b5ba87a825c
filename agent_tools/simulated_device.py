"""One simulated device: a real agent minus the hardware, in a thread of the fleet process.

Every simulated device has its own key, identity and outbox under the state directory and
goes through the real code: enrolment, token renewal, the durable outbox and sender, the
monitor that raises a tablet's breach or low battery itself, the AAMVA parser and scan
reduction. Only the sensors and the barcodes are invented.

Behaviour by kind: tablets (hotels) send heartbeats, now and then leave their room's Wi-Fi
profile (a breach) and run their battery low; scanners (stores) scan a card every few
seconds, a few underage or expired; gateways (plants) send inverter telemetry with an
occasional overheat for the server's rules to catch.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable
from datetime import date

from agent_tools.fleet import FleetCounters, SetupEntry, hardware_id_for, location_label_for
from agent_tools.synthetic_licences import random_licence
from device_agent.backoff import Backoff
from device_agent.collectors.battery import BatteryReading
from device_agent.collectors.health import HealthSample
from device_agent.collectors.wifi import LinkReading
from device_agent.config import AgentConfig
from device_agent.device_api import DeviceSession
from device_agent.gateway import Reading
from device_agent.http_client import (
    AuthenticationFailed,
    DeviceRevoked,
    HttpClient,
    RejectedRequest,
    TransientApiError,
)
from device_agent.identity import DeviceKey, IdentityStore
from device_agent.monitor import DeviceMonitor
from device_agent.outbox import Outbox
from device_agent.runtime_status import RuntimeStatus
from device_agent.scanner import ScanProcessor
from device_agent.sender import Sender, SendPolicy
from device_agent.site_config import EffectiveSettings, SiteConfigStore

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_SECONDS = 5.0
# A demo should show alerts within a minute, so nothing waits longer than this to be sent.
MAX_BATCH_TIMEOUT_SECONDS = 30.0
MAX_HEARTBEAT_SECONDS = 30.0
HEALTH_CHECK_SECONDS = 10.0
TELEMETRY_SECONDS = 10.0
CONNECT_BACKOFF_CAP_SECONDS = 30.0


class SimulatedSensors:
    """Plausible readings with the occasional incident, from a per-device random source."""

    def __init__(self, rng: random.Random, kind: str, site: SiteConfigStore) -> None:
        self.rng = rng
        self.kind = kind
        self.site = site
        self.started = time.time()
        self.battery_level = rng.uniform(25, 100)
        self.charging = False
        self.breach_checks_left = 0
        self.home_bssid = "02:00:5e:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))

    def sample(self) -> HealthSample:
        return HealthSample(
            cpu_percent=round(self.rng.uniform(2, 25), 1),
            memory_used_mb=round(self.rng.uniform(300, 600), 1),
            memory_total_mb=1900.0,
            disk_used_mb=round(self.rng.uniform(4000, 4200), 1),
            disk_total_mb=29000.0,
            temperature_c=round(self.rng.uniform(42, 60), 1),
            uptime_s=int(time.time() - self.started + 3600),
        )

    def battery(self) -> BatteryReading:
        if self.kind != "tablet":
            return BatteryReading()
        if self.charging:
            self.battery_level = min(100.0, self.battery_level + 5)
            self.charging = self.battery_level < 100
        else:
            self.battery_level -= self.rng.uniform(0.5, 2.5)
            if self.battery_level < 8:
                self.charging = True
        return BatteryReading(level=int(self.battery_level), charging=self.charging)

    def link(self) -> LinkReading:
        site = self.site.config
        home = site.allowed_bssids[0] if site.allowed_bssids else self.home_bssid
        if self.kind == "tablet" and self.breach_checks_left == 0 and self.rng.random() < 0.03:
            self.breach_checks_left = self.rng.randint(2, 4)
        if self.breach_checks_left:
            self.breach_checks_left -= 1
            if self.rng.random() < 0.5:
                return LinkReading("wlan0", home, self.rng.randint(-95, -88))
            return LinkReading("wlan0", "02:00:5e:ff:ff:01", self.rng.randint(-70, -50))
        return LinkReading("wlan0", home, self.rng.randint(-66, -42))


class SimulatedDevice(threading.Thread):
    """One device: connects (enrol or renew), then produces and sends on its own schedule."""

    def __init__(
        self,
        *,
        server: str,
        entry: SetupEntry,
        index: int,
        state_root: str,
        stop: threading.Event,
        counters: FleetCounters,
    ) -> None:
        self.entry = entry
        self.hardware_id = hardware_id_for(entry, index)
        self.location_label = location_label_for(entry.device_kind, index)
        super().__init__(name=f"sim-{self.hardware_id}", daemon=True)
        self.kind = entry.device_kind
        self.stop_event = stop
        self.counters = counters
        self.rng = random.Random(self.hardware_id)
        state_dir = os.path.join(state_root, re.sub(r"[^A-Za-z0-9_.-]", "_", self.hardware_id))
        self.identity = IdentityStore(state_dir, hardware_id=self.hardware_id)
        self.session = DeviceSession(
            HttpClient(server, REQUEST_TIMEOUT_SECONDS),
            DeviceKey.load_or_create(state_dir, isolated=False),
            self.identity,
            model=f"simulated-{self.kind}",
            kind=self.kind,
        )
        self.outbox = Outbox(os.path.join(state_dir, "outbox.sqlite3"))
        self.site = SiteConfigStore(state_dir)
        self.settings = EffectiveSettings(
            AgentConfig(kind=self.kind, request_timeout_seconds=REQUEST_TIMEOUT_SECONDS),
            self.site,
        )
        self.status = RuntimeStatus()
        self.sender = Sender(self.outbox, self.session, self._send_policy, self.status)
        self.sensors = SimulatedSensors(self.rng, self.kind, self.site)
        self.monitor = DeviceMonitor(
            outbox=self.outbox, notify=_nothing, settings=self.settings,
            identity=self.identity, status=self.status, kind=self.kind,
            health_monitoring=True, health=self.sensors, read_battery=self.sensors.battery,
            read_link=self.sensors.link,
        )
        self.scanner = ScanProcessor(outbox=self.outbox, site=self.site, underage_alerts=True,
                                     notify=_nothing)
        self.status.scanner_status = "ok"

    def _send_policy(self) -> SendPolicy:
        policy = self.settings.send_policy()
        return dataclasses.replace(
            policy, batch_timeout_seconds=min(policy.batch_timeout_seconds,
                                              MAX_BATCH_TIMEOUT_SECONDS))

    def run(self) -> None:
        try:
            if self._connect():
                self.counters.add("devices_connected")
                log.info("simulated device connected",
                         extra={"fields": {"device": self.hardware_id, "kind": self.kind,
                                           "tenant": self.entry.tenant,
                                           "device_id": self.identity.state.device_id}})
                self._produce_and_send()
        except Exception:
            log.exception("simulated device failed", extra={"fields": {"device": self.hardware_id}})
        finally:
            self.outbox.close()

    def _connect(self) -> bool:
        backoff = Backoff(cap=CONNECT_BACKOFF_CAP_SECONDS, rng=self.rng.random)
        while not self.stop_event.is_set():
            try:
                state = self.identity.state
                if state.enrolled and not state.revoked:
                    self.session.renew_token()
                else:
                    self.session.enroll(self.entry.setup_token, self.entry.location_id,
                                        self.location_label)
                self.site.refresh(self.session)
                return True
            except AuthenticationFailed:
                log.info("server does not know this device any more; enrolling again",
                         extra={"fields": {"device": self.hardware_id}})
                self.identity.update(device_id=None, access=None, access_expires_at=None)
            except DeviceRevoked:
                return False
            except RejectedRequest as exc:
                log.error("simulated device could not enrol; it stays off",
                          extra={"fields": {"device": self.hardware_id, "error": str(exc)}})
                return False
            except TransientApiError as exc:
                delay = backoff.failed(time.time())
                log.info("server not reachable yet; retrying",
                         extra={"fields": {"device": self.hardware_id, "error": str(exc),
                                           "retry_in_s": round(delay, 1)}})
                self.stop_event.wait(delay)
        return False

    def _produce_and_send(self) -> None:
        now = time.time()
        schedule: dict[str, float] = {"check": now, "heartbeat": now + self.rng.uniform(0, 5)}
        if self.kind == "scanner":
            schedule["scan"] = now + self.rng.uniform(1, 10)
        if self.kind == "gateway":
            schedule["telemetry"] = now + self.rng.uniform(0, TELEMETRY_SECONDS)
        actions: dict[str, Callable[[], float]] = {
            "check": self._check, "heartbeat": self._heartbeat, "scan": self._scan,
            "telemetry": self._telemetry,
        }
        while not self.stop_event.is_set():
            now = time.time()
            for name, due in list(schedule.items()):
                if now >= due:
                    schedule[name] = now + actions[name]()
            self.site.tick(self.session)
            report = self.sender.send_due()
            self.counters.add("items_delivered", report.acknowledged)
            self.counters.add("items_parked", report.parked)
            if report.stopped_by == "DeviceRevoked":
                log.warning("simulated device revoked; it stops",
                            extra={"fields": {"device": self.hardware_id}})
                return
            wait = min(min(schedule.values()) - time.time(), self.sender.seconds_until_due())
            self.stop_event.wait(max(0.05, wait))

    def _check(self) -> float:
        self.monitor.check()
        return HEALTH_CHECK_SECONDS

    def _heartbeat(self) -> float:
        self.monitor.queue_heartbeat()
        self.counters.add("heartbeats")
        return min(self.settings.heartbeat_interval_seconds, MAX_HEARTBEAT_SECONDS)

    def _scan(self) -> float:
        site = self.site.config
        licence = random_licence(
            self.rng, date.today(),
            underage=self.rng.random() < 0.08,
            expired=self.rng.random() < 0.05,
            underage_age=site.underage_age or 21,
        )
        record = self.scanner.handle(licence.barcode_text())
        self.counters.add("scans")
        if record and record["is_underage"]:
            self.counters.add("underage_scans")
        return self.rng.uniform(4, 20)

    def _telemetry(self) -> float:
        now = time.time()
        hour = time.localtime(now).tm_hour + time.localtime(now).tm_min / 60
        daylight = max(0.0, math.sin(math.pi * (hour - 6) / 12))
        overheating = self.rng.random() < 0.03
        temperature = self.rng.uniform(88, 98) if overheating else self.rng.uniform(35, 60)
        readings = [
            Reading("ac_power_kw", round(daylight * self.rng.uniform(35, 50), 2), "kW", now),
            Reading("inverter_temp_c", round(temperature, 1), "°C", now),
            Reading("dc_voltage_v", round(self.rng.uniform(600, 800), 1), "V", now),
        ]
        self.outbox.put_many([reading.outbox_item() for reading in readings])
        self.counters.add("telemetry_readings", len(readings))
        if overheating:
            self.counters.add("overheats")
        return TELEMETRY_SECONDS


def _nothing() -> None:
    """Simulated devices send from their own loop, so queueing needs no wake-up call."""
