"""Analytics: scans bucketed in each site's timezone, rates and age bands, device health."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.services import Actor
from apps.devices.api_keys import api_key_create
from apps.ingest.models import HealthSample, RuleSet, Scan, age_band
from tests.factories import DeviceFactory, SiteFactory

pytestmark = pytest.mark.django_db

SCANS = "/api/v1/analytics/scans/"
DEVICES = "/api/v1/analytics/devices/"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _scans(device, *specs) -> None:
    """specs: (scanned_at, age, is_valid, document_expired). The device flags under-18s only,
    as a scanner set up for tobacco would; the site's rules say 21."""
    Scan.objects.bulk_create([
        Scan(tenant=device.tenant, device=device, site=device.site, scan_id=uuid.uuid4(), scanned_at=at,
             birth_year=at.year - age, age=age, age_band=age_band(age), is_underage=age < 18, is_valid=valid,
             document_expired=expired)
        for at, age, valid, expired in specs
    ])


def _site_rows(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {row["location_id"]: row for row in response.json()["sites"]}


def _buckets(row) -> list[tuple[str, int]]:
    return [(bucket["start"], bucket["scans"]) for bucket in row["buckets"]]


def test_days_are_cut_in_each_sites_timezone(world_a, client_for):
    lisbon = DeviceFactory(site=SiteFactory(tenant=world_a.tenant, location_id="LIS", timezone="Europe/Lisbon",
                                            kind="store"), kind="scanner")
    chicago = DeviceFactory(site=SiteFactory(tenant=world_a.tenant, location_id="CHI",
                                             timezone="America/Chicago", kind="store"), kind="scanner")
    _scans(lisbon, (_at("2025-07-14T23:30:00Z"), 30, True, False))  # 00:30 on the 15th in Lisbon (UTC+1)
    _scans(chicago, (_at("2025-07-15T03:30:00Z"), 30, True, False))  # 22:30 on the 14th in Chicago (UTC-5)

    rows = _site_rows(client_for(world_a.viewer).get(
        SCANS, {"since": "2025-07-14T00:00:00Z", "until": "2025-07-16T00:00:00Z"}))
    assert _buckets(rows["LIS"]) == [("2025-07-14T00:00:00+01:00", 0), ("2025-07-15T00:00:00+01:00", 1),
                                     ("2025-07-16T00:00:00+01:00", 0)]
    assert _buckets(rows["CHI"]) == [("2025-07-13T00:00:00-05:00", 0), ("2025-07-14T00:00:00-05:00", 1),
                                     ("2025-07-15T00:00:00-05:00", 0)]
    assert rows["LIS"]["timezone"] == "Europe/Lisbon" and rows["CHI"]["totals"]["scans"] == 1
    assert rows[world_a.site.location_id]["totals"]["scans"] == 0  # a quiet site is listed, with zeros


def test_hours_keep_the_repeated_hour_apart_and_follow_half_hour_zones(world_a, client_for):
    lisbon = DeviceFactory(site=SiteFactory(tenant=world_a.tenant, location_id="LIS", timezone="Europe/Lisbon"))
    kolkata = DeviceFactory(site=SiteFactory(tenant=world_a.tenant, location_id="KOL", timezone="Asia/Kolkata"))
    # Lisbon goes back from 02:00 (+01:00) to 01:00 (+00:00) on 2025-10-26: 01:30 happens twice.
    _scans(lisbon, (_at("2025-10-26T00:30:00Z"), 30, True, False), (_at("2025-10-26T01:30:00Z"), 30, True, False))
    _scans(kolkata, (_at("2025-10-26T01:15:00Z"), 30, True, False))  # 06:45 in Kolkata (UTC+05:30)

    rows = _site_rows(client_for(world_a.viewer).get(
        SCANS, {"since": "2025-10-26T00:00:00Z", "until": "2025-10-26T02:00:00Z", "bucket": "hour"}))
    assert _buckets(rows["LIS"]) == [("2025-10-26T01:00:00+01:00", 1), ("2025-10-26T01:00:00+00:00", 1)]
    assert _buckets(rows["KOL"]) == [("2025-10-26T05:00:00+05:30", 0), ("2025-10-26T06:00:00+05:30", 1),
                                     ("2025-10-26T07:00:00+05:30", 0)]


def test_rates_and_age_bands_count_only_the_period_and_the_tenant(world_a, world_b, client_for):
    device = DeviceFactory(site=world_a.site, kind="scanner")
    noon = _at("2025-07-10T12:00:00Z")
    _scans(device, (noon, 17, True, False), (noon, 19, True, True), (noon, 30, False, False), (noon, 70, True, False),
           (noon - timedelta(days=20), 16, True, False))  # before the period
    _scans(DeviceFactory(site=world_b.site, kind="scanner"), (noon, 15, False, True))

    response = client_for(world_a.viewer).get(SCANS, {"since": "2025-07-09T00:00:00Z",
                                                      "until": "2025-07-11T00:00:00Z"})
    row = _site_rows(response)[world_a.site.location_id]
    assert list(_site_rows(response)) == [world_a.site.location_id]
    # 17 and 19 are both under the site's 21: the rate follows the site's rule, not the device's flag.
    assert row["totals"] == {"scans": 4, "underage": 2, "invalid": 1, "expired": 1, "underage_rate": 0.5,
                             "invalid_rate": 0.25, "expired_rate": 0.25}
    assert row["age_bands"] == {"<18": 1, "18-20": 1, "21-25": 0, "26-40": 1, "41-64": 0, "65+": 1}
    assert [b for b in row["buckets"] if b["scans"]] == [
        {"start": "2025-07-10T00:00:00+01:00", "scans": 4, "underage": 2, "invalid": 1, "expired": 1}]
    assert response.json()["bucket"] == "day"


def test_defaults_and_the_site_filter(world_a, world_b, client_for):
    other = SiteFactory(tenant=world_a.tenant, location_id="OTHER")
    client = client_for(world_a.viewer)
    body = client.get(SCANS).json()
    since, until = datetime.fromisoformat(body["since"]), datetime.fromisoformat(body["until"])
    assert until - since == timedelta(days=7) and abs(timezone.now() - until) < timedelta(minutes=1)
    assert {row["location_id"] for row in body["sites"]} == {world_a.site.location_id, "OTHER"}
    assert all(row["totals"]["underage_rate"] is None for row in body["sites"])  # no scans: no rate

    only = client.get(SCANS, {"site": other.public_id}).json()["sites"]
    assert [row["site"] for row in only] == [other.public_id]
    for path in (SCANS, DEVICES):
        foreign = client.get(path, {"site": world_b.site.public_id})
        assert foreign.status_code == 404 and world_b.site.name.encode() not in foreign.content


@pytest.mark.parametrize("params, field", [
    ({"bucket": "week"}, "bucket"),
    ({"since": "last tuesday"}, "since"),
    ({"since": "2025-07-01T00:00:00"}, "since"),  # no offset: which zone?
    ({"since": "2025-07-02T00:00:00Z", "until": "2025-07-01T00:00:00Z"}, "until"),
    ({"since": "2025-01-01T00:00:00Z", "until": "2025-04-04T00:00:00Z"}, "until"),  # 93 days
    ({"since": "2000-01-01T00:00:00Z"}, "until"),  # until defaults to now
    ({"site": "../etc"}, "site"),
    ({"since": "2025-07-01T00:00:00+99:00"}, "since"),
    ({"since": "0001-01-01T00:00:00Z", "until": "0001-01-02T00:00:00Z"}, "since"),
    ({"since": "9999-12-30T00:00:00Z", "until": "9999-12-31T23:59:59Z"}, "until"),
])
def test_bad_parameters_are_400s(world_a, client_for, params, field):
    response = client_for(world_a.viewer).get(SCANS, params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_92_day_hourly_span_is_allowed(world_a, client_for):
    response = client_for(world_a.viewer).get(SCANS, {"since": "2025-01-01T00:00:00Z",
                                                      "until": "2025-04-03T00:00:00Z", "bucket": "hour"})
    assert response.status_code == 200
    assert len(response.json()["sites"][0]["buckets"]) == 92 * 24


def test_device_counts_battery_and_health_per_site(world_a, world_b, client_for):
    now = timezone.now()
    RuleSet.objects.create(tenant=world_a.tenant, site=world_a.site, heartbeat_interval_seconds=60,
                           offline_after_missed=3, battery_warning_percent=20)
    online = DeviceFactory(site=world_a.site, last_seen_at=now, battery_level=80)
    busy = DeviceFactory(site=world_a.site, last_seen_at=now - timedelta(seconds=100), battery_level=50)
    silent = DeviceFactory(site=world_a.site, last_seen_at=now - timedelta(minutes=10), battery_level=15)
    DeviceFactory(site=world_a.site, last_seen_at=now, battery_level=60,
                  rule_state={"rules": {"offline": True}})  # flagged by the sweep
    DeviceFactory(site=world_a.site, last_seen_at=None)
    revoked = DeviceFactory(site=world_a.site, status="revoked", last_seen_at=now, battery_level=1)
    DeviceFactory(site=world_b.site, last_seen_at=now, battery_level=5)

    def sample(device, ago, cpu, temperature, used, total=1024.0):
        HealthSample.objects.create(tenant=device.tenant, device=device, sent_at=now - ago, cpu_percent=cpu,
                                    temperature_c=temperature, memory_used_mb=used, memory_total_mb=total)

    sample(online, timedelta(hours=2), 95.0, 80.0, 1000.0)  # superseded by the newer one
    sample(online, timedelta(minutes=1), 10.0, 40.0, 512.0)
    sample(busy, timedelta(minutes=2), 30.0, 60.0, 256.0)
    sample(silent, timedelta(hours=30), 99.0, 90.0, 1000.0)  # outside the 24 h window
    sample(revoked, timedelta(minutes=1), 99.0, 99.0, 1000.0)  # revoked devices don't count

    rows = _site_rows(client_for(world_a.viewer).get(DEVICES))
    row = rows[world_a.site.location_id]
    assert row["devices"] == {"total": 6, "online": 2, "offline": 2, "never_seen": 1, "revoked": 1}
    assert row["battery"] == {"avg": 51.2, "min": 15, "low": 1}
    assert row["health"] == {"avg_cpu_percent": 20.0, "max_temperature_c": 60.0, "avg_memory_used_pct": 37.5}
    assert list(rows) == [world_a.site.location_id]

    empty = SiteFactory(tenant=world_a.tenant, location_id="EMPTY")
    quiet = _site_rows(client_for(world_a.viewer).get(DEVICES, {"site": empty.public_id}))["EMPTY"]
    assert quiet["devices"] == {"total": 0, "online": 0, "offline": 0, "never_seen": 0, "revoked": 0}
    assert quiet["battery"] == {"avg": None, "min": None, "low": 0}
    assert quiet["health"] == {"avg_cpu_percent": None, "max_temperature_c": None, "avg_memory_used_pct": None}


def test_who_may_read_analytics(world_a, client_for):
    for role in ("owner", "admin", "staff", "viewer"):
        for path in (SCANS, DEVICES):
            assert client_for(getattr(world_a, role)).get(path).status_code == 200, (role, path)
    for scopes, expected in ((["read"], 200), (["write_events"], 403)):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=api_key_create(tenant=world_a.tenant, name="bi", scopes=scopes,
                                                         actor=Actor.system("t")).key)
        for path in (SCANS, DEVICES):
            assert client.get(path).status_code == expected, (scopes, path)
    assert APIClient().get(SCANS).status_code == 401
