"""The bridge's batch without the broker: validation, dead letters, the three dedup layers
and their counters in /metrics, inverters as a dimension of thresholds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from apps.alerts.models import Alert
from apps.ingest.models import TelemetryReading, TelemetryThreshold
from apps.iot import ingest
from apps.iot.ingest import Inbound, ingest_batch
from apps.iot.models import BridgeCounter, DeadLetter, Gateway, GatewayStatus
from tests.factories import DeviceFactory, SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_plant_cache():
    ingest.forget_plants()
    yield
    ingest.forget_plants()


@pytest.fixture
def plant(world_a):
    site = SiteFactory(tenant=world_a.tenant, kind="plant")
    device = DeviceFactory(site=site, kind="gateway", status="active")
    Gateway.objects.create(tenant=world_a.tenant, site=site, device=device, identity=f"gw.{site.pk}",
                           status=GatewayStatus.ACTIVE)
    return site


def _message(site, *, inverter="inv-1", seconds=0, message_id=None, **metrics) -> Inbound:
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1) + timedelta(seconds=seconds)
    body = {"plantId": site.public_id, "deviceId": inverter, "timestamp": ts.isoformat(),
            "metrics": metrics or {"power_ac": 1500.0, "voltage_dc": 620.0}}
    if message_id:
        body["messageId"] = message_id
    return Inbound(topic=f"solar/{site.public_id}/data", payload=json.dumps(body).encode())


def test_readings_stored_with_their_inverter_and_units(plant):
    outcome = ingest_batch([_message(plant, inverter="inv-7", message_id="a")])
    assert outcome.stored_readings == 2
    reading = TelemetryReading.objects.get(metric="voltage_dc")
    assert reading.inverter == "inv-7" and reading.unit == "V" and reading.value == 620.0


def test_each_layer_drops_its_own_duplicates_and_counts_them(plant, client_for, superuser):
    first = _message(plant, message_id="m-1")
    assert ingest_batch([first, first]).duplicates["message"] == 1  # the same id twice in one batch
    assert ingest_batch([first]).duplicates["message"] == 1  # and again later: layer 1
    same_reading = _message(plant, message_id="m-1-resent-under-a-new-id")
    assert ingest_batch([same_reading]).duplicates["reading"] == 2  # layer 2: (device, inverter, metric, ts)
    hot = [_message(plant, seconds=10 + i, message_id=f"hot-{i}", voltage_dc=1100.0) for i in range(3)]
    assert ingest_batch(hot).duplicates["alert"] == 2  # layer 3: one alert, two duplicates of it
    assert Alert.objects.filter(kind="telemetry").count() == 1
    assert TelemetryReading.objects.count() == 2 + 3

    counters = dict(BridgeCounter.objects.values_list("name", "value"))
    assert counters["duplicates.message"] == 2 and counters["duplicates.reading"] == 2
    assert counters["duplicates.alert"] == 2
    text = client_for(superuser).get("/metrics").content.decode()
    assert 'tocsin_mqtt_duplicates_dropped_total{layer="message"} 2.0' in text
    assert 'tocsin_mqtt_duplicates_dropped_total{layer="reading"} 2.0' in text
    assert 'tocsin_mqtt_duplicates_dropped_total{layer="alert"} 2.0' in text


@pytest.mark.parametrize(("payload", "reason"), [
    (b"{nope", "payload is not JSON"),
    (b"[1, 2]", "payload is not a JSON object"),
    (json.dumps({"plantId": "site_other", "deviceId": "i", "timestamp": 1, "metrics": {"a": 1}}).encode(),
     "plantId does not match the topic's plant"),
    (json.dumps({"deviceId": "i", "timestamp": "yesterday", "metrics": {"a": 1}}).encode(), "plantId"),
])
def test_malformed_messages_go_to_dead_letters_and_the_rest_is_stored(plant, payload, reason):
    bad = Inbound(topic=f"solar/{plant.public_id}/data", payload=payload)
    outcome = ingest_batch([bad, _message(plant, message_id="good")])
    assert outcome.dead_letters == 1 and outcome.stored_readings == 2
    letter = DeadLetter.objects.get()
    assert reason in letter.reason and letter.tenant_id == plant.tenant_id


def test_a_plant_without_a_live_gateway_is_dead_lettered(world_a):
    orphan = SiteFactory(tenant=world_a.tenant, kind="plant")
    outcome = ingest_batch([_message(orphan)])
    assert outcome.dead_letters == 1 and TelemetryReading.objects.count() == 0
    assert DeadLetter.objects.get().reason == "no live gateway for this plant"


def test_bad_values_and_timestamps_are_refused(plant):
    too_new = _message(plant, seconds=7200)
    not_a_number = _message(plant, message_id="x", power_ac="high")
    outcome = ingest_batch([too_new, not_a_number])
    assert outcome.dead_letters == 2
    assert set(DeadLetter.objects.values_list("reason", flat=True)) == {
        "timestamp is too far in the future or the past", "metric 'power_ac' must be a finite number"}


def test_a_threshold_for_one_inverter_judges_only_that_inverter(plant):
    TelemetryThreshold.objects.create(tenant=plant.tenant, site=plant, metric="power_ac", inverter="inv-2",
                                      operator="lt", value=100.0, severity="warning")
    ingest_batch([_message(plant, inverter="inv-1", message_id="a", power_ac=10.0),
                  _message(plant, inverter="inv-2", message_id="b", power_ac=10.0)])
    alert = Alert.objects.get(kind="telemetry")
    assert alert.details["inverter"] == "inv-2" and "inv-2" in alert.dedup_key
