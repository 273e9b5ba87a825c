"""Staff side: devices, setup tokens (with QR) and API keys through the API."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.models import AuditEntry
from apps.devices.models import ApiKey, Device
from tests.factories import DeviceFactory, SiteFactory

pytestmark = pytest.mark.django_db


def test_list_and_filter_devices(world_a, client_for):
    other_site = SiteFactory(tenant=world_a.tenant)
    tablet = DeviceFactory(site=world_a.site, kind="tablet", last_seen_at=timezone.now())
    scanner = DeviceFactory(site=other_site, kind="scanner")
    client = client_for(world_a.viewer)
    assert {d["id"] for d in client.get("/api/v1/devices/").json()["results"]} == {tablet.public_id,
                                                                                  scanner.public_id}
    assert [d["id"] for d in client.get("/api/v1/devices/?kind=scanner").json()["results"]] == [scanner.public_id]
    assert [d["id"] for d in client.get(f"/api/v1/devices/?site={other_site.public_id}").json()["results"]] == [
        scanner.public_id]
    assert [d["id"] for d in client.get("/api/v1/devices/?never_seen=true").json()["results"]] == [
        scanner.public_id]
    bad = client.get("/api/v1/devices/?last_seen_before=yesterday")
    assert bad.status_code == 400


def test_rename_and_move_within_tenant(world_a, client_for):
    device = DeviceFactory(site=world_a.site)
    new_site = SiteFactory(tenant=world_a.tenant)
    response = client_for(world_a.admin).patch(f"/api/v1/devices/{device.public_id}/",
                                               {"name": "Room 101 tablet", "site": new_site.public_id},
                                               format="json")
    assert response.status_code == 200, response.json()
    device.refresh_from_db()
    assert device.name == "Room 101 tablet" and device.site == new_site
    assert AuditEntry.objects.filter(action="device.updated", target_id=device.public_id).exists()


def test_cannot_move_to_another_tenants_site(world_a, world_b, client_for):
    device = DeviceFactory(site=world_a.site)
    response = client_for(world_a.admin).patch(f"/api/v1/devices/{device.public_id}/",
                                               {"site": world_b.site.public_id}, format="json")
    assert response.status_code == 400
    assert "site" in response.json()["error"]["fields"]
    device.refresh_from_db()
    assert device.site == world_a.site


def test_staff_may_revoke_but_not_rename(world_a, client_for):
    device = DeviceFactory(site=world_a.site)
    client = client_for(world_a.staff)
    assert client.patch(f"/api/v1/devices/{device.public_id}/", {"name": "x"}, format="json").status_code == 403
    assert client.post(f"/api/v1/devices/{device.public_id}/revoke/", {}, format="json").status_code == 200
    assert client_for(world_a.viewer).post(f"/api/v1/devices/{device.public_id}/revoke/", {},
                                           format="json").status_code == 403
    entry = AuditEntry.objects.get(action="device.revoked")
    assert entry.actor_label == world_a.staff.username


def test_setup_token_created_once_with_qr(world_a, client_for):
    client = client_for(world_a.admin)
    response = client.post("/api/v1/setup-tokens/", {"site": world_a.site.public_id, "max_uses": 3,
                                                     "ttl_hours": 2}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["token"].startswith("st_") and body["max_uses"] == 3
    assert body["qr_svg"].startswith("<svg")
    assert base64.b64decode(body["qr_png_base64"]).startswith(b"\x89PNG")
    assert f'"location_id":"{world_a.site.location_id}"' in body["qr_payload"]
    assert response["Cache-Control"] == "no-store"
    listed = client.get("/api/v1/setup-tokens/").json()["results"]
    assert listed[0]["id"] == body["id"] and "token" not in listed[0]
    png = client.post("/api/v1/setup-tokens/?qr=png", {"site": world_a.site.public_id}, format="json")
    assert png.status_code == 201 and png["Content-Type"] == "image/png"


def test_setup_token_rules(world_a, world_b, client_for):
    assert client_for(world_a.staff).post("/api/v1/setup-tokens/", {"site": world_a.site.public_id},
                                          format="json").status_code == 403
    foreign = client_for(world_a.admin).post("/api/v1/setup-tokens/", {"site": world_b.site.public_id},
                                             format="json")
    assert foreign.status_code == 400
    too_long = client_for(world_a.admin).post("/api/v1/setup-tokens/", {"site": world_a.site.public_id,
                                                                        "ttl_hours": 10000}, format="json")
    assert too_long.status_code == 400


def test_setup_token_revoke_stops_enrolment(world_a, client_for):
    client = client_for(world_a.admin)
    created = client.post("/api/v1/setup-tokens/", {"site": world_a.site.public_id}, format="json").json()
    assert client.post(f"/api/v1/setup-tokens/{created['id']}/revoke/").json()["state"] == "revoked"
    from tests.support.device_keys import DeviceKey

    response = APIClient().post("/api/v1/devices/enroll/", {
        "setup_token": created["token"], "location_id": world_a.site.location_id, "hardware_id": "hw-9",
        "kind": "tablet", "public_key": DeviceKey().public_b64}, format="json")
    assert response.status_code == 403
    assert AuditEntry.objects.filter(action="setup_token.revoked").count() == 1


def test_api_key_lifecycle_and_scopes(world_a, client_for):
    admin = client_for(world_a.admin)
    device = DeviceFactory(site=world_a.site)
    created = admin.post("/api/v1/api-keys/", {"name": "BI tool", "scopes": ["read"], "tier": 300},
                         format="json")
    assert created.status_code == 201, created.json()
    key = created.json()["key"]
    assert key.startswith("tk_") and "key" not in admin.get("/api/v1/api-keys/").json()["results"][0]

    integration = APIClient()
    integration.credentials(HTTP_X_API_KEY=key)
    listed = integration.get("/api/v1/devices/")
    assert listed.status_code == 200 and listed.json()["results"][0]["id"] == device.public_id
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert bearer.get("/api/v1/sites/").status_code == 200
    # read scope cannot write, and keys never manage keys
    assert integration.post(f"/api/v1/devices/{device.public_id}/revoke/", {}, format="json").status_code == 403
    assert integration.get("/api/v1/api-keys/").status_code == 403
    assert ApiKey.objects.get().last_used_at is not None

    assert admin.post(f"/api/v1/api-keys/{created.json()['id']}/revoke/").status_code == 200
    assert integration.get("/api/v1/devices/").status_code == 401


@pytest.mark.parametrize("presented", ["tk_short", "tk_aaaaaaaaaaaa_" + "x" * 43, "tk_"])
def test_malformed_or_unknown_keys_are_401(db, presented):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=presented)
    assert client.get("/api/v1/devices/").status_code == 401


def test_expired_key_is_401(world_a, client_for):
    created = client_for(world_a.admin).post("/api/v1/api-keys/", {"name": "k", "scopes": ["read"]},
                                             format="json").json()
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=created["key"])
    assert client.get("/api/v1/devices/").status_code == 401


def test_wrong_secret_with_right_prefix_is_401(world_a, client_for):
    created = client_for(world_a.admin).post("/api/v1/api-keys/", {"name": "k", "scopes": ["read"]},
                                             format="json").json()
    prefix = created["key"].split("_")[1]
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=f"tk_{prefix}_{'A' * 43}")
    assert client.get("/api/v1/devices/").status_code == 401


def test_device_revocation_applies_to_all_tokens_at_once(world_a, client_for):
    device = DeviceFactory(site=world_a.site)
    before = device.token_version
    client_for(world_a.admin).post(f"/api/v1/devices/{device.public_id}/revoke/", {"reason": "lost"},
                                   format="json")
    assert Device.objects.get(pk=device.pk).token_version == before + 1
