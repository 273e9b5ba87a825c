"""Device-raised alerts: validation, dedup, and that devices stay in their own lane."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.alerts.models import Alert

pytestmark = pytest.mark.django_db


def _report(client, **body):
    return client.post("/api/v1/device-alerts/", {"occurred_at": timezone.now().isoformat(), **body}, format="json")


def test_breach_is_created_then_deduplicated(world_a, device_client):
    _, client = device_client(world_a.site, kind="tablet")
    first = _report(client, kind="breach", details={"rssi": -95})
    assert first.status_code == 201 and first.json()["deduplicated"] is False
    second = _report(client, kind="breach", details={"rssi": -97})
    assert second.status_code == 200 and second.json() == {"alert_id": first.json()["alert_id"],
                                                           "deduplicated": True, "count": 2}
    alert = Alert.objects.get()
    assert alert.severity == "critical" and alert.source == "device"
    assert [e.kind for e in alert.events.exclude(kind="unnotified").order_by("at", "id")] == ["raised", "duplicate"]


def test_device_keys_are_namespaced_per_device(world_a, device_client):
    _, one = device_client(world_a.site)
    _, two = device_client(world_a.site)
    _report(one, kind="custom", dedup_key="door-open")
    _report(two, kind="custom", dedup_key="door-open")
    assert Alert.objects.count() == 2


@pytest.mark.parametrize("body, field", [
    ({"kind": "fire"}, "kind"),
    ({"kind": "breach", "severity": "apocalyptic"}, "severity"),
    ({"kind": "breach", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
    ({"kind": "breach", "occurred_at": "2026-01-01T00:00:00"}, "occurred_at"),
    ({"kind": "breach", "dedup_key": "spaces are bad"}, "dedup_key"),
    ({"kind": "breach", "colour": "red"}, "colour"),
])
def test_bad_reports_get_field_errors(world_a, device_client, body, field):
    _, client = device_client(world_a.site)
    response = client.post("/api/v1/device-alerts/", {"occurred_at": timezone.now().isoformat(), **body},
                           format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_personal_data_in_details_is_refused(world_a, device_client):
    _, client = device_client(world_a.site, kind="scanner")
    response = _report(client, kind="underage", details={"age": 17, "full_name": "Ana Example"})
    assert response.status_code == 400
    assert "details.full_name" in response.json()["error"]["fields"]
    assert not Alert.objects.exists()


def test_revoked_device_cannot_report(world_a, device_client):
    device, client = device_client(world_a.site)
    from apps.audit.services import Actor
    from apps.devices.services import device_revoke

    device_revoke(device=device, actor=Actor.system())
    assert _report(client, kind="breach").status_code == 401


def test_people_cannot_use_device_endpoints(world_a, client_for):
    assert client_for(world_a.admin).post("/api/v1/heartbeats/", {}, format="json").status_code in (401, 403)


@pytest.mark.parametrize("stamp", ["2025-07-01T00:00:00+99:00", "2026-02-31T10:00:00Z", "now", 17])
def test_impossible_timestamps_are_400_everywhere(world_a, device_client, stamp):
    import uuid

    _, client = device_client(world_a.site, kind="gateway")
    assert client.post("/api/v1/heartbeats/", {"sent_at": stamp}, format="json").status_code == 400
    assert _report(client, kind="breach", occurred_at=stamp).status_code == 400
    reading = {"message_id": str(uuid.uuid4()), "metric": "power_ac", "value": 1.0, "ts": stamp}
    response = client.post("/api/v1/telemetry/", {"readings": [reading]}, format="json")
    assert response.status_code == 400 and "ts" in response.json()["error"]["fields"]["readings"][0]["errors"]
