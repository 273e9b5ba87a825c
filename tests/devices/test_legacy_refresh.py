"""Attack tests (issue 13): a legacy tablet renews with its rotating refresh credential, and
a replayed old credential revokes the tablet and raises a tamper alert."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.alerts.models import Alert
from apps.audit.models import AuditEntry
from apps.devices.credentials import sha256_hex
from apps.devices.models import Device, DeviceRefreshCredential

pytestmark = pytest.mark.django_db

REGISTER = "/api/devices/register"
HEARTBEAT = "/api/heartbeat"


def _register(world, **credential):
    return APIClient().post(REGISTER, {"deviceId": "tab-101", "roomId": "101", "hotelId": world.site.location_id,
                                       **credential}, format="json")


def _beat(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.post(HEARTBEAT, {"deviceId": "tab-101", "roomId": "101", "wifiBssid": "", "rssi": -50},
                       format="json").status_code


def test_a_tablet_renews_with_its_rotating_credential(world_a, issue_setup_token):
    first = _register(world_a, setupToken=issue_setup_token(world_a.site))
    assert first.status_code == 200 and first["Cache-Control"] == "no-store"
    r1 = first.json()["refreshToken"]
    assert r1.startswith("rt_")
    device = Device.objects.get(hardware_id="tab-101")
    stored = DeviceRefreshCredential.objects.get(device=device)
    assert stored.credential_hash == sha256_hex(r1) and r1 not in str(
        list(DeviceRefreshCredential.objects.values()))

    second = _register(world_a, refreshToken=r1)
    assert second.status_code == 200
    r2 = second.json()["refreshToken"]
    assert r2 != r1
    assert _beat(first.json()["token"]) == 401 and _beat(second.json()["token"]) == 200

    # An app that just stores what it is given and sends it where the setup token went.
    third = _register(world_a, setupToken=r2)
    assert third.status_code == 200 and _beat(third.json()["token"]) == 200
    assert DeviceRefreshCredential.objects.filter(device=device, superseded_at__isnull=True).count() == 1
    assert Device.objects.get(pk=device.pk).status == "active"


def test_a_replayed_old_credential_revokes_the_tablet_and_raises_a_tamper_alert(world_a, issue_setup_token):
    r1 = _register(world_a, setupToken=issue_setup_token(world_a.site)).json()["refreshToken"]
    thief = _register(world_a, refreshToken=r1).json()  # whoever copied r1 uses it first...
    assert _beat(thief["token"]) == 200

    replay = _register(world_a, refreshToken=r1)  # ... and the tablet's own use is now a replay
    assert replay.status_code == 403 and replay.json()["error"]["code"] == "device_revoked"
    device = Device.objects.get(hardware_id="tab-101")
    assert device.status == "revoked"
    assert _beat(thief["token"]) == 401
    current = _register(world_a, refreshToken=thief["refreshToken"])  # the newest credential died with it
    assert current.status_code == 403 and current.json()["error"]["code"] == "device_revoked"

    alert = Alert.objects.get(kind="tamper", device=device)
    assert alert.tenant == world_a.tenant and alert.site == world_a.site and alert.status == "triggered"
    assert alert.details == {"reason": "refresh_credential_replayed"}
    assert AuditEntry.objects.filter(action="device.revoked", target_id=device.public_id).exists()
    for credential in (r1, thief["refreshToken"]):
        assert credential not in str(list(AuditEntry.objects.values()))
        assert credential not in alert.summary


def test_a_revoked_tablet_registers_again_only_after_a_readmit(world_a, issue_setup_token, client_for):
    r1 = _register(world_a, setupToken=issue_setup_token(world_a.site)).json()["refreshToken"]
    device = Device.objects.get(hardware_id="tab-101")
    client_for(world_a.staff).post(f"/api/v1/devices/{device.public_id}/revoke/", {"reason": "lost"}, format="json")
    token = issue_setup_token(world_a.site, max_uses=3)
    assert _register(world_a, refreshToken=r1).status_code == 403
    assert _register(world_a, setupToken=token).status_code == 403

    client_for(world_a.admin).post(f"/api/v1/devices/{device.public_id}/readmit/", {"reason": "found it"},
                                   format="json")
    again = _register(world_a, setupToken=token)
    assert again.status_code == 200 and _beat(again.json()["token"]) == 200
    assert Device.objects.get(pk=device.pk).status == "active"
    # The credential of before the re-admit is forgotten, not a replay: it can't revoke the tablet again.
    assert _register(world_a, refreshToken=r1).status_code == 403
    assert Device.objects.get(pk=device.pk).status == "active"
    assert _register(world_a, refreshToken=again.json()["refreshToken"]).status_code == 200


@pytest.mark.parametrize("case", ["unknown", "other_device", "other_hotel"])
def test_refresh_refusals_change_nothing(world_a, issue_setup_token, case):
    from tests.factories import SiteFactory

    r1 = _register(world_a, setupToken=issue_setup_token(world_a.site)).json()["refreshToken"]
    body = {"deviceId": "tab-101", "roomId": "101", "hotelId": world_a.site.location_id, "refreshToken": r1}
    if case == "unknown":
        body["refreshToken"] = "rt_" + "x" * 43
    elif case == "other_device":
        body["deviceId"] = "tab-999"
    else:
        body["hotelId"] = SiteFactory(tenant=world_a.tenant).location_id
    response = APIClient().post(REGISTER, body, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "enrollment_refused"
    assert _register(world_a, refreshToken=r1).status_code == 200  # still the current one
    assert not Alert.objects.exists()
