"""Attack tests (issue 13, "a device is its key"): a setup-token holder cannot take over an
enrolled device by either enrolment path, a revoked device stays revoked until staff
re-admit it, and a renewal kills the token it replaces."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEntry
from apps.devices.models import Device, SetupToken
from tests.factories import DEFAULT_PASSWORD
from tests.support.device_keys import DeviceKey, enroll

pytestmark = pytest.mark.django_db

ENROLL = "/api/v1/devices/enroll/"
COMPLETE = "/api/v1/devices/enroll/complete/"
ME = "/api/v1/devices/me/"
REGISTER = "/api/devices/register"
REFUSED = {"error": {"code": "enrollment_refused", "message": "Enrollment refused.", "fields": None}}


def _device_client(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _complete(client, *, token: str, location_id: str, hardware_id: str, key: DeviceKey,
              current_key: DeviceKey | None = None):
    """Both enrolment phases; `current_key`, if given, signs the handover to `key`."""
    started = client.post(ENROLL, {"setup_token": token, "location_id": location_id, "hardware_id": hardware_id,
                                   "model": "m", "kind": "scanner", "public_key": key.public_b64}, format="json")
    assert started.status_code == 201, started.content
    body = started.json()
    payload = {"enrollment_id": body["enrollment_id"], "signature": key.sign_enrollment(
        enrollment_id=body["enrollment_id"], hardware_id=hardware_id, challenge=body["challenge"])}
    if current_key is not None:
        payload["current_key_signature"] = current_key.sign_rekey(
            enrollment_id=body["enrollment_id"], hardware_id=hardware_id, challenge=body["challenge"],
            new_public_key=key.public_b64)
    return client.post(COMPLETE, payload, format="json")


def _renew(key: DeviceKey, device_id: str):
    client = APIClient()
    challenge = client.post("/api/v1/devices/challenge/", {"device_id": device_id}, format="json").json()
    return client.post("/api/v1/devices/token/", {
        "device_id": device_id, "challenge_id": challenge["challenge_id"],
        "signature": key.sign_renewal(challenge_id=challenge["challenge_id"], device_id=device_id,
                                      challenge=challenge["challenge"])}, format="json")


def _enrolled(world, issue_setup_token, hardware_id="pi-0001"):
    issued, key = enroll(APIClient(), token=issue_setup_token(world.site), location_id=world.site.location_id,
                         hardware_id=hardware_id, kind="scanner")
    return Device.objects.get(public_id=issued["device_id"]), issued["access"], key


# --- takeover by enrolment ---------------------------------------------------------------------


def test_setup_token_holder_cannot_take_over_an_enrolled_device(world_a, issue_setup_token):
    device, access, key = _enrolled(world_a, issue_setup_token)
    attacker_token = issue_setup_token(world_a.site, max_uses=5)
    attacker = DeviceKey()
    for current_key in (None, attacker):  # no proof, and a "proof" signed with the attacker's own key
        response = _complete(APIClient(), token=attacker_token, location_id=world_a.site.location_id,
                             hardware_id=device.hardware_id, key=attacker, current_key=current_key)
        assert response.status_code == 403 and response.json() == REFUSED

    after = Device.objects.get(pk=device.pk)
    assert (after.public_key, after.token_version, after.status) == (key.public_b64, device.token_version, "active")
    assert SetupToken.objects.get(hint=attacker_token[:8]).uses == 0  # the refusals cost the token nothing
    assert _device_client(access).get(ME).status_code == 200  # the real device never noticed
    assert _renew(key, device.public_id).status_code == 200
    assert not AuditEntry.objects.filter(action="device.rekeyed").exists()
    attempts = AuditEntry.objects.filter(tenant=world_a.tenant, action="device.takeover_refused")
    assert attempts.count() == 2 and {e.target_id for e in attempts} == {device.public_id}


def test_a_device_hands_its_identity_to_a_new_key_with_its_current_one(world_a, issue_setup_token):
    device, access, old_key = _enrolled(world_a, issue_setup_token)
    new_key = DeviceKey()
    response = _complete(APIClient(), token=issue_setup_token(world_a.site), location_id=world_a.site.location_id,
                         hardware_id=device.hardware_id, key=new_key, current_key=old_key)
    assert response.status_code == 200 and response.json()["device_id"] == device.public_id
    assert _device_client(access).get(ME).status_code == 401
    assert _renew(old_key, device.public_id).status_code == 401
    assert _renew(new_key, device.public_id).status_code == 200
    entry = AuditEntry.objects.get(action="device.rekeyed", target_id=device.public_id)
    assert entry.details["proof"] == "current_key"


def test_setup_token_holder_cannot_take_over_a_device_through_legacy_registration(world_a, issue_setup_token):
    device, access, key = _enrolled(world_a, issue_setup_token)
    tablet = APIClient().post(REGISTER, {"deviceId": "tab-101", "roomId": "101", "hotelId": world_a.site.location_id,
                                         "setupToken": issue_setup_token(world_a.site)}, format="json")
    assert tablet.status_code == 200
    tablet_device = Device.objects.get(hardware_id="tab-101")
    token = issue_setup_token(world_a.site, max_uses=5)
    for target in (device, tablet_device):
        before = Device.objects.filter(pk=target.pk).values().get()
        response = APIClient().post(REGISTER, {"deviceId": target.hardware_id, "roomId": "666",
                                               "hotelId": world_a.site.location_id, "setupToken": token},
                                    format="json")
        assert response.status_code == 403 and response.json() == REFUSED
        assert Device.objects.filter(pk=target.pk).values().get() == before
    assert _device_client(access).get(ME).status_code == 200
    assert _device_client(tablet.json()["token"]).get(ME).status_code == 200
    assert SetupToken.objects.get(hint=token[:8]).uses == 0
    attempts = AuditEntry.objects.filter(action="device.takeover_refused", details__legacy=True)
    assert {e.target_id for e in attempts} == {device.public_id, tablet_device.public_id}


def test_a_legacy_tablet_cannot_be_taken_over_through_key_enrolment(world_a, issue_setup_token):
    """A tablet without a key can't prove one: enrolling its hardware id with a key is refused too."""
    tablet = APIClient().post(REGISTER, {"deviceId": "tab-202", "roomId": "202", "hotelId": world_a.site.location_id,
                                         "setupToken": issue_setup_token(world_a.site)}, format="json")
    response = _complete(APIClient(), token=issue_setup_token(world_a.site), location_id=world_a.site.location_id,
                         hardware_id="tab-202", key=DeviceKey())
    assert response.status_code == 403 and response.json() == REFUSED
    assert Device.objects.get(hardware_id="tab-202").public_key == ""
    assert _device_client(tablet.json()["token"]).get(ME).status_code == 200


# --- revoked stays revoked; re-admit -----------------------------------------------------------


def test_revoked_device_cannot_reenrol_until_a_manager_readmits_it(world_a, issue_setup_token, client_for):
    device, _, key = _enrolled(world_a, issue_setup_token)
    revoke = client_for(world_a.staff).post(f"/api/v1/devices/{device.public_id}/revoke/", {"reason": "stolen"},
                                            format="json")
    assert revoke.status_code == 200
    token = issue_setup_token(world_a.site, max_uses=5)
    for candidate in (key, DeviceKey()):  # not even with its own key
        response = _complete(APIClient(), token=token, location_id=world_a.site.location_id,
                             hardware_id=device.hardware_id, key=candidate)
        assert response.status_code == 403 and response.json() == REFUSED
    legacy = APIClient().post(REGISTER, {"deviceId": device.hardware_id, "roomId": "1",
                                         "hotelId": world_a.site.location_id, "setupToken": token}, format="json")
    assert legacy.status_code == 403
    assert Device.objects.get(pk=device.pk).status == "revoked"

    url = f"/api/v1/devices/{device.public_id}/readmit/"
    for role in ("staff", "viewer"):
        assert client_for(getattr(world_a, role)).post(url, {"reason": "replaced"}, format="json").status_code == 403
    missing = client_for(world_a.admin).post(url, {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["error"]["fields"]
    readmitted = client_for(world_a.admin).post(url, {"reason": "replaced after theft"}, format="json")
    assert readmitted.status_code == 200
    assert readmitted.json()["status"] == "revoked" and readmitted.json()["readmit_until"]
    entry = AuditEntry.objects.get(action="device.readmitted", target_id=device.public_id)
    assert entry.actor_id and entry.details["reason"] == "replaced after theft"

    replacement = DeviceKey()
    response = _complete(APIClient(), token=token, location_id=world_a.site.location_id,
                         hardware_id=device.hardware_id, key=replacement)
    assert response.status_code == 200 and response.json()["device_id"] == device.public_id
    after = Device.objects.get(pk=device.pk)
    assert (after.status, after.public_key, after.readmit_until) == ("active", replacement.public_b64, None)
    assert AuditEntry.objects.get(action="device.rekeyed", target_id=device.public_id).details["proof"] == "readmitted"
    # The re-admit was for one enrolment: the next one needs the (new) current key again.
    again = _complete(APIClient(), token=token, location_id=world_a.site.location_id,
                      hardware_id=device.hardware_id, key=DeviceKey())
    assert again.status_code == 403


def test_an_expired_readmit_admits_nothing(world_a, issue_setup_token, client_for):
    device, _, _ = _enrolled(world_a, issue_setup_token)
    assert client_for(world_a.owner).post(f"/api/v1/devices/{device.public_id}/readmit/", {"reason": "re-imaged"},
                                          format="json").status_code == 200
    Device.objects.filter(pk=device.pk).update(readmit_until=timezone.now() - timedelta(seconds=1))
    response = _complete(APIClient(), token=issue_setup_token(world_a.site), location_id=world_a.site.location_id,
                         hardware_id=device.hardware_id, key=DeviceKey())
    assert response.status_code == 403


def test_revoking_withdraws_an_open_readmit(world_a, issue_setup_token, client_for):
    device, _, _ = _enrolled(world_a, issue_setup_token)
    client_for(world_a.admin).post(f"/api/v1/devices/{device.public_id}/readmit/", {"reason": "swap"}, format="json")
    client_for(world_a.staff).post(f"/api/v1/devices/{device.public_id}/revoke/", {"reason": "no"}, format="json")
    assert Device.objects.get(pk=device.pk).readmit_until is None
    response = _complete(APIClient(), token=issue_setup_token(world_a.site), location_id=world_a.site.location_id,
                         hardware_id=device.hardware_id, key=DeviceKey())
    assert response.status_code == 403


def test_readmit_of_another_tenants_device_is_404(world_a, world_b, issue_setup_token, client_for):
    device, _, _ = _enrolled(world_b, issue_setup_token)
    response = client_for(world_a.admin).post(f"/api/v1/devices/{device.public_id}/readmit/", {"reason": "mine"},
                                              format="json")
    assert response.status_code == 404
    assert Device.objects.get(pk=device.pk).readmit_until is None


def test_readmit_from_the_admin_and_the_command(world_a, issue_setup_token):
    first, _, _ = _enrolled(world_a, issue_setup_token, hardware_id="pi-admin")
    second, _, _ = _enrolled(world_a, issue_setup_token, hardware_id="pi-command")
    staff_admin = Client()
    assert staff_admin.login(username=world_a.staff.username, password=DEFAULT_PASSWORD)
    manager = Client()
    assert manager.login(username=world_a.admin.username, password=DEFAULT_PASSWORD)
    changelist = "/admin/devices/device/"
    staff_admin.post(changelist, {"action": "readmit_selected", "_selected_action": [first.pk]})
    assert Device.objects.get(pk=first.pk).readmit_until is None  # staff may not
    manager.post(changelist, {"action": "readmit_selected", "_selected_action": [first.pk]})
    assert Device.objects.get(pk=first.pk).readmit_until is not None

    out = io.StringIO()
    call_command("readmit_device", second.hardware_id, "--reason", "board swapped", stdout=out)
    assert "re-admitted" in out.getvalue() and Device.objects.get(pk=second.pk).readmit_until is not None
    entries = AuditEntry.objects.filter(action="device.readmitted")
    assert {e.target_id for e in entries} == {first.public_id, second.public_id}
    for device in (first, second):
        response = _complete(APIClient(), token=issue_setup_token(world_a.site), location_id=world_a.site.location_id,
                             hardware_id=device.hardware_id, key=DeviceKey())
        assert response.status_code == 200


# --- renewal -------------------------------------------------------------------------------------


def test_the_previous_token_stops_working_after_a_renewal(world_a, issue_setup_token):
    device, access, key = _enrolled(world_a, issue_setup_token)
    renewed = _renew(key, device.public_id)
    assert renewed.status_code == 200
    assert _device_client(access).get(ME).status_code == 401
    assert _device_client(renewed.json()["access"]).get(ME).status_code == 200
    again = _renew(key, device.public_id)
    assert _device_client(renewed.json()["access"]).get(ME).status_code == 401
    assert _device_client(again.json()["access"]).get(ME).status_code == 200


def test_what_a_device_calls_itself_carries_no_personal_data(world_a, issue_setup_token):
    """The hardware id and model are stored and shown: a name with a birth date in them is refused."""
    token = issue_setup_token(world_a.site)
    refused = APIClient().post(ENROLL, {
        "setup_token": token, "location_id": world_a.site.location_id, "hardware_id": "John Smith 1990-04-01",
        "model": "m", "kind": "scanner", "public_key": DeviceKey().public_b64}, format="json")
    assert refused.status_code == 400 and "hardware_id" in refused.json()["error"]["fields"]
    assert "John" not in refused.content.decode()
    assert not SetupToken.objects.filter(uses__gt=0).exists()
    started = APIClient().post(ENROLL, {
        "setup_token": token, "location_id": world_a.site.location_id, "hardware_id": "pi-till-2",
        "model": "Raspberry Pi 4", "kind": "scanner", "public_key": DeviceKey().public_b64}, format="json")
    assert started.status_code == 201
