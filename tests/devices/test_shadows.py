"""Shadows over REST: versions and If-Match, the 8 KiB cap, the delta in the heartbeat answer,
convergence, and the drift alert raised and cleared."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts.models import Alert
from apps.audit.models import AuditEntry
from apps.devices.models import Device
from apps.ingest.fleet import drift_sweep

pytestmark = pytest.mark.django_db


def _shadow_url(device) -> str:
    return f"/api/v1/devices/{device.public_id}/shadow/"


def _heartbeat(client, **extra):
    return client.post("/api/v1/heartbeats/", {"sent_at": timezone.now().isoformat(), **extra}, format="json")


def test_stale_if_match_gets_412_and_the_current_version_wins(world_a, client_for, device_client):
    device, _ = device_client(world_a.site)
    staff = client_for(world_a.staff)
    first = staff.get(_shadow_url(device))
    assert first.status_code == 200 and first["ETag"] == '"0"' and first.json()["version"] == 0
    changed = staff.patch(_shadow_url(device), {"desired": {"batch_size": 50}}, format="json", HTTP_IF_MATCH='"0"')
    assert changed.status_code == 200, changed.json()
    assert changed.json()["version"] == 1 and changed.json()["delta"] == {"batch_size": 50}
    assert changed.json()["metadata"]["desired"]["batch_size"]
    stale = staff.patch(_shadow_url(device), {"desired": {"batch_size": 20}}, format="json", HTTP_IF_MATCH='"0"')
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "version_conflict"
    assert Device.objects.get(pk=device.pk).desired_state == {"batch_size": 50}
    entry = AuditEntry.objects.filter(action="device.shadow_desired_changed").get()
    assert entry.details == {"keys": ["batch_size"], "version": 1}


def test_bad_if_match_and_bad_config_values_are_400(world_a, client_for, device_client):
    device, _ = device_client(world_a.site)
    staff = client_for(world_a.staff)
    assert staff.patch(_shadow_url(device), {"desired": {"a": 1}}, format="json",
                       HTTP_IF_MATCH="yesterday").status_code == 400
    bad = staff.patch(_shadow_url(device), {"desired": {"batch_size": 9000, "allowed_bssids": ["nope"]}},
                      format="json")
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"desired.batch_size",
                                                                             "desired.allowed_bssids"}
    assert staff.patch(_shadow_url(device), {"desired": {"bad key!": 1}}, format="json").status_code == 400
    assert staff.patch(_shadow_url(device), {"desired": [1, 2]}, format="json").status_code == 400


def test_documents_over_8_kib_get_413(world_a, client_for, device_client):
    device, client = device_client(world_a.site)
    staff = client_for(world_a.staff)
    big = {"note": "x" * 8200}
    response = staff.patch(_shadow_url(device), {"desired": big}, format="json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "shadow_too_large"
    assert client.patch("/api/v1/devices/me/shadow/", {"reported": big}, format="json").status_code == 413
    assert Device.objects.get(pk=device.pk).shadow_version == 0


def test_viewer_reads_but_cannot_change_and_other_tenants_get_404(world_a, world_b, client_for, device_client):
    device, _ = device_client(world_a.site)
    viewer = client_for(world_a.viewer)
    assert viewer.get(_shadow_url(device)).status_code == 200
    assert viewer.patch(_shadow_url(device), {"desired": {"a": 1}}, format="json").status_code == 403
    assert client_for(world_a.admin).patch(_shadow_url(device), {"desired": {"a": 1}},
                                           format="json").status_code == 200
    foreign = client_for(world_b.owner)
    assert foreign.get(_shadow_url(device)).status_code == 404
    assert foreign.patch(_shadow_url(device), {"desired": {"a": 2}}, format="json").status_code == 404


def test_desired_change_reaches_the_device_in_its_next_heartbeat_and_converges(world_a, client_for, device_client):
    device, client = device_client(world_a.site, kind="scanner")
    quiet = _heartbeat(client)
    assert quiet.status_code == 202 and "shadow" not in quiet.json() and quiet.json()["server_time"]
    assert quiet["X-Server-Time"]
    client_for(world_a.staff).patch(_shadow_url(device), {"desired": {"batch_size": 25, "underage_age": 18}},
                                    format="json")
    answer = _heartbeat(client).json()
    assert answer["shadow"] == {"version": 1, "delta": {"batch_size": 25, "underage_age": 18}}
    me = client.get("/api/v1/devices/me/").json()
    assert me["config"]["batch_size"] == 25 and me["config"]["underage_age"] == 18
    partial = client.patch("/api/v1/devices/me/shadow/", {"reported": {"batch_size": 25}}, format="json").json()
    assert partial["delta"] == {"underage_age": 18} and partial["version"] == 2
    done = client.patch("/api/v1/devices/me/shadow/", {"reported": {"underage_age": 18}}, format="json").json()
    assert done["delta"] == {} and done["version"] == 3 and done["pending_since"] is None
    assert "shadow" not in _heartbeat(client).json()


def test_drift_raises_after_the_set_time_and_clears_when_the_device_reports(world_a, client_for, device_client,
                                                                            settings):
    settings.TOCSIN_SHADOW_DRIFT_SECONDS = 300
    device, client = device_client(world_a.site)
    client_for(world_a.staff).patch(_shadow_url(device), {"desired": {"location_label": "Room 7"}}, format="json")
    assert drift_sweep() == {"drift_raised": 0, "drift_cleared": 0}  # not yet: within the set time
    later = timezone.now() + timedelta(seconds=301)
    assert drift_sweep(now=later)["drift_raised"] == 1
    assert drift_sweep(now=later)["drift_raised"] == 0  # one alert, not one per sweep
    alert = Alert.objects.get(kind="drift", device=device)
    assert alert.status == "triggered" and alert.details["keys"] == ["location_label"]
    assert client_for(world_a.staff).get(_shadow_url(device)).json()["drifting"] is True
    client.patch("/api/v1/devices/me/shadow/", {"reported": {"location_label": "Room 7"}}, format="json")
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert Device.objects.get(pk=device.pk).shadow_drift_at is None


def test_drift_clears_when_staff_withdraw_the_wish(world_a, client_for, device_client):
    device, _ = device_client(world_a.site)
    staff = client_for(world_a.staff)
    staff.patch(_shadow_url(device), {"desired": {"mode": "eco"}}, format="json")
    drift_sweep(now=timezone.now() + timedelta(hours=1))
    staff.patch(_shadow_url(device), {"desired": {"mode": None}}, format="json")
    assert Alert.objects.get(kind="drift", device=device).status == "resolved"


def test_nested_delta_and_null_removes_a_key(world_a, client_for, device_client):
    device, client = device_client(world_a.site, kind="gateway")
    staff = client_for(world_a.staff)
    staff.patch(_shadow_url(device), {"desired": {"inverters": {"inv1": {"limit": 80}, "inv2": {"limit": 90}}}},
                format="json")
    client.patch("/api/v1/devices/me/shadow/", {"reported": {"inverters": {"inv1": {"limit": 80}}}}, format="json")
    shadow = staff.get(_shadow_url(device)).json()
    assert shadow["delta"] == {"inverters": {"inv2": {"limit": 90}}}
    staff.patch(_shadow_url(device), {"desired": {"inverters": {"inv2": None}}}, format="json")
    assert staff.get(_shadow_url(device)).json()["delta"] == {}


def test_reported_personal_data_is_refused(world_a, device_client):
    _, client = device_client(world_a.site)
    response = client.patch("/api/v1/devices/me/shadow/", {"reported": {"first_name": "Ann"}}, format="json")
    assert response.status_code == 400


def test_every_device_answer_carries_the_server_time_errors_included(world_a, device_client, api_client):
    _, client = device_client(world_a.site)
    bad = client.post("/api/v1/heartbeats/", {"sent_at": "yesterday"}, format="json")
    assert bad.status_code == 400 and bad["X-Server-Time"].endswith("Z")
    assert client.get("/api/v1/devices/me/shadow/")["X-Server-Time"]
    refused = api_client.post("/api/v1/devices/enroll/", {"setup_token": "st_nope"}, format="json")
    assert refused.status_code in (400, 403) and refused["X-Server-Time"]
    unauthenticated = api_client.get("/api/v1/devices/me/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert unauthenticated.status_code == 401 and unauthenticated["X-Server-Time"]
