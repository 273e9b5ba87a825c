"""Plant rules: windows (daylight, business hours), several thresholds per metric, the
sibling rule and the EWMA anomaly rule, through the real ingest service and PostgreSQL."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.alerts.models import Alert
from apps.ingest.baselines import Observation, fold_and_judge
from apps.ingest.models import AnomalyRule, SiblingRule, TelemetryBaseline, TelemetryThreshold
from apps.ingest.services.telemetry import telemetry_ingest
from apps.ingest.site_rules import forget_site_rules
from tests.factories import DeviceFactory, SiteFactory

pytestmark = pytest.mark.django_db

LISBON = ZoneInfo("Europe/Lisbon")


@pytest.fixture
def plant(world_a):
    # Lisbon: on 21 June 2026 the sun rises about 06:12 and sets about 21:05 local time.
    return SiteFactory(tenant=world_a.tenant, kind="plant", timezone="Europe/Lisbon", latitude=38.72,
                       longitude=-9.14)


@pytest.fixture
def gateway(plant):
    return DeviceFactory(site=plant, kind="gateway")


def local(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LISBON)


def ingest(device, readings: list[tuple[datetime, str, str, float]]) -> None:
    telemetry_ingest(device=device, rejected=[], readings=[
        {"message_id": uuid.uuid4(), "ts": ts, "inverter": inverter, "metric": metric, "value": value, "unit": "W"}
        for ts, inverter, metric, value in readings])


def rule(model, site, **fields):
    created = model.objects.create(tenant=site.tenant, site=site, **fields)
    forget_site_rules(site.pk)
    return created


def test_low_output_at_night_raises_nothing_and_in_daylight_it_does(plant, gateway):
    rule(TelemetryThreshold, plant, metric="power_ac", operator="lt", value=100.0, window="daylight",
         severity="warning")
    ingest(gateway, [(local(21, 2), "inv-1", "power_ac", 0.0), (local(21, 5, 50), "inv-1", "power_ac", 3.0),
                     (local(21, 21, 30), "inv-1", "power_ac", 0.0)])
    assert not Alert.objects.exists()

    ingest(gateway, [(local(21, 13), "inv-1", "power_ac", 20.0)])
    alert = Alert.objects.get()
    assert alert.details["inverter"] == "inv-1" and alert.severity == "warning"
    # Back to night: a zero reading neither raises anew nor clears what daylight found.
    ingest(gateway, [(local(21, 23), "inv-1", "power_ac", 0.0)])
    alert.refresh_from_db()
    assert alert.status == "triggered" and alert.count == 1


def test_a_site_without_coordinates_judges_every_reading(world_a):
    site = SiteFactory(tenant=world_a.tenant, kind="plant", timezone="Europe/Lisbon")
    device = DeviceFactory(site=site, kind="gateway")
    rule(TelemetryThreshold, site, metric="power_ac", operator="lt", value=100.0, window="daylight")
    ingest(device, [(local(21, 2), "inv-1", "power_ac", 0.0)])
    assert Alert.objects.count() == 1


def test_business_hours_window(world_a):
    hours = {str(day): [["08:00", "18:00"]] for day in range(1, 6)}
    site = SiteFactory(tenant=world_a.tenant, kind="plant", timezone="Europe/Lisbon", business_hours=hours)
    device = DeviceFactory(site=site, kind="gateway")
    rule(TelemetryThreshold, site, metric="cabinet_temp", operator="gt", value=60.0, window="business_hours")
    ingest(device, [(local(20, 12), "", "cabinet_temp", 90.0),  # a Saturday
                    (local(22, 7, 59), "", "cabinet_temp", 90.0)])  # Monday, before opening
    assert not Alert.objects.exists()
    ingest(device, [(local(22, 8, 0), "", "cabinet_temp", 90.0)])
    assert Alert.objects.count() == 1


def test_several_thresholds_per_metric_each_raise_and_clear_on_their_own(plant, gateway):
    warning = rule(TelemetryThreshold, plant, metric="cabinet_temp", operator="gt", value=60.0, severity="warning")
    critical = rule(TelemetryThreshold, plant, metric="cabinet_temp", operator="gt", value=75.0, severity="critical")
    ingest(gateway, [(local(21, 12), "inv-3", "cabinet_temp", 80.0)])
    alerts = {a.severity: a for a in Alert.objects.all()}
    assert set(alerts) == {"warning", "critical"}
    assert str(warning.pk) in alerts["warning"].dedup_key and str(critical.pk) in alerts["critical"].dedup_key

    ingest(gateway, [(local(21, 12, 1), "inv-3", "cabinet_temp", 65.0)])
    statuses = dict(Alert.objects.values_list("severity", "status"))
    assert statuses == {"warning": "triggered", "critical": "resolved"}


def _plant_minute(gateway, minute: int, laggard: float, hour: int = 13) -> None:
    ts = local(21, hour) + timedelta(minutes=minute)
    ingest(gateway, [(ts, f"inv-{n}", "power_ac", 1000.0 + n) for n in range(1, 5)]
           + [(ts, "inv-5", "power_ac", laggard)])


def test_an_inverter_40_percent_below_its_siblings_for_the_sustained_time_raises(plant, gateway):
    rule(SiblingRule, plant, metric="power_ac", percent_below=35.0, sustained_seconds=900, min_siblings=3)
    for minute in range(15):  # 0 .. 14 minutes below: not yet sustained for 900 s
        _plant_minute(gateway, minute, laggard=601.0)  # 40 % below the median of 1002.5
    assert not Alert.objects.exists()
    _plant_minute(gateway, 15, laggard=601.0)
    alert = Alert.objects.get()
    assert alert.details["rule"] == "sibling" and alert.details["inverter"] == "inv-5"
    assert alert.details["median"] == pytest.approx(1002.5) and alert.dedup_key.startswith("sibling:")
    assert "40 % below" in alert.summary

    _plant_minute(gateway, 16, laggard=990.0)
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_the_sibling_rule_is_quiet_at_night_and_when_siblings_are_few(plant, gateway):
    rule(SiblingRule, plant, metric="power_ac", percent_below=35.0, sustained_seconds=0, min_siblings=3)
    for minute in range(3):
        _plant_minute(gateway, minute, laggard=0.0, hour=23)  # outside daylight
    ingest(gateway, [(local(21, 14), "inv-1", "power_ac", 1000.0), (local(21, 14), "inv-2", "power_ac", 100.0)])
    assert not Alert.objects.exists()


def test_anomaly_rule_raises_exactly_where_the_seeded_series_dips(plant, gateway):
    rule(AnomalyRule, plant, metric="power_ac", inverter="", z_threshold=4.0, alpha=0.1, min_samples=20)
    series = random.Random(20261201)
    dip_day = 50
    start = local(1, 13, month=4)
    raised_on = []
    for day in range(60):
        noon = start + timedelta(days=day)
        value = 400.0 if day == dip_day else 2400.0 + series.gauss(0, 60)
        # Mornings are much lower: only a per-hour baseline sees the dip at 13:00 for what it is.
        morning = noon - timedelta(hours=6)
        ingest(gateway, [(morning, "inv-07", "power_ac", 300.0 + series.gauss(0, 30)),
                         (noon, "inv-07", "power_ac", value)])
        if Alert.objects.filter(status="triggered").exists() and not raised_on:
            raised_on.append(day)
    assert raised_on == [dip_day]
    alert = Alert.objects.get()
    assert alert.details["rule"] == "anomaly" and alert.details["hour"] == 13
    assert datetime.fromisoformat(alert.details["at"]) == start + timedelta(days=dip_day)
    assert alert.details["sigma"] > 4 and "below its usual for 13:00" in alert.summary
    assert alert.status == "resolved"  # the next day was back to normal
    assert set(TelemetryBaseline.objects.values_list("hour", flat=True)) == {7, 13}


def test_baseline_folds_a_batch_exactly_as_one_reading_at_a_time(plant, gateway):
    values = [10.0, 12.0, 9.0, 11.0, 30.0]
    times = [local(2, 10) + timedelta(days=n) for n in range(len(values))]

    def observation(device, ts, value):
        return Observation(tenant_id=device.tenant_id, device_id=device.pk, inverter="i", metric="m", ts=ts,
                           value=value, tz="Europe/Lisbon", alpha=0.2, direction="both")

    other = DeviceFactory(site=plant, kind="gateway")
    fold_and_judge([observation(gateway, ts, v) for ts, v in zip(times, values, strict=True)])
    for ts, v in zip(times, values, strict=True):
        fold_and_judge([observation(other, ts, v)])
    batch, single = (TelemetryBaseline.objects.get(device=d) for d in (gateway, other))
    mean, mean_sq = values[0], values[0] ** 2
    for v in values[1:]:
        mean, mean_sq = 0.8 * mean + 0.2 * v, 0.8 * mean_sq + 0.2 * v * v
    assert batch.mean == pytest.approx(single.mean) == pytest.approx(mean)
    assert batch.mean_sq == pytest.approx(single.mean_sq) == pytest.approx(mean_sq)
    assert batch.samples == single.samples == 5 and batch.hour == 10


def test_site_coordinates_are_both_or_neither_and_on_the_globe(world_a, client_for):
    admin = client_for(world_a.admin, world_a.tenant)
    base = {"name": "Évora", "kind": "plant", "timezone": "Europe/Lisbon"}
    only_one = admin.post("/api/v1/sites/", {**base, "location_id": "EV-1", "latitude": 38.5}, format="json")
    assert only_one.status_code == 400 and "longitude" in only_one.json()["error"]["fields"]
    off_globe = admin.post("/api/v1/sites/", {**base, "location_id": "EV-2", "latitude": 95, "longitude": 0},
                           format="json")
    assert off_globe.status_code == 400 and "latitude" in off_globe.json()["error"]["fields"]
    good = admin.post("/api/v1/sites/", {**base, "location_id": "EV-3", "latitude": 38.57, "longitude": -7.91},
                      format="json")
    assert good.status_code == 201 and good.json()["latitude"] == 38.57
