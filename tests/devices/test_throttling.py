"""Every rate-limit scope answers 429 with Retry-After once its window is spent."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from apps.audit.services import Actor
from apps.devices.api_keys import api_key_create
from tests.support.device_keys import enroll

pytestmark = pytest.mark.django_db


def _spend(call, limit: int):
    # Windows are fixed per minute: don't let the burst straddle a minute boundary.
    if time.time() % 60 > 50:
        time.sleep(60 - time.time() % 60 + 0.1)
    for _ in range(limit):
        assert call().status_code != 429
    refused = call()
    assert refused.status_code == 429, refused.status_code
    assert int(refused["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "throttled"
    return refused


def test_enrolment_is_limited_per_ip(db, settings):
    settings.TOCSIN_RATE_LIMITS = {**settings.TOCSIN_RATE_LIMITS, "enroll": "3/hour"}
    client = APIClient()
    _spend(lambda: client.post("/api/v1/devices/enroll/", {}, format="json"), 3)
    other_ip = APIClient(REMOTE_ADDR="10.9.9.9")
    assert other_ip.post("/api/v1/devices/enroll/", {}, format="json").status_code == 400


def test_devices_are_limited_per_device(world_a, settings, issue_setup_token):
    issued, _ = enroll(APIClient(), token=issue_setup_token(world_a.site), location_id=world_a.site.location_id,
                       hardware_id="hw-throttle")
    settings.TOCSIN_RATE_LIMITS = {**settings.TOCSIN_RATE_LIMITS, "device": "4/min"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued['access']}")
    _spend(lambda: client.get("/api/v1/devices/me/"), 4)


def test_people_are_limited_per_user(world_a, client_for, settings):
    settings.TOCSIN_RATE_LIMITS = {**settings.TOCSIN_RATE_LIMITS, "user": "5/min"}
    client = client_for(world_a.staff)
    _spend(lambda: client.get("/api/v1/sites/"), 5)
    assert client_for(world_a.admin).get("/api/v1/sites/").status_code == 200


def test_api_keys_are_limited_by_their_tier(world_a):
    issued = api_key_create(tenant=world_a.tenant, name="k", scopes=["read"], actor=Actor.system("t"))
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=issued.key)
    from apps.devices.models import ApiKey

    ApiKey.objects.update(tier=60)
    _spend(lambda: client.get("/api/v1/devices/"), 60)
