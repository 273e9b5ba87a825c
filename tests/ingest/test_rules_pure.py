"""The pure rules of `apps.ingest.rules`, judged directly: no HTTP, no database.

Devices and rule sets are unsaved model instances (no test here may touch the database:
none is marked `django_db`, so a query would fail the test). Each rule is walked through
its raise, its clear and the edges between them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.alerts.models import AlertKind, Severity
from apps.devices.models import Device
from apps.ingest import rules
from apps.ingest.models import RuleSet
from apps.tenancy.models import Site

SCAN_ID = "0b5f8c39-5b7e-4a36-9b8e-2f0f5d5b9d11"


def _device(kind: str = "tablet", **fields) -> Device:
    return Device(public_id="dev_test", kind=kind, name="Room 101", hardware_id="hw-1",
                  site=Site(name="Lisbon Harbour"), **fields)


def _rules(**fields) -> RuleSet:
    return RuleSet(**fields)


def _heartbeat(device: Device, ruleset: RuleSet, state: dict | None = None, **heartbeat) -> rules.Decisions:
    return rules.evaluate_heartbeat(device=device, rules=ruleset, heartbeat=heartbeat,
                                    state=state if state is not None else {})


def _raised(decisions: rules.Decisions) -> dict[str, rules.Raise]:
    return {decision.kind: decision for decision in decisions.raises}


def _cleared(decisions: rules.Decisions) -> set[str]:
    return {clear.dedup_key for clear in decisions.clears}


# --- keys --------------------------------------------------------------------------------------

def test_key_is_rule_and_device_with_an_optional_suffix():
    device = _device()
    assert rules.key("battery", device) == "battery:dev_test"
    assert rules.key("underage", device, "abc") == "underage:dev_test:abc"


def test_an_empty_heartbeat_decides_nothing():
    decisions = _heartbeat(_device(), _rules(breach_enabled=True, scanner_health_enabled=True))
    assert decisions.raises == [] and decisions.clears == []


# --- battery ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("level", "severity"), [(19, Severity.WARNING), (10, Severity.WARNING),
                                                 (9, Severity.CRITICAL), (0, Severity.CRITICAL)])
def test_battery_below_warning_raises_critical_below_critical(level, severity):
    (decision,) = _heartbeat(_device(), _rules(), battery={"level": level, "charging": False}).raises
    assert decision.kind == AlertKind.BATTERY and decision.severity == severity
    assert decision.dedup_key == "battery:dev_test" and decision.details == {"battery_level": level}


@pytest.mark.parametrize("level", [20, 21, 24])
def test_battery_between_warning_and_hysteresis_neither_raises_nor_clears(level):
    decisions = _heartbeat(_device(), _rules(), battery={"level": level, "charging": False})
    assert decisions.raises == [] and decisions.clears == []


def test_battery_clears_at_warning_plus_hysteresis():
    (clear,) = _heartbeat(_device(), _rules(), battery={"level": 25, "charging": False}).clears
    assert clear.dedup_key == "battery:dev_test" and clear.resolution == "auto"
    assert clear.note == "Battery back at 25%"


def test_a_charging_battery_never_raises_and_clears_even_when_low():
    decisions = _heartbeat(_device(), _rules(), battery={"level": 5, "charging": True})
    assert decisions.raises == []
    assert [clear.note for clear in decisions.clears] == ["Battery back at 5% (charging)"]


def test_battery_without_a_level_is_not_judged():
    decisions = _heartbeat(_device(), _rules(), battery={"charging": False})
    assert decisions.raises == [] and decisions.clears == []


# --- breach -----------------------------------------------------------------------------------

def test_breach_is_judged_only_for_tablets_with_breach_enabled():
    link = {"rssi": -100, "wifi_bssid": "aa:aa:aa:aa:aa:aa"}
    desired = {"allowed_bssids": ["bb:bb:bb:bb:bb:bb"]}
    assert not _heartbeat(_device(desired_state=desired), _rules(breach_enabled=False), link=link).raises
    assert not _heartbeat(_device("scanner", desired_state=desired), _rules(breach_enabled=True), link=link).raises


def test_an_unknown_access_point_is_a_breach_at_once():
    device = _device(desired_state={"allowed_bssids": ["BB:BB:BB:BB:BB:BB"]})
    (decision,) = _heartbeat(device, _rules(breach_enabled=True),
                             link={"rssi": -40, "wifi_bssid": "aa:aa:aa:aa:aa:aa"}).raises
    assert decision.kind == AlertKind.BREACH and decision.severity == Severity.CRITICAL
    assert decision.dedup_key == "breach:dev_test"
    assert decision.details == {"reason": "bssid", "bssid": "aa:aa:aa:aa:aa:aa", "rssi": -40}


def test_a_known_access_point_matches_whatever_its_case():
    device = _device(desired_state={"allowed_bssids": ["BB:BB:BB:BB:BB:BB"]})
    assert not _heartbeat(device, _rules(breach_enabled=True),
                          link={"rssi": -40, "wifi_bssid": "bb:bb:bb:bb:bb:bb"}).raises


def test_without_allowed_access_points_the_bssid_is_not_judged():
    assert not _heartbeat(_device(desired_state={}), _rules(breach_enabled=True),
                          link={"rssi": -40, "wifi_bssid": "aa:aa:aa:aa:aa:aa"}).raises


def test_a_weak_signal_breaches_after_the_consecutive_count_and_a_good_one_resets():
    device, ruleset, state = _device(), _rules(breach_enabled=True), {}
    for streak in (1, 2):
        assert not _heartbeat(device, ruleset, state, link={"rssi": -86}).raises
        assert state["rssi_low_streak"] == streak
    (decision,) = _heartbeat(device, ruleset, state, link={"rssi": -90}).raises
    assert decision.details == {"reason": "rssi", "rssi": -90, "consecutive": 3}
    assert _heartbeat(device, ruleset, state, link={"rssi": -86}).raises  # still away: raised again (a duplicate)
    _heartbeat(device, ruleset, state, link={"rssi": -85})  # exactly the threshold is not weak
    assert state["rssi_low_streak"] == 0


def test_breach_never_clears_by_itself_and_a_missing_rssi_keeps_the_streak():
    device, ruleset, state = _device(), _rules(breach_enabled=True), {"rssi_low_streak": 2}
    decisions = _heartbeat(device, ruleset, state, link={"wifi_bssid": ""})
    assert decisions.raises == [] and decisions.clears == [] and state == {"rssi_low_streak": 2}
    assert _heartbeat(device, ruleset, state, link={"rssi": -30}).clears == []


# --- temperature ------------------------------------------------------------------------------

@pytest.mark.parametrize(("temperature", "raised", "cleared"), [
    (85.0, True, False),   # at the threshold: raised
    (90.5, True, False),
    (84.9, False, False),  # within 5 °C below it: left as it is
    (80.0, False, False),  # exactly 5 °C below: still left
    (79.9, False, True),
])
def test_temperature_raises_at_the_threshold_and_clears_5_degrees_below(temperature, raised, cleared):
    decisions = _heartbeat(_device(), _rules(), health={"temperature_c": temperature})
    assert bool(decisions.raises) is raised and bool(decisions.clears) is cleared
    if raised:
        (decision,) = decisions.raises
        assert decision.kind == AlertKind.TEMPERATURE and decision.severity == Severity.HIGH
        assert decision.dedup_key == "temperature:dev_test" and decision.details == {"temperature_c": temperature}


def test_temperature_follows_the_site_threshold():
    assert _heartbeat(_device(), _rules(cpu_temp_celsius=60.0), health={"temperature_c": 61.0}).raises


# --- scanner ----------------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["error", "disconnected"])
def test_a_failing_scanner_raises(status):
    (decision,) = _heartbeat(_device("scanner"), _rules(scanner_health_enabled=True), scanner_status=status).raises
    assert decision.kind == AlertKind.SCANNER and decision.severity == Severity.WARNING
    assert decision.dedup_key == "scanner:dev_test" and decision.details == {"scanner_status": status}


def test_a_healthy_scanner_clears_and_unknown_or_other_statuses_say_nothing():
    ruleset = _rules(scanner_health_enabled=True)
    assert _cleared(_heartbeat(_device("scanner"), ruleset, scanner_status="ok")) == {"scanner:dev_test"}
    for status in ("unknown", "", None, "busy"):
        decisions = _heartbeat(_device("scanner"), ruleset, scanner_status=status)
        assert decisions.raises == [] and decisions.clears == []


def test_scanner_health_is_judged_only_when_enabled_and_only_for_scanners():
    assert not _heartbeat(_device("scanner"), _rules(scanner_health_enabled=False), scanner_status="error").raises
    assert not _heartbeat(_device("tablet"), _rules(scanner_health_enabled=True), scanner_status="error").raises


# --- backlog ----------------------------------------------------------------------------------

def test_an_old_backlog_raises_past_the_setting(settings):
    settings.TOCSIN_BACKLOG_ALERT_SECONDS = 600
    (decision,) = _heartbeat(_device(), _rules(), outbox={"size": 7, "oldest_age_s": 601, "parked": 1}).raises
    assert decision.kind == AlertKind.BACKLOG and decision.severity == Severity.WARNING
    assert decision.dedup_key == "backlog:dev_test"
    assert decision.details == {"outbox_size": 7, "oldest_age_s": 601, "parked": 1, "threshold_s": 600}


@pytest.mark.parametrize("outbox", [{"size": 7, "oldest_age_s": 600}, {"size": 0, "oldest_age_s": 9000},
                                    {"oldest_age_s": 9000}])
def test_a_young_or_empty_backlog_clears(settings, outbox):
    settings.TOCSIN_BACKLOG_ALERT_SECONDS = 600
    decisions = _heartbeat(_device(), _rules(), outbox=outbox)
    assert decisions.raises == [] and _cleared(decisions) == {"backlog:dev_test"}


def test_a_backlog_without_an_age_is_not_judged():
    decisions = _heartbeat(_device(), _rules(), outbox={"size": 50})
    assert decisions.raises == [] and decisions.clears == []


def test_every_rule_of_one_heartbeat_decides_at_once():
    device = _device(desired_state={"allowed_bssids": ["bb:bb:bb:bb:bb:bb"]})
    decisions = _heartbeat(device, _rules(breach_enabled=True), battery={"level": 3, "charging": False},
                           link={"rssi": -40, "wifi_bssid": "aa:aa:aa:aa:aa:aa"}, health={"temperature_c": 95})
    assert set(_raised(decisions)) == {AlertKind.BATTERY, AlertKind.BREACH, AlertKind.TEMPERATURE}


# --- scans ------------------------------------------------------------------------------------

def _scan(age: int = 30, **overrides) -> dict:
    return {"scan_id": SCAN_ID, "age": age, "is_valid": True, "document_expired": False, "jurisdiction": "US-TX",
            **overrides}


def test_underage_is_judged_by_the_site_threshold_not_the_device_flag():
    ruleset = _rules(underage_age=21)
    (decision,) = rules.evaluate_scan(device=_device("scanner"), rules=ruleset,
                                      scan=_scan(20, is_underage=False)).raises
    assert decision.kind == AlertKind.UNDERAGE and decision.severity == Severity.CRITICAL
    assert decision.dedup_key == f"underage:dev_test:{SCAN_ID}"
    assert decision.details == {"scan_id": SCAN_ID, "age": 20, "threshold": 21, "jurisdiction": "US-TX"}
    assert "Lisbon Harbour" in decision.summary
    assert not rules.evaluate_scan(device=_device("scanner"), rules=ruleset, scan=_scan(21, is_underage=True)).raises


@pytest.mark.parametrize(("overrides", "reason"), [({"is_valid": False}, "invalid"),
                                                   ({"document_expired": True}, "expired"),
                                                   ({"is_valid": False, "document_expired": True}, "expired")])
def test_an_invalid_or_expired_document_warns(overrides, reason):
    (decision,) = rules.evaluate_scan(device=_device("scanner"), rules=_rules(), scan=_scan(**overrides)).raises
    assert decision.kind == AlertKind.DOCUMENT and decision.severity == Severity.WARNING
    assert decision.dedup_key == f"document:dev_test:{SCAN_ID}"
    assert decision.details == {"scan_id": SCAN_ID, "reason": reason}


def test_document_warnings_can_be_turned_off_and_scans_never_clear():
    decisions = rules.evaluate_scan(device=_device("scanner"), rules=_rules(document_alerts_enabled=False),
                                    scan=_scan(is_valid=False))
    assert decisions.raises == [] and decisions.clears == []


def test_an_underage_customer_with_an_expired_document_raises_both():
    decisions = rules.evaluate_scan(device=_device("scanner"), rules=_rules(underage_age=18),
                                    scan=_scan(16, document_expired=True))
    assert set(_raised(decisions)) == {AlertKind.UNDERAGE, AlertKind.DOCUMENT}


# --- document reuse ---------------------------------------------------------------------------

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HASH = "f" * 64


def _seen(site: str, minutes: float, underage: bool = False) -> rules.Sighting:
    return rules.Sighting(site_id=1, site_public_id=site, scanned_at=T0 + timedelta(minutes=minutes),
                          is_underage=underage)


def _reuse(sightings, window_seconds: int = 3600, repeats_after_refusal: int = 2):
    return rules.evaluate_document_reuse(subject_hash=HASH, sightings=sightings, window_seconds=window_seconds,
                                         repeats_after_refusal=repeats_after_refusal)


def test_no_sightings_and_one_site_without_refusal_are_no_reuse():
    assert _reuse([]) is None
    assert _reuse([_seen("sit_a", 0), _seen("sit_a", 5), _seen("sit_a", 10)]) is None


def test_one_document_at_two_sites_within_the_window_is_reuse():
    found = _reuse([_seen("sit_b", 30), _seen("sit_a", 0)])
    assert found.kind == AlertKind.DOCUMENT_REUSE and found.severity == Severity.HIGH
    assert found.dedup_key == f"document_reuse:{HASH[:12]}"
    assert found.details == {"hash_prefix": HASH[:12], "reason": "several_sites", "sites": ["sit_a", "sit_b"],
                             "scans": 2}
    assert HASH not in found.summary and HASH[:12] in found.summary


def test_the_window_ends_at_the_newest_sighting_and_includes_its_edge():
    assert _reuse([_seen("sit_a", 0), _seen("sit_b", 60)]) is not None  # exactly the window apart
    assert _reuse([_seen("sit_a", 0), _seen("sit_b", 60.5)]) is None
    assert _reuse([_seen("sit_b", 60.5), _seen("sit_a", 0)]) is None  # order of the sightings does not matter


def test_repeats_after_an_underage_refusal_are_reuse_from_the_set_count():
    refused = _seen("sit_a", 0, underage=True)
    assert _reuse([refused, _seen("sit_a", 1)]) is None
    found = _reuse([refused, _seen("sit_a", 1), _seen("sit_a", 2)])
    assert found.details["reason"] == "after_underage" and found.details["scans"] == 3
    later_refusal = [_seen("sit_a", 0), _seen("sit_a", 1, underage=True), _seen("sit_a", 2)]
    assert _reuse(later_refusal, repeats_after_refusal=1) is not None


def test_scans_before_the_refusal_do_not_count_as_repeats():
    sightings = [_seen("sit_a", 0), _seen("sit_a", 1), _seen("sit_a", 2, underage=True)]
    assert _reuse(sightings) is None


def test_several_sites_wins_over_a_refusal():
    found = _reuse([_seen("sit_a", 0, underage=True), _seen("sit_b", 1), _seen("sit_a", 2)])
    assert found.details["reason"] == "several_sites"
