"""Limits that hold (issue 13): renewal is counted per device, apart from enrolment's
per-IP limit; with Redis unreachable, enrolment, renewal and login answer 503 instead of
passing, while devices' reports are still accepted."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.devices.models import Device
from tests.factories import DEFAULT_PASSWORD
from tests.support.device_keys import DeviceKey, enroll
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db


def _renew(client, key: DeviceKey, device_id: str):
    challenge = client.post("/api/v1/devices/challenge/", {"device_id": device_id}, format="json")
    if challenge.status_code != 200:
        return challenge
    body = challenge.json()
    return client.post("/api/v1/devices/token/", {
        "device_id": device_id, "challenge_id": body["challenge_id"],
        "signature": key.sign_renewal(challenge_id=body["challenge_id"], device_id=device_id,
                                      challenge=body["challenge"])}, format="json")


def test_renewal_is_limited_per_device_not_by_the_enrolment_limit(world_a, settings, issue_setup_token):
    if time.time() % 3600 > 3580:  # fixed windows: don't let the test straddle an hour boundary
        time.sleep(3600 - time.time() % 3600 + 0.1)
    token = issue_setup_token(world_a.site, max_uses=3)
    fleet = [enroll(APIClient(), token=token, location_id=world_a.site.location_id, hardware_id=f"nat-{n}")
             for n in range(3)]
    # One NAT address: enrolling the fleet spent enrolment's per-IP budget; renewals go on per device.
    settings.TOCSIN_RATE_LIMITS = {**settings.TOCSIN_RATE_LIMITS, "enroll": "1/hour", "renew": "4/hour"}
    nat = APIClient()
    assert nat.post("/api/v1/devices/enroll/", {}, format="json").status_code == 429
    (first, first_key), *others = fleet
    assert _renew(nat, first_key, first["device_id"]).status_code == 200
    assert _renew(nat, first_key, first["device_id"]).status_code == 200
    refused = nat.post("/api/v1/devices/challenge/", {"device_id": first["device_id"]}, format="json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    for issued, key in others:
        assert _renew(nat, key, issued["device_id"]).status_code == 200


def _assert_unavailable(response):
    assert response.status_code == 503, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "rate_limit_unavailable"
    assert int(response["Retry-After"]) >= 1


def test_with_redis_down_enrolment_renewal_and_login_fail_closed_and_heartbeats_pass(
        world_a, issue_setup_token, redis_unreachable_later):
    token = issue_setup_token(world_a.site, max_uses=5)
    issued, key = enroll(APIClient(), token=token, location_id=world_a.site.location_id, hardware_id="pi-down")
    redis_unreachable_later()
    client = APIClient()

    _assert_unavailable(client.post("/api/v1/devices/enroll/", {
        "setup_token": token, "location_id": world_a.site.location_id, "hardware_id": "pi-new", "model": "m",
        "kind": "scanner", "public_key": DeviceKey().public_b64}, format="json"))
    _assert_unavailable(client.post("/api/v1/devices/enroll/complete/", {}, format="json"))
    _assert_unavailable(client.post("/api/v1/devices/challenge/", {"device_id": issued["device_id"]},
                                    format="json"))
    _assert_unavailable(client.post("/api/devices/register", {
        "deviceId": "tab-down", "roomId": "1", "hotelId": world_a.site.location_id, "setupToken": token},
        format="json"))
    _assert_unavailable(client.post("/api/v1/auth/token/", {"username": world_a.admin.username,
                                                            "password": DEFAULT_PASSWORD}, format="json"))
    _assert_unavailable(Client().post("/admin/login/", {"username": world_a.admin.username,
                                                        "password": DEFAULT_PASSWORD}))
    assert not Client().login(username=world_a.admin.username, password=DEFAULT_PASSWORD)  # any other path
    assert not Device.objects.filter(hardware_id__in=["pi-new", "tab-down"]).exists()

    device = APIClient()
    device.credentials(HTTP_AUTHORIZATION=f"Bearer {issued['access']}")
    beat = device.post("/api/v1/heartbeats/", {"sent_at": timezone.now().isoformat(), "battery": {"level": 80}},
                       format="json")
    assert beat.status_code in (200, 201, 202), beat.content
    assert Device.objects.get(public_id=issued["device_id"]).battery_level == 80


@pytest.fixture
def redis_unreachable_later(settings):
    """Call it to point the cache at a closed port from then on (after the setup that needs Redis)."""

    def _cut():
        default = settings.CACHES["default"]
        settings.CACHES = {**settings.CACHES, "default": {
            **default, "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {**default.get("OPTIONS", {}), "socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}

    return _cut
