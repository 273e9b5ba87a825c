"""Each rule raises and resolves as described, through the device API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts.models import Alert
from apps.ingest.models import HealthSample, RuleSet
from apps.ingest.services.rulesets import ruleset_defaults_create
from apps.ingest.services.sweeps import offline_sweep
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


def _at(seconds_ago: float = 0) -> str:
    return (timezone.now() - timedelta(seconds=seconds_ago)).isoformat()


def _beat(client, seconds_ago: float = 0, **parts):
    response = client.post("/api/v1/heartbeats/", {"sent_at": _at(seconds_ago), **parts}, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def _open(kind: str):
    return list(Alert.objects.filter(kind=kind, status__in=["triggered", "acknowledged"]))


@pytest.fixture
def hotel(world_a):
    return world_a.site  # hotel sites have breach detection on by default


def test_battery_warning_critical_and_hysteresis(hotel, device_client):
    _, client = device_client(hotel, kind="tablet")
    _beat(client, 50, battery={"level": 19, "charging": False})
    (alert,) = _open("battery")
    assert alert.severity == "warning"
    _beat(client, 40, battery={"level": 8, "charging": False})
    alert.refresh_from_db()
    assert alert.severity == "critical" and alert.count == 2
    _beat(client, 30, battery={"level": 22, "charging": False})  # above 20 but inside the 5 % hysteresis
    assert _open("battery")
    _beat(client, 20, battery={"level": 26, "charging": False})
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolution == "auto"


def test_no_battery_alert_while_charging(hotel, device_client):
    _, client = device_client(hotel)
    _beat(client, battery={"level": 5, "charging": True})
    assert not _open("battery")


def test_breach_after_consecutive_weak_signal(hotel, device_client):
    _, client = device_client(hotel, kind="tablet")
    _beat(client, 50, link={"rssi": -90})
    _beat(client, 40, link={"rssi": -91})
    assert not _open("breach")
    _beat(client, 30, link={"rssi": -92})
    (alert,) = _open("breach")
    assert alert.severity == "critical" and alert.details["consecutive"] == 3


def test_a_good_reading_resets_the_streak(hotel, device_client):
    _, client = device_client(hotel, kind="tablet")
    for offset, rssi in ((50, -90), (40, -91), (30, -60), (20, -90), (10, -90)):
        _beat(client, offset, link={"rssi": rssi})
    assert not _open("breach")


def test_breach_on_unknown_access_point(hotel, device_client):
    _, client = device_client(hotel, kind="tablet", desired_state={"allowed_bssids": ["aa:bb:cc:dd:ee:01"]})
    _beat(client, 20, link={"wifi_bssid": "AA:BB:CC:DD:EE:01", "rssi": -50})
    assert not _open("breach")
    _beat(client, 10, link={"wifi_bssid": "aa:bb:cc:dd:ee:99", "rssi": -50})
    assert _open("breach")[0].details["reason"] == "bssid"


def test_cpu_temperature_raises_and_clears(hotel, device_client):
    _, client = device_client(hotel)
    _beat(client, 20, health={"temperature_c": 88.5})
    assert _open("temperature")
    _beat(client, 10, health={"temperature_c": 60})
    assert not _open("temperature")


def test_scanner_unhealthy_on_store_scanners(world_a, device_client):
    store = SiteFactory(tenant=world_a.tenant, kind="store")
    _, client = device_client(store, kind="scanner")
    _beat(client, 20, scanner_status="disconnected")
    assert _open("scanner")
    _beat(client, 10, scanner_status="ok")
    assert not _open("scanner")


def test_out_of_order_heartbeats_do_not_flip_state(hotel, device_client):
    device, client = device_client(hotel)
    assert _beat(client, 10, battery={"level": 50, "charging": False})["applied"] is True
    late = _beat(client, 60, battery={"level": 5, "charging": False})
    assert late["applied"] is False
    device.refresh_from_db()
    assert device.battery_level == 50
    assert not _open("battery")
    assert HealthSample.objects.filter(device=device).count() == 2  # history keeps both


def test_offline_sweep_raises_and_heartbeat_restores(hotel, device_client):
    device, client = device_client(hotel)
    _beat(client)
    ruleset_defaults_create(site=hotel)  # a factory's site has no rule set of its own yet
    RuleSet.objects.filter(site=hotel).update(heartbeat_interval_seconds=10, offline_after_missed=3)
    from apps.ingest.site_rules import forget_site_rules

    forget_site_rules(hotel.pk)
    type(device).objects.filter(pk=device.pk).update(last_seen_at=timezone.now() - timedelta(seconds=31))
    assert offline_sweep() == 1
    assert offline_sweep() == 0  # flagged once, not again
    (alert,) = _open("offline")
    assert alert.device == device
    _beat(client)
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolution == "restored"


def test_quiet_devices_within_the_window_stay_online(hotel, device_client):
    device, client = device_client(hotel)
    _beat(client)
    assert offline_sweep() == 0


def test_devices_me_carries_the_site_rules(hotel, device_client):
    RuleSet.objects.create(tenant=hotel.tenant, site=hotel, underage_age=18, heartbeat_interval_seconds=30)
    _, client = device_client(hotel)
    config = client.get("/api/v1/devices/me/").json()["config"]
    assert config["underage_age"] == 18 and config["heartbeat_interval_seconds"] == 30


def test_an_old_backlog_raises_the_backlog_alert_and_a_young_one_clears_it(world_a, device_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from apps.alerts.models import Alert

    assert settings.TOCSIN_BACKLOG_ALERT_SECONDS == 3600  # the production default
    device, client = device_client(world_a.site, kind="scanner")

    def beat(seconds_ago, **outbox):
        sent = (timezone.now() - timedelta(seconds=seconds_ago)).isoformat()
        return client.post("/api/v1/heartbeats/", {"sent_at": sent, "outbox": outbox}, format="json")

    assert beat(30, size=3000, oldest_age_s=3500, parked=0).status_code == 202
    assert not Alert.objects.filter(kind="backlog").exists()  # under an hour: nothing yet
    beat(20, size=3000, oldest_age_s=3700, parked=2)
    alert = Alert.objects.get(kind="backlog", device=device)
    assert alert.status == "triggered" and alert.dedup_key == f"backlog:{device.public_id}"
    assert alert.details == {"outbox_size": 3000, "oldest_age_s": 3700, "parked": 2, "threshold_s": 3600}
    device.refresh_from_db()
    assert (device.outbox_size, device.outbox_oldest_age_s, device.outbox_parked) == (3000, 3700, 2)
    beat(10, size=12, oldest_age_s=30, parked=2)
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert client.post("/api/v1/heartbeats/", {"sent_at": timezone.now().isoformat(), "outbox": {"size": -1}},
                       format="json").status_code == 400
