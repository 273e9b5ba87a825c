"""Enrolment, renewal and revocation with a real Ed25519 key, and every way they refuse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.devices.models import Device, DeviceChallenge, Enrollment, SetupToken
from tests.support.device_keys import DeviceKey, enroll

pytestmark = pytest.mark.django_db

ENROLL = "/api/v1/devices/enroll/"
COMPLETE = "/api/v1/devices/enroll/complete/"
REFUSED = {"error": {"code": "enrollment_refused", "message": "Enrollment refused.", "fields": None}}


def _start(client, *, token, location_id, hardware_id="hw-1", key=None, kind="tablet"):
    key = key or DeviceKey()
    return client.post(ENROLL, {"setup_token": token, "location_id": location_id, "hardware_id": hardware_id,
                                "model": "m", "kind": kind, "public_key": key.public_b64}, format="json"), key


def _device_client(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _renew(client, key: DeviceKey, device_id: str):
    challenge = client.post("/api/v1/devices/challenge/", {"device_id": device_id}, format="json").json()
    signature = key.sign_renewal(challenge_id=challenge["challenge_id"], device_id=device_id,
                                 challenge=challenge["challenge"])
    return client.post("/api/v1/devices/token/", {"device_id": device_id, "challenge_id": challenge["challenge_id"],
                                                   "signature": signature}, format="json")


def test_enrol_renew_revoke_end_to_end(world_a, issue_setup_token, client_for):
    client = APIClient()
    token = issue_setup_token(world_a.site)
    issued, key = enroll(client, token=token, location_id=world_a.site.location_id, hardware_id="pi-0001",
                         kind="scanner")
    device = Device.objects.get(public_id=issued["device_id"])
    assert device.status == "active" and device.tenant == world_a.tenant and device.kind == "scanner"

    me = _device_client(issued["access"]).get("/api/v1/devices/me/")
    assert me.status_code == 200
    body = me.json()
    assert body["device_id"] == device.public_id
    assert body["site"]["location_id"] == world_a.site.location_id
    assert body["config"]["heartbeat_interval_seconds"] > 0
    assert len(body["config"]["scan_hash_key"]) == 64

    renewed = _renew(client, key, device.public_id)
    assert renewed.status_code == 200
    assert _device_client(renewed.json()["access"]).get("/api/v1/devices/me/").status_code == 200

    revoke = client_for(world_a.staff).post(f"/api/v1/devices/{device.public_id}/revoke/", {"reason": "stolen"},
                                            format="json")
    assert revoke.status_code == 200 and revoke.json()["status"] == "revoked"

    for access in (issued["access"], renewed.json()["access"]):
        assert _device_client(access).get("/api/v1/devices/me/").status_code == 401
    refused = _renew(client, key, device.public_id)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "device_revoked"


def test_replayed_challenge_is_refused(world_a, issue_setup_token):
    client = APIClient()
    token = issue_setup_token(world_a.site, max_uses=5)
    started, key = _start(client, token=token, location_id=world_a.site.location_id)
    body = started.json()
    signature = key.sign_enrollment(enrollment_id=body["enrollment_id"], hardware_id="hw-1",
                                    challenge=body["challenge"])
    payload = {"enrollment_id": body["enrollment_id"], "signature": signature}
    assert client.post(COMPLETE, payload, format="json").status_code == 200
    replay = client.post(COMPLETE, payload, format="json")
    assert replay.status_code == 403 and replay.json() == REFUSED
    assert SetupToken.objects.get().uses == 1


def test_renewal_challenge_is_single_use(world_a, issue_setup_token):
    client = APIClient()
    issued, key = enroll(client, token=issue_setup_token(world_a.site), location_id=world_a.site.location_id,
                         hardware_id="hw-r")
    challenge = client.post("/api/v1/devices/challenge/", {"device_id": issued["device_id"]}, format="json").json()
    payload = {"device_id": issued["device_id"], "challenge_id": challenge["challenge_id"],
               "signature": key.sign_renewal(challenge_id=challenge["challenge_id"], device_id=issued["device_id"],
                                             challenge=challenge["challenge"])}
    assert client.post("/api/v1/devices/token/", payload, format="json").status_code == 200
    assert client.post("/api/v1/devices/token/", payload, format="json").status_code == 401


def test_wrong_signature_is_refused(world_a, issue_setup_token):
    client = APIClient()
    started, _ = _start(client, token=issue_setup_token(world_a.site), location_id=world_a.site.location_id)
    body = started.json()
    impostor = DeviceKey().sign_enrollment(enrollment_id=body["enrollment_id"], hardware_id="hw-1",
                                           challenge=body["challenge"])
    response = client.post(COMPLETE, {"enrollment_id": body["enrollment_id"], "signature": impostor}, format="json")
    assert response.status_code == 403 and response.json() == REFUSED


def test_signature_for_another_hardware_id_is_refused(world_a, issue_setup_token):
    client = APIClient()
    started, key = _start(client, token=issue_setup_token(world_a.site), location_id=world_a.site.location_id)
    body = started.json()
    signature = key.sign_enrollment(enrollment_id=body["enrollment_id"], hardware_id="hw-OTHER",
                                    challenge=body["challenge"])
    response = client.post(COMPLETE, {"enrollment_id": body["enrollment_id"], "signature": signature}, format="json")
    assert response.status_code == 403


def test_expired_challenge_is_refused(world_a, issue_setup_token):
    client = APIClient()
    started, key = _start(client, token=issue_setup_token(world_a.site), location_id=world_a.site.location_id)
    body = started.json()
    Enrollment.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    signature = key.sign_enrollment(enrollment_id=body["enrollment_id"], hardware_id="hw-1",
                                    challenge=body["challenge"])
    response = client.post(COMPLETE, {"enrollment_id": body["enrollment_id"], "signature": signature}, format="json")
    assert response.status_code == 403 and response.json() == REFUSED


@pytest.mark.parametrize("case", ["used_up", "expired", "revoked", "wrong_location", "other_tenant", "garbage"])
def test_bad_setup_tokens_are_refused_alike(case, world_a, world_b, issue_setup_token):
    client = APIClient()
    token = issue_setup_token(world_a.site, max_uses=1)
    location = world_a.site.location_id
    if case == "used_up":
        enroll(client, token=token, location_id=location, hardware_id="first")
    elif case == "expired":
        SetupToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "revoked":
        SetupToken.objects.update(revoked_at=timezone.now())
    elif case == "wrong_location":
        location = "NOPE-1"
    elif case == "other_tenant":
        location = world_b.site.location_id
    elif case == "garbage":
        token = "st_not-a-real-token"
    response, _ = _start(client, token=token, location_id=location, hardware_id="second")
    assert response.status_code == 403
    assert response.json() == REFUSED


def test_reenrolling_with_the_current_key_rekeys_instead_of_twinning(world_a, issue_setup_token):
    """Changed on purpose (issue 13): a re-enrolment re-keys only with proof of the current key;
    signing the enrolment with that same key is that proof."""
    client = APIClient()
    token = issue_setup_token(world_a.site, max_uses=2)
    first, key = enroll(client, token=token, location_id=world_a.site.location_id, hardware_id="tab-101")
    second, _ = enroll(client, token=token, location_id=world_a.site.location_id, hardware_id="tab-101", key=key)
    assert first["device_id"] == second["device_id"]
    assert Device.objects.count() == 1
    assert _device_client(first["access"]).get("/api/v1/devices/me/").status_code == 401
    assert _device_client(second["access"]).get("/api/v1/devices/me/").status_code == 200


def test_hardware_of_another_tenant_is_refused(world_a, world_b, issue_setup_token):
    client = APIClient()
    enroll(client, token=issue_setup_token(world_a.site), location_id=world_a.site.location_id, hardware_id="hw-x")
    response, _ = _start(client, token=issue_setup_token(world_b.site), location_id=world_b.site.location_id,
                         hardware_id="hw-x")
    assert response.status_code == 403 and response.json() == REFUSED
    assert Device.objects.get(hardware_id="hw-x").tenant == world_a.tenant


@pytest.mark.parametrize("field, value", [
    ("public_key", "not-base64!"),
    ("public_key", "AAAA"),
    ("kind", "toaster"),
    ("hardware_id", "x"),
    ("setup_token", ""),
])
def test_malformed_enrolment_bodies_get_field_errors(world_a, field, value):
    body = {"setup_token": "st_x", "location_id": "L", "hardware_id": "hw-ok", "model": "m", "kind": "tablet",
            "public_key": DeviceKey().public_b64, field: value}
    response = APIClient().post(ENROLL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_unknown_device_gets_a_challenge_that_leads_nowhere(db):
    client = APIClient()
    response = client.post("/api/v1/devices/challenge/", {"device_id": "dev_aaaaaaaaaaaaaaaa"}, format="json")
    assert response.status_code == 200
    assert not DeviceChallenge.objects.exists()
    body = response.json()
    token = client.post("/api/v1/devices/token/", {"device_id": "dev_aaaaaaaaaaaaaaaa",
                                                   "challenge_id": body["challenge_id"],
                                                   "signature": DeviceKey().sign("x")}, format="json")
    assert token.status_code == 401


def test_person_token_is_not_a_device_token_and_vice_versa(world_a, issue_setup_token):
    client = APIClient()
    issued, _ = enroll(client, token=issue_setup_token(world_a.site), location_id=world_a.site.location_id,
                       hardware_id="hw-p")
    person = client.post("/api/v1/auth/token/", {"username": world_a.admin.username,
                                                 "password": "correct-horse-battery"}, format="json").json()
    assert _device_client(person["access"]).get("/api/v1/devices/me/").status_code == 401
    assert _device_client(issued["access"]).get("/api/v1/sites/").status_code == 401


def test_stale_token_version_is_refused(world_a, issue_setup_token):
    client = APIClient()
    issued, _ = enroll(client, token=issue_setup_token(world_a.site), location_id=world_a.site.location_id,
                       hardware_id="hw-v")
    Device.objects.update(token_version=99)
    assert _device_client(issued["access"]).get("/api/v1/devices/me/").status_code == 401


def _complete_eight_at_once(site, token: str, prefix: str) -> list[int]:
    """Start eight enrolments, then complete them all at the same moment from eight threads."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    prepared = []
    for index in range(8):
        hardware_id = f"{prefix}-{index}"
        started, key = _start(APIClient(), token=token, location_id=site.location_id, hardware_id=hardware_id)
        body = started.json()
        prepared.append({"enrollment_id": body["enrollment_id"], "signature": key.sign_enrollment(
            enrollment_id=body["enrollment_id"], hardware_id=hardware_id, challenge=body["challenge"])})

    def complete(payload):
        try:
            return APIClient().post(COMPLETE, payload, format="json").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(complete, prepared))


def test_concurrent_enrolments_cannot_overspend_a_token(transactional_db, world_a, issue_setup_token):
    """Eight devices race to complete with a one-use token: the database lets exactly one in."""
    statuses = _complete_eight_at_once(world_a.site, issue_setup_token(world_a.site, max_uses=1), "race")
    assert sorted(statuses) == [200] + [403] * 7
    assert Device.objects.count() == 1
    assert SetupToken.objects.get().uses == 1


def test_concurrent_enrolments_at_one_site_all_succeed(transactional_db, world_a, issue_setup_token):
    """Locks cover the enrolment rows only: devices enrolling together don't deadlock on the site."""
    statuses = _complete_eight_at_once(world_a.site, issue_setup_token(world_a.site, max_uses=8), "together")
    assert statuses == [200] * 8
    assert Device.objects.count() == 8
