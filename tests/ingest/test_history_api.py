"""The history API: buckets in the site's timezone, against rows this test inserts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from apps.ingest.models import HealthSample
from apps.ingest.services.telemetry import telemetry_ingest
from tests.factories import DeviceFactory, SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant(world_a):
    return SiteFactory(tenant=world_a.tenant, kind="plant", timezone="America/New_York")


@pytest.fixture
def gateway(plant):
    return DeviceFactory(site=plant, kind="gateway")


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def store(device, readings) -> None:
    telemetry_ingest(device=device, rejected=[], readings=[
        {"message_id": uuid.uuid4(), "ts": ts, "inverter": inverter, "metric": metric, "value": value, "unit": "W"}
        for ts, inverter, metric, value in readings])


def url(device, kind="telemetry") -> str:
    return f"/api/v1/devices/{device.public_id}/{kind}/"


def test_day_buckets_are_local_calendar_days_across_the_spring_change(world_a, gateway, client_for):
    store(gateway, [
        (utc(2026, 3, 8, 4, 30), "", "power_ac", 10.0),   # 7 March 23:30 EST: still the 7th locally
        (utc(2026, 3, 8, 5, 30), "", "power_ac", 20.0),   # 8 March 00:30 EST
        (utc(2026, 3, 9, 3, 30), "", "power_ac", 40.0),   # 8 March 23:30 EDT (the clocks went forward)
        (utc(2026, 3, 9, 4, 10), "", "power_ac", 70.0),   # 9 March 00:10 EDT
    ])
    response = client_for(world_a.viewer, world_a.tenant).get(url(gateway), {
        "metric": "power_ac", "bucket": "1d", "since": "2026-03-07T00:00:00-05:00",
        "until": "2026-03-10T00:00:00-04:00"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["timezone"] == "America/New_York" and body["bucket"] == "1d"
    [series] = body["series"]
    assert series["name"] == "power_ac" and series["unit"] == "W"
    assert [(p["start"], p["avg"], p["min"], p["max"], p["count"]) for p in series["points"]] == [
        ("2026-03-07T00:00:00-05:00", 10.0, 10.0, 10.0, 1),
        ("2026-03-08T00:00:00-05:00", 30.0, 20.0, 40.0, 2),
        ("2026-03-09T00:00:00-04:00", 70.0, 70.0, 70.0, 1),
    ]


def test_hour_buckets_keep_the_repeated_hour_apart_when_clocks_fall_back(world_a, gateway, client_for):
    store(gateway, [(utc(2026, 11, 1, 5, 10), "", "power_ac", 1.0),   # 01:10 EDT
                    (utc(2026, 11, 1, 5, 50), "", "power_ac", 3.0),   # 01:50 EDT
                    (utc(2026, 11, 1, 6, 10), "", "power_ac", 5.0)])  # 01:10 EST, an hour later
    body = client_for(world_a.staff, world_a.tenant).get(url(gateway), {
        "bucket": "1h", "since": "2026-11-01T00:00:00-04:00", "until": "2026-11-01T04:00:00-05:00"}).json()
    assert [(p["start"], p["avg"], p["count"]) for p in body["series"][0]["points"]] == [
        ("2026-11-01T01:00:00-04:00", 2.0, 2), ("2026-11-01T01:00:00-05:00", 5.0, 1)]


def test_filter_by_inverter_of_a_gateway(world_a, gateway, client_for):
    at = utc(2026, 6, 1, 17, 0)
    store(gateway, [(at, "inv-1", "power_ac", 900.0), (at, "inv-2", "power_ac", 500.0),
                    (at, "inv-2", "voltage_dc", 600.0), (at, "", "cpu_temp", 50.0)])
    client = client_for(world_a.admin, world_a.tenant)
    window = {"since": "2026-06-01T00:00:00Z", "until": "2026-06-02T00:00:00Z", "bucket": "1h"}
    everything = client.get(url(gateway), window).json()["series"]
    assert {(s["name"], s["inverter"]) for s in everything} == {
        ("power_ac", "inv-1"), ("power_ac", "inv-2"), ("voltage_dc", "inv-2"), ("cpu_temp", "")}
    one = client.get(url(gateway), {**window, "metric": "power_ac", "inverter": "inv-2"}).json()["series"]
    assert [(s["inverter"], s["points"][0]["avg"], s["points"][0]["start"]) for s in one] == [
        ("inv-2", 500.0, "2026-06-01T13:00:00-04:00")]
    own = client.get(url(gateway), {**window, "inverter": ""}).json()["series"]
    assert [s["name"] for s in own] == ["cpu_temp"]


def test_health_history_in_buckets(world_a, plant, client_for):
    tablet = DeviceFactory(site=plant)
    for minute, battery, rssi in ((0, 80, -60), (20, 70, -70), (70, 50, None)):
        HealthSample.objects.create(tenant=world_a.tenant, device=tablet, battery_level=battery, rssi=rssi,
                                    sent_at=utc(2026, 6, 1, 12) + timedelta(minutes=minute))
    body = client_for(world_a.viewer, world_a.tenant).get(url(tablet, "health"), {
        "fields": "battery_level,rssi", "bucket": "1h", "since": "2026-06-01T12:00:00Z",
        "until": "2026-06-01T14:00:00Z"}).json()
    series = {s["name"]: s for s in body["series"]}
    assert [(p["start"], p["avg"], p["min"], p["max"]) for p in series["battery_level"]["points"]] == [
        ("2026-06-01T08:00:00-04:00", 75.0, 70.0, 80.0), ("2026-06-01T09:00:00-04:00", 50.0, 50.0, 50.0)]
    assert [p["count"] for p in series["rssi"]["points"]] == [2]  # the second hour has no RSSI
    assert series["rssi"]["unit"] == "dBm"


@pytest.mark.parametrize(("params", "field"), [
    ({"bucket": "3m"}, "bucket"),
    ({"since": "2026-06-02T00:00:00Z", "until": "2026-06-01T00:00:00Z"}, "since"),
    ({"since": "2024-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
    ({"since": "2026-06-01T00:00:00Z", "until": "2026-06-03T00:00:00Z", "bucket": "1m"}, "bucket"),
    ({"since": "yesterday"}, "since"),
    ({"until": "0001-01-01T00:00:00Z"}, "until"),
    ({"metric": "power ac; drop"}, "metric"),
])
def test_bad_parameters_answer_400_naming_them(world_a, gateway, client_for, params, field):
    response = client_for(world_a.staff, world_a.tenant).get(url(gateway), params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_unknown_health_field_is_400(world_a, gateway, client_for):
    response = client_for(world_a.staff, world_a.tenant).get(url(gateway, "health"), {"fields": "password"})
    assert response.status_code == 400 and "fields" in response.json()["error"]["fields"]


def test_every_role_reads_and_another_tenant_gets_404(world_a, world_b, gateway, client_for):
    for user in (world_a.owner, world_a.admin, world_a.staff, world_a.viewer):
        for kind in ("telemetry", "health"):
            assert client_for(user, world_a.tenant).get(url(gateway, kind)).status_code == 200
    for kind in ("telemetry", "health"):
        assert client_for(world_b.admin, world_b.tenant).get(url(gateway, kind)).status_code == 404
    assert client_for(world_a.admin, world_a.tenant).get("/api/v1/devices/dev_nope/telemetry/").status_code == 404
