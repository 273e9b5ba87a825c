"""Heartbeats carry only what is known; local alerts fire once per condition."""

from __future__ import annotations

from pathlib import Path

from device_agent.collectors.battery import BatteryReading
from device_agent.collectors.health import HealthSample
from device_agent.collectors.wifi import LinkReading
from device_agent.config import AgentConfig
from device_agent.identity import IdentityStore
from device_agent.monitor import DeviceMonitor
from device_agent.outbox import ALERT, HEARTBEAT, Outbox
from device_agent.runtime_status import RuntimeStatus
from device_agent.site_config import EffectiveSettings, SiteConfigStore
from tests.support.agent import FakeSession

ROOM_BSSID = "aa:bb:cc:dd:ee:ff"


class Readings:
    def __init__(self) -> None:
        self.health = HealthSample(cpu_percent=5.0, temperature_c=50.0, uptime_s=100.0)
        self.battery_reading = BatteryReading(level=80, charging=False)
        self.link_reading = LinkReading("wlan0", ROOM_BSSID, -50)

    def sample(self) -> HealthSample:
        return self.health

    def battery(self) -> BatteryReading:
        return self.battery_reading

    def link(self) -> LinkReading:
        return self.link_reading


def make_monitor(tmp_path: Path, kind: str = "tablet") -> tuple[DeviceMonitor, Readings]:
    site = SiteConfigStore(str(tmp_path))
    site.refresh(FakeSession({"config": {"battery_warning_percent": 20, "rssi_breach_dbm": -80,
                                         "allowed_bssids": [ROOM_BSSID],
                                         "cpu_temp_threshold": 70.0}}))
    identity = IdentityStore(str(tmp_path), hardware_id="hw")
    identity.update(device_id="dev-7")
    readings = Readings()
    monitor = DeviceMonitor(
        outbox=Outbox(str(tmp_path / "o.db")), notify=lambda: None,
        settings=EffectiveSettings(AgentConfig(kind=kind), site), identity=identity,
        status=RuntimeStatus(), kind=kind, health_monitoring=True, health=readings,
        read_battery=readings.battery, read_link=readings.link, firmware="fw-1",
    )
    return monitor, readings


def alerts(monitor: DeviceMonitor) -> list[dict]:
    found = []
    while (batch := monitor.outbox.take_batch(ALERT, 1)) is not None:
        found.append(batch.items[0].payload)
        monitor.outbox.ack([batch.items[0].seq])
    return found


def test_heartbeat_leaves_out_what_is_unknown(tmp_path: Path) -> None:
    monitor, readings = make_monitor(tmp_path, kind="scanner")
    readings.battery_reading = BatteryReading()
    readings.link_reading = LinkReading()
    monitor.check()
    payload = monitor.queue_heartbeat()
    assert set(payload) == {"sent_at", "firmware", "error_count", "health", "uptime_s",
                            "scanner_status", "outbox"}
    assert payload["outbox"] == {"size": 0, "oldest_age_s": 0, "parked": 0}  # always known
    assert payload["health"] == {"cpu_percent": 5.0, "temperature_c": 50.0}
    assert payload["scanner_status"] == "unknown"
    assert monitor.outbox.summaries()[HEARTBEAT].waiting == 1


def test_a_tablet_leaving_its_room_raises_one_breach(tmp_path: Path) -> None:
    monitor, readings = make_monitor(tmp_path)
    monitor.check()
    assert alerts(monitor) == []
    readings.link_reading = LinkReading("wlan0", "11:22:33:44:55:66", -85)
    monitor.check()
    monitor.check()
    [breach] = alerts(monitor)
    assert breach["kind"] == "breach" and breach["dedup_key"] == "breach:dev-7"
    assert breach["details"]["reasons"] == ["weak_signal", "unknown_bssid"]
    readings.link_reading = LinkReading("wlan0", ROOM_BSSID, -50)
    monitor.check()
    readings.link_reading = LinkReading("wlan0", ROOM_BSSID, -90)
    monitor.check()
    assert [a["details"]["reasons"] for a in alerts(monitor)] == [["weak_signal"]]


def test_low_battery_and_overheat_raise_alerts(tmp_path: Path) -> None:
    monitor, readings = make_monitor(tmp_path, kind="gateway")
    readings.battery_reading = BatteryReading(level=15, charging=False)
    readings.health = HealthSample(temperature_c=75.0)
    readings.link_reading = LinkReading("wlan0", "11:22:33:44:55:66", -95)
    monitor.check()
    raised = {a["kind"]: a for a in alerts(monitor)}
    assert set(raised) == {"battery_low", "custom"}, "only tablets check the room profile"
    assert raised["custom"]["details"] == {"reason": "cpu_overheat", "temperature_c": 75.0,
                                           "threshold_c": 70.0}
    readings.battery_reading = BatteryReading(level=15, charging=True)
    monitor.check()
    assert alerts(monitor) == []
