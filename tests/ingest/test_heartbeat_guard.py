"""The heartbeat's compare-and-set checks every device column its judgement depends on.

The unlocked path judges a heartbeat on the copy of the device row that authentication
read, and its UPDATE succeeds only if the row still holds what the copy held in
`HEARTBEAT_GUARD_COLUMNS`. Were a rule to read a column the guard leaves out, a concurrent
change of that column would go unseen and the heartbeat would be judged on stale data.
A recording stand-in for the device notes every attribute the heartbeat rules read, over
heartbeats that walk every branch; each must be a guarded column. No database is used.
"""

from __future__ import annotations

import itertools

from apps.devices.models import Device
from apps.ingest import rules
from apps.ingest.models import RuleSet
from apps.ingest.services.heartbeats import HEARTBEAT_GUARD_COLUMNS

# Read by the rules but never able to change under a heartbeat: a device's public id is its
# identity (only the dedup keys carry it). Anything else a rule reads must be guarded.
IMMUTABLE = {"public_id"}


class RecordingDevice:
    """Answers as `device` would, noting the name of every attribute read."""

    def __init__(self, device: Device) -> None:
        object.__setattr__(self, "_device", device)
        object.__setattr__(self, "read", set())

    def __getattr__(self, name: str):
        self.read.add(name)
        return getattr(self._device, name)

    def __str__(self) -> str:  # summaries: a label, never part of a decision
        return "the device"


HEARTBEATS = [
    {},
    {"battery": {"level": 3, "charging": False}},
    {"battery": {"level": 15, "charging": False}},
    {"battery": {"level": 90, "charging": True}},
    {"link": {"rssi": -95, "wifi_bssid": "aa:aa:aa:aa:aa:aa"}},
    {"link": {"rssi": -95}},
    {"link": {"rssi": -40, "wifi_bssid": "bb:bb:bb:bb:bb:bb"}},
    {"health": {"temperature_c": 99.0}},
    {"health": {"temperature_c": 20.0}},
    {"scanner_status": "error"},
    {"scanner_status": "ok"},
    {"outbox": {"size": 40, "oldest_age_s": 10 ** 6, "parked": 2}},
    {"outbox": {"size": 0, "oldest_age_s": 1}},
]


def _attributes_the_heartbeat_rules_read() -> set[str]:
    read: set[str] = set()
    rule_sets = [RuleSet(breach_enabled=True, scanner_health_enabled=True, rssi_breach_consecutive=1), RuleSet()]
    desired_states = [{"allowed_bssids": ["bb:bb:bb:bb:bb:bb"]}, {}]
    for kind, ruleset, desired, heartbeat in itertools.product(("tablet", "scanner", "gateway"), rule_sets,
                                                                desired_states, HEARTBEATS):
        device = RecordingDevice(Device(public_id="dev_guard", kind=kind, desired_state=desired))
        rules.evaluate_heartbeat(device=device, rules=ruleset, heartbeat=heartbeat, state={"rssi_low_streak": 5})
        read |= device.read
    return read


def _column(attribute: str) -> str:
    return Device._meta.get_field(attribute).column


def test_every_device_column_a_heartbeat_rule_reads_is_guarded():
    read = _attributes_the_heartbeat_rules_read()
    assert read, "the stand-in recorded nothing: the rules no longer read the device through it"
    unguarded = sorted(_column(name) for name in read - IMMUTABLE if _column(name) not in HEARTBEAT_GUARD_COLUMNS)
    assert not unguarded, (f"the heartbeat rules read {unguarded}, which the compare-and-set in "
                           "apps/ingest/services/heartbeats.py does not check: add them to HEARTBEAT_GUARD_COLUMNS")


def test_the_guard_also_covers_what_the_unlocked_path_judges_by():
    """The site whose rules judged, the rule state they judged with, the newest heartbeat."""
    assert {"site_id", "rule_state", "last_heartbeat_at"} <= set(HEARTBEAT_GUARD_COLUMNS)


def test_the_guard_names_real_device_columns_once_each():
    columns = {field.column for field in Device._meta.concrete_fields}
    assert set(HEARTBEAT_GUARD_COLUMNS) <= columns
    assert len(set(HEARTBEAT_GUARD_COLUMNS)) == len(HEARTBEAT_GUARD_COLUMNS)


def test_the_recording_stand_in_catches_a_rule_reading_an_unguarded_column(monkeypatch):
    """The test above would fail for a rule reading, say, the firmware."""
    original = rules._temperature

    def temperature_by_firmware(device, ruleset, temperature, decisions):
        if device.firmware:
            return None
        return original(device, ruleset, temperature, decisions)

    monkeypatch.setattr(rules, "_temperature", temperature_by_firmware)
    read = _attributes_the_heartbeat_rules_read()
    assert "firmware" in read and _column("firmware") not in HEARTBEAT_GUARD_COLUMNS
