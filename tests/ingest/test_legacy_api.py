"""The legacy API under /api/: the old tablet and dashboard JSON, served by the same services."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.alerts.models import Alert, AlertEvent
from apps.audit.models import AuditEntry
from apps.audit.services import Actor
from apps.devices.api_keys import api_key_create
from apps.devices.models import Device
from apps.ingest.models import HealthSample
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db

REGISTER = "/api/devices/register"
HEARTBEAT = "/api/heartbeat"
BREACH = "/api/alert/breach"
BATTERY = "/api/alert/battery"
RECENT = "/api/alerts/recent"
ACKNOWLEDGE = "/api/alerts/acknowledge"
BSSID = "aa:bb:cc:dd:ee:01"


def _register(*, token: str | None, hotel_id: str, device_id: str = "tab-101", room_id: str = "101"):
    body = {"deviceId": device_id, "roomId": room_id, "hotelId": hotel_id}
    if token is not None:
        body["setupToken"] = token
    return APIClient().post(REGISTER, body, format="json")


def _tablet(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _registered_tablet(world, issue_setup_token, *, device_id: str = "tab-101", room_id: str = "101"):
    response = _register(token=issue_setup_token(world.site), hotel_id=world.site.location_id,
                         device_id=device_id, room_id=room_id)
    assert response.status_code == 200, response.content
    return Device.objects.get(hardware_id=device_id), _tablet(response.json()["token"])


def _api_key_client(tenant, scopes) -> APIClient:
    issued = api_key_create(tenant=tenant, name="dashboard", scopes=scopes, actor=Actor.system("t"))
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=issued.key)
    return client


def test_tablet_and_dashboard_flow_end_to_end(world_a, issue_setup_token, client_for):
    registered = _register(token=issue_setup_token(world_a.site), hotel_id=world_a.site.location_id)
    assert registered.status_code == 200
    body = registered.json()
    assert body["ok"] is True and body["token"] and body["expiresAt"]
    device = Device.objects.get(hardware_id="tab-101")
    assert (device.tenant, device.site, device.kind, device.status) == (world_a.tenant, world_a.site, "tablet",
                                                                        "active")
    assert device.name == "Room 101" and device.desired_state == {"room_id": "101"} and device.public_key == ""
    entry = AuditEntry.objects.get(tenant=world_a.tenant, action="device.enrolled")
    assert entry.target_id == device.public_id and entry.details["legacy"] is True
    tablet = _tablet(body["token"])

    beat = tablet.post(HEARTBEAT, {"deviceId": "tab-101", "roomId": "101", "wifiBssid": BSSID, "rssi": -48,
                                   "battery": 81, "appVersion": "2.3.1"}, format="json")  # unknown keys: ignored
    assert beat.status_code == 200 and beat.json() == {"ok": True}
    device.refresh_from_db()
    assert (device.battery_level, device.link_rssi, device.link_bssid) == (81, -48, BSSID)
    assert device.last_seen_at is not None and HealthSample.objects.filter(device=device).count() == 1

    breach = tablet.post(BREACH, {"deviceId": "tab-101", "roomId": "101", "rssi": -91}, format="json")
    assert breach.status_code == 200
    assert breach.json() == {"ok": True, "alertId": breach.json()["alertId"], "deduplicated": False}
    again = tablet.post(BREACH, {"deviceId": "tab-101", "roomId": "101", "rssi": -93}, format="json")
    assert again.json() == {"ok": True, "alertId": breach.json()["alertId"], "deduplicated": True}
    battery = tablet.post(BATTERY, {"deviceId": "tab-101", "roomId": "101", "level": 9}, format="json")
    assert battery.status_code == 200 and battery.json()["deduplicated"] is False
    breach_alert = Alert.objects.get(public_id=breach.json()["alertId"])
    assert breach_alert.kind == "breach" and breach_alert.details == {"rssi": -93, "room_id": "101"}
    assert Alert.objects.get(public_id=battery.json()["alertId"]).details == {"battery_level": 9}

    dashboard = client_for(world_a.staff)
    recent = dashboard.get(RECENT)
    assert recent.status_code == 200 and recent.json()["ok"] is True
    by_id = {row["alertId"]: row for row in recent.json()["alerts"]}
    assert set(by_id) == {breach.json()["alertId"], battery.json()["alertId"]}
    row = by_id[breach.json()["alertId"]]
    assert row["type"] == "breach" and row["severity"] == "critical" and row["status"] == "triggered"
    assert (row["deviceId"], row["roomId"], row["siteId"], row["count"]) == ("tab-101", "101",
                                                                             world_a.site.location_id, 2)
    assert row["acknowledged"] is False and row["acknowledgedBy"] is None and row["notes"] is None
    assert {"message", "firstSeen", "lastSeen", "acknowledgedAt"} <= set(row)
    assert by_id[battery.json()["alertId"]]["roomId"] == "101"  # from the tablet's registration

    acked = dashboard.post(ACKNOWLEDGE, {"alertId": row["alertId"], "acknowledgedBy": "Maria (front desk)",
                                         "notes": "Security on the way"}, format="json")
    assert acked.status_code == 200
    alert = acked.json()["alert"]
    assert acked.json()["ok"] is True and alert["status"] == "acknowledged" and alert["acknowledged"] is True
    # Identity is the authenticated person; the typed name is kept in the note only.
    assert alert["acknowledgedBy"] == world_a.staff.username
    assert alert["notes"] == "On behalf of Maria (front desk): Security on the way"
    breach_alert.refresh_from_db()
    assert breach_alert.acknowledged_by == world_a.staff
    event = AlertEvent.objects.get(alert=breach_alert, kind="acknowledged")
    assert event.note == alert["notes"]
    after = {r["alertId"]: r for r in dashboard.get(RECENT).json()["alerts"]}[row["alertId"]]
    assert after["acknowledged"] is True and after["acknowledgedAt"]


@pytest.mark.parametrize("case", ["missing", "wrong", "other_site", "used_up"])
def test_registration_needs_a_usable_setup_token_for_the_hotel(world_a, issue_setup_token, case):
    other_site = DeviceFactory(site__tenant=world_a.tenant).site
    token = issue_setup_token(world_a.site)
    if case == "used_up":
        assert _register(token=token, hotel_id=world_a.site.location_id, device_id="tab-first").status_code == 200
    token, hotel_id = {
        "missing": (None, world_a.site.location_id),
        "wrong": ("st_" + "x" * 40, world_a.site.location_id),
        "other_site": (token, other_site.location_id),
        "used_up": (token, world_a.site.location_id),
    }[case]
    response = _register(token=token, hotel_id=hotel_id)
    if case == "missing":
        assert response.status_code == 400 and "setupToken" in response.json()["error"]["fields"]
    else:
        assert response.status_code == 403
        assert response.json()["error"] == {"code": "enrollment_refused", "message": "Enrollment refused.",
                                            "fields": None}
    assert not Device.objects.filter(hardware_id="tab-101").exists()


def test_re_registration_kills_the_old_token_and_follows_the_room(world_a, issue_setup_token):
    """Changed on purpose (issue 13): registering again takes the refresh credential the
    previous registration returned, no longer a setup token."""
    first = _register(token=issue_setup_token(world_a.site), hotel_id=world_a.site.location_id).json()
    device = Device.objects.get(hardware_id="tab-101")
    Device.objects.filter(pk=device.pk).update(desired_state={"room_id": "101", "allowed_bssids": [BSSID]})
    second = APIClient().post(REGISTER, {"deviceId": "tab-101", "roomId": "102", "hotelId": world_a.site.location_id,
                                         "refreshToken": first["refreshToken"]}, format="json")
    assert second.status_code == 200
    beat = {"deviceId": "tab-101", "roomId": "102", "wifiBssid": BSSID, "rssi": -50}
    assert _tablet(first["token"]).post(HEARTBEAT, beat, format="json").status_code == 401
    assert _tablet(second.json()["token"]).post(HEARTBEAT, beat, format="json").status_code == 200
    device.refresh_from_db()
    assert device.token_version == 2 and device.name == "Room 102"
    assert device.desired_state == {"room_id": "102", "allowed_bssids": [BSSID]}


def test_a_tablet_speaks_only_for_itself(world_a, world_b, issue_setup_token):
    _, tablet = _registered_tablet(world_a, issue_setup_token)
    neighbour = DeviceFactory(site=world_a.site, hardware_id="tab-102")
    foreign = DeviceFactory(site=world_b.site, hardware_id="tab-b-201")
    for other in (neighbour, foreign):
        for path, body in ((HEARTBEAT, {"wifiBssid": BSSID, "rssi": -50}), (BREACH, {"rssi": -95}),
                           (BATTERY, {"level": 5})):
            response = tablet.post(path, {"deviceId": other.hardware_id, "roomId": "1", **body}, format="json")
            assert response.status_code == 403, (path, other.hardware_id)
            assert response.json()["error"]["code"] == "device_mismatch"
    assert not Alert.objects.exists() and not HealthSample.objects.exists()


def test_a_hardware_id_of_another_tenant_cannot_be_registered(world_a, world_b, issue_setup_token):
    foreign = DeviceFactory(site=world_b.site, hardware_id="tab-b-201")
    before = Device.objects.filter(pk=foreign.pk).values().get()
    token = issue_setup_token(world_a.site)
    response = _register(token=token, hotel_id=world_a.site.location_id, device_id="tab-b-201")
    assert response.status_code == 403 and response.json()["error"]["code"] == "enrollment_refused"
    assert Device.objects.filter(pk=foreign.pk).values().get() == before
    # The refusal cost the token nothing: it still registers a tablet of its own tenant.
    assert _register(token=token, hotel_id=world_a.site.location_id).status_code == 200


def test_dashboards_see_and_acknowledge_only_their_own_tenant(world_a, world_b, issue_setup_token, client_for):
    _, tablet_b = _registered_tablet(world_b, issue_setup_token, device_id="tab-b-1")
    foreign_id = tablet_b.post(BREACH, {"deviceId": "tab-b-1", "roomId": "7", "rssi": -99},
                               format="json").json()["alertId"]
    _, tablet_a = _registered_tablet(world_a, issue_setup_token)
    own_id = tablet_a.post(BREACH, {"deviceId": "tab-101", "roomId": "101", "rssi": -99},
                           format="json").json()["alertId"]

    for caller in (client_for(world_a.viewer), _api_key_client(world_a.tenant, ["read"])):
        listed = caller.get(RECENT)
        assert listed.status_code == 200
        assert [row["alertId"] for row in listed.json()["alerts"]] == [own_id]

    for role in ("owner", "admin", "staff"):
        refused = client_for(getattr(world_a, role)).post(ACKNOWLEDGE, {"alertId": foreign_id}, format="json")
        assert refused.status_code == 404 and world_b.tenant.name.encode() not in refused.content
    assert Alert.objects.get(public_id=foreign_id).status == "triggered"


def test_viewers_and_api_keys_cannot_acknowledge(world_a, issue_setup_token, client_for):
    _, tablet = _registered_tablet(world_a, issue_setup_token)
    alert_id = tablet.post(BREACH, {"deviceId": "tab-101", "roomId": "101", "rssi": -99},
                           format="json").json()["alertId"]
    for caller in (client_for(world_a.viewer), _api_key_client(world_a.tenant, ["read", "write_events"])):
        assert caller.post(ACKNOWLEDGE, {"alertId": alert_id}, format="json").status_code == 403
    assert APIClient().post(ACKNOWLEDGE, {"alertId": alert_id}, format="json").status_code == 401
    assert APIClient().get(RECENT).status_code == 401
    assert Alert.objects.get(public_id=alert_id).status == "triggered"


def test_recent_limits_and_filters(world_a, issue_setup_token, client_for):
    _, tablet = _registered_tablet(world_a, issue_setup_token)
    tablet.post(BREACH, {"deviceId": "tab-101", "roomId": "101", "rssi": -99}, format="json")
    tablet.post(BATTERY, {"deviceId": "tab-101", "roomId": "101", "level": 3}, format="json")
    dashboard = client_for(world_a.staff)
    assert [r["type"] for r in dashboard.get(RECENT, {"limit": 1}).json()["alerts"]] == ["battery"]
    assert dashboard.get(RECENT, {"since": "2099-01-01T00:00:00Z"}).json()["alerts"] == []
    for params, field in (({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"limit": "all"}, "limit"),
                          ({"since": "yesterday"}, "since"), ({"since": "2999-01-01T00:00:00Z"}, "since")):
        response = dashboard.get(RECENT, params)
        assert response.status_code == 400 and field in response.json()["error"]["fields"], params


@pytest.mark.parametrize("path, body, field", [
    (HEARTBEAT, {"roomId": "101", "wifiBssid": BSSID, "rssi": -50}, "deviceId"),
    (HEARTBEAT, {"deviceId": "tab-101", "roomId": "101", "wifiBssid": "not-a-bssid", "rssi": -50}, "wifiBssid"),
    (HEARTBEAT, {"deviceId": "tab-101", "roomId": "101", "wifiBssid": BSSID, "rssi": "strong"}, "rssi"),
    (HEARTBEAT, {"deviceId": "tab-101", "roomId": "101", "wifiBssid": BSSID, "rssi": -50, "battery": 140},
     "battery"),
    (BREACH, {"deviceId": "tab-101", "roomId": "101"}, "rssi"),
    (BREACH, {"deviceId": "tab-101", "roomId": "101", "rssi": 20}, "rssi"),
    (BATTERY, {"deviceId": "tab-101", "roomId": "101", "level": -1}, "level"),
    (BATTERY, {"deviceId": "tab-101", "level": 50}, "roomId"),
    (BATTERY, ["not", "an", "object"], "non_field_errors"),
])
def test_malformed_tablet_bodies_get_field_errors(world_a, issue_setup_token, path, body, field):
    _, tablet = _registered_tablet(world_a, issue_setup_token)
    response = tablet.post(path, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid" and field in response.json()["error"]["fields"]
    assert not Alert.objects.exists() and not HealthSample.objects.exists()


@pytest.mark.parametrize("path", [REGISTER, HEARTBEAT, ACKNOWLEDGE])
def test_unparseable_json_is_a_400(world_a, issue_setup_token, client_for, path):
    _, tablet = _registered_tablet(world_a, issue_setup_token)
    client = client_for(world_a.staff) if path == ACKNOWLEDGE else tablet
    response = client.post(path, data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"


def test_malformed_dashboard_and_registration_bodies(world_a, client_for):
    ack = client_for(world_a.staff).post(ACKNOWLEDGE, {"alertId": 42, "notes": "x" * 2001}, format="json")
    assert ack.status_code == 400 and {"alertId", "notes"} <= set(ack.json()["error"]["fields"])
    reg = APIClient().post(REGISTER, {"deviceId": "a b", "roomId": "", "hotelId": "H", "setupToken": "t"},
                           format="json")
    assert reg.status_code == 400 and {"deviceId", "roomId"} <= set(reg.json()["error"]["fields"])
