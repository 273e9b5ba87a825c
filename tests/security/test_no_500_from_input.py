"""No input reaches a 500 (issue 13): each cause the security test found answers 4xx.

Each test sends what the attacker sent, as the caller who could send it (nobody, a tenant
admin or staff member, an integration's key, an enrolled device), and checks the answer
is a clear 4xx in the house error shape, and that nothing was stored.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.alerts.models import Alert
from apps.audit.services import Actor
from apps.devices.api_keys import api_key_create
from apps.devices.models import Device
from apps.ingest.models import HealthSample, TelemetryReading
from apps.tenancy.models import Site
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db

JSON = "application/json"


def _nested(depth: int, leaf="x") -> str:
    """`{"a": {"a": ... leaf ...}}`, `depth` objects deep."""
    return '{"a": ' * depth + json.dumps(leaf) + "}" * depth


def _error(response) -> dict:
    assert response["Content-Type"].startswith(JSON), response.content[:200]
    return response.json()["error"]


def _events_client(world) -> APIClient:
    issued = api_key_create(tenant=world.tenant, name="monitor", scopes=["read", "write_events"],
                            actor=Actor.system("t"))
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=issued.key)
    return client


def _heartbeat(**fields) -> dict:
    return {"sent_at": timezone.now().isoformat(), **fields}


# --- 1. JSON nested ~1,000 deep, on every JSON endpoint, authenticated or not -------------------


@pytest.mark.parametrize("path", ["/api/v1/devices/enroll/", "/api/v1/devices/token/", "/api/v1/auth/token/",
                                  "/api/devices/register", "/api/v1/sites/", "/api/v1/heartbeats/",
                                  "/api/v1/events/", "/api/heartbeat"])
@pytest.mark.parametrize("body", ["[" * 1000 + "]" * 1000, _nested(1000), _nested(65)])
def test_deeply_nested_json_is_400_everywhere(world_a, client_for, device_client, path, body):
    _, device = device_client(world_a.site)
    client = {"/api/v1/sites/": client_for(world_a.admin), "/api/v1/heartbeats/": device,
              "/api/heartbeat": device, "/api/v1/events/": _events_client(world_a)}.get(path, APIClient())
    response = client.post(path, body, content_type=JSON)
    assert response.status_code == 400
    assert "64" in _error(response)["message"]


def test_json_nested_64_deep_is_accepted(world_a):
    details = json.loads(_nested(60))  # 60 here + the body's 3 levels above it
    response = _events_client(world_a).post("/api/v1/events/", {
        "event_action": "trigger", "dedup_key": "deep",
        "payload": {"summary": "deep", "severity": "info", "source": "probe", "details": {"d": details}}},
        format="json")
    assert response.status_code == 202, response.content


# --- 2-4. NUL in text, JSON keys and values, query params, paths and related-field lookups --------


def test_nul_in_a_text_field_is_400_naming_it(world_a, client_for):
    response = client_for(world_a.admin).post("/api/v1/sites/", {"name": "Lobby\x00", "location_id": "L1",
                                                                  "kind": "hotel"}, format="json")
    assert response.status_code == 400
    assert "name" in _error(response)["fields"]
    assert not Site.objects.filter(location_id="L1").exists()


def test_nul_in_a_json_key_or_nested_value_is_400(world_a):
    client = _events_client(world_a)
    for details in ({"bad\x00key": 1}, {"list": ["ok", "b\x00d"]}):
        response = client.post("/api/v1/events/", {
            "event_action": "trigger", "dedup_key": "nul",
            "payload": {"summary": "s", "severity": "info", "source": "probe", "custom_details": details}},
            format="json")
        assert response.status_code == 400, details
        assert _error(response)["fields"]
    assert not Alert.objects.exists()


def test_nul_in_device_report_text_is_400(world_a, device_client):
    _, device = device_client(world_a.site)
    response = device.post("/api/v1/heartbeats/", _heartbeat(firmware="1.0\x00"), format="json")
    assert response.status_code == 400
    assert "firmware" in _error(response)["fields"]


def test_nul_in_a_related_field_lookup_is_400(world_a, client_for):
    device = DeviceFactory(site=world_a.site)
    client = client_for(world_a.admin)
    response = client.patch(f"/api/v1/devices/{device.public_id}/", {"site": "site_\x00"}, format="json")
    assert response.status_code == 400
    assert "site" in _error(response)["fields"]
    response = client.post("/api/v1/setup-tokens/", {"site": "\x00"}, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize("url", ["/api/v1/sites/%00/", "/api/v1/alerts/?site=%00", "/api/v1/devices/?kind=a%00b",
                                 "/api/v1/audit/?target_id=%00", "/api/alerts/recent?since=%00"])
def test_nul_in_a_path_or_query_parameter_is_400(world_a, client_for, url):
    response = client_for(world_a.staff).get(url)
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid"


def test_nul_in_a_header_is_400(world_a, client_for):
    response = client_for(world_a.staff).get("/api/v1/sites/", HTTP_X_TENANT="tenant-a\x00")
    assert response.status_code == 400


def test_nul_in_an_admin_search_is_400_not_500(world_a, client):
    client.force_login(world_a.admin)
    assert client.get("/admin/tenancy/site/?q=%00").status_code == 400


# --- 5. Integers beyond int4/int8 -----------------------------------------------------------------


@pytest.mark.parametrize("field, value", [("uptime_s", 2**63), ("error_count", 2**31), ("uptime_s", -1),
                                          ("error_count", 10**30)])
def test_integers_beyond_their_column_are_400(world_a, device_client, field, value):
    _, device = device_client(world_a.site)
    response = device.post("/api/v1/heartbeats/", _heartbeat(**{field: value}), format="json")
    assert response.status_code == 400, response.content
    assert not HealthSample.objects.exists()


def test_integers_within_their_column_are_stored(world_a, device_client):
    _, device = device_client(world_a.site)
    response = device.post("/api/v1/heartbeats/", _heartbeat(uptime_s=2**40, error_count=2**31 - 1), format="json")
    assert response.status_code == 202, response.content


# --- 6. 1e999, 10^400, NaN and Infinity -------------------------------------------------------------


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "1" + "0" * 400, "NaN", "Infinity"])
def test_numbers_no_column_holds_are_400(world_a, device_client, literal):
    _, device = device_client(world_a.site)
    now = timezone.now().isoformat()
    bodies = {
        "/api/v1/heartbeats/": f'{{"sent_at": "{now}", "health": {{"cpu_percent": {literal}}}}}',
        "/api/v1/telemetry/": (f'{{"readings": [{{"message_id": "2f1e8b1c-8a9b-4c55-9d5e-0b1c2d3e4f50", '
                               f'"metric": "power_ac", "value": {literal}, "ts": "{now}"}}]}}'),
        "/api/v1/device-alerts/": f'{{"kind": "custom", "occurred_at": "{now}", "details": {{"x": {literal}}}}}',
    }
    for path, body in bodies.items():
        response = device.post(path, body, content_type=JSON)
        assert response.status_code == 400, (path, response.content)
    assert not TelemetryReading.objects.exists() and not Alert.objects.exists()


def test_huge_numbers_in_event_details_are_400(world_a):
    body = ('{"event_action": "trigger", "payload": {"summary": "s", "severity": "info", "source": "p", '
            '"custom_details": {"n": 1e999}}}')
    assert _events_client(world_a).post("/api/v1/events/", body, content_type=JSON).status_code == 400


# --- 7. Timestamps: offsets beyond ±14:00 (PostgreSQL refuses ±16:00), before 2000, year 1 ----------


@pytest.mark.parametrize("url", [
    "/api/v1/alerts/?since=2026-01-01T00:00:00%2B16:00",
    "/api/v1/alerts/?until=2026-01-01T00:00:00-15:30",
    "/api/v1/alerts/?since=0001-01-01T00:00:00Z",
    "/api/v1/devices/?last_seen_before=2026-01-01T00:00:00%2B23:59",
    "/api/v1/devices/?last_seen_after=9999-12-31T23:59:59-14:00",
    "/api/alerts/recent?since=2026-01-01T00:00:00%2B16:00",
    "/api/v1/analytics/scans/?since=2026-01-01T00:00:00%2B16:00",
])
def test_query_instants_out_of_range_are_400(world_a, client_for, url):
    response = client_for(world_a.staff).get(url)
    assert response.status_code == 400, response.content
    assert _error(response)["fields"]


def test_query_instants_within_range_are_answered(world_a, client_for):
    client = client_for(world_a.staff)
    assert client.get("/api/v1/alerts/?since=2026-01-01T00:00:00%2B14:00").status_code == 200
    assert client.get("/api/alerts/recent?since=2026-01-01T00:00:00-12:00").status_code == 200


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "1999-12-31T23:59:59Z",
                                   "2026-01-01T00:00:00+16:00"])
def test_device_clocks_out_of_range_are_400(world_a, device_client, stamp):
    _, device = device_client(world_a.site)
    response = device.post("/api/v1/heartbeats/", {"sent_at": stamp}, format="json")
    assert response.status_code == 400 and "sent_at" in _error(response)["fields"]
    response = device.post("/api/v1/device-alerts/", {"kind": "custom", "occurred_at": stamp}, format="json")
    assert response.status_code == 400 and "occurred_at" in _error(response)["fields"]
    assert not Alert.objects.exists()


def test_batch_items_with_offsets_postgresql_refuses_are_rejected_items(world_a, device_client):
    _, device = device_client(world_a.site)
    good = timezone.now().isoformat()
    bad = (timezone.now() + timedelta(hours=16)).replace(tzinfo=None).isoformat() + "+16:00"
    readings = [{"message_id": f"2f1e8b1c-8a9b-4c55-9d5e-0b1c2d3e4f5{i}", "metric": "power_ac", "value": 1.0,
                 "ts": ts} for i, ts in enumerate([good, bad])]
    response = device.post("/api/v1/telemetry/", {"readings": readings}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == 1
    assert [item["index"] for item in response.json()["rejected"]] == [1]


# --- details / custom_details capped at 8 KiB --------------------------------------------------------


@pytest.mark.parametrize("field", ["details", "custom_details"])
def test_event_details_past_8_kib_are_400(world_a, field):
    response = _events_client(world_a).post("/api/v1/events/", {
        "event_action": "trigger", "payload": {"summary": "s", "severity": "info", "source": "p",
                                               field: {"blob": "x" * 900_000}}}, format="json")
    assert response.status_code == 400
    assert field in _error(response)["fields"]["payload"]
    assert not Alert.objects.exists()


def test_device_alert_details_past_8_kib_count_bytes_not_characters(world_a, device_client):
    _, device = device_client(world_a.site)
    response = device.post("/api/v1/device-alerts/", {"kind": "custom", "occurred_at": timezone.now().isoformat(),
                                                      "details": {"note": "é" * 5000}}, format="json")
    assert response.status_code == 400 and "details" in _error(response)["fields"]


# --- 8. Deleting a site with devices (ProtectedError) -------------------------------------------------


def test_deleting_a_site_with_devices_deprovisions_and_archives_it(world_a, client_for):
    """Once a 500 (ProtectedError); now the site is deprovisioned: its devices revoked, and
    the site archived while anything recorded points at it (the data-lifecycle rules)."""
    device = DeviceFactory(site=world_a.site)
    _history_at(world_a, device)
    response = client_for(world_a.admin).delete(f"/api/v1/sites/{world_a.site.public_id}/")
    assert response.status_code == 204
    assert Site.objects.get(pk=world_a.site.pk).archived_at is not None
    assert Device.objects.get(pk=device.pk).status == "revoked"


def _history_at(world, device) -> None:
    from apps.alerts.services import alert_raise

    alert_raise(tenant=world.tenant, kind="tamper", dedup_key=f"tamper:{device.pk}", severity="high",
                summary="case opened", source="device", site=world.site, device=device)


def test_deleting_a_site_without_devices_still_works(world_a, client_for):
    response = client_for(world_a.admin).delete(f"/api/v1/sites/{world_a.site.public_id}/")
    assert response.status_code == 204
    assert not Site.objects.filter(pk=world_a.site.pk).exists()


def test_admin_delete_of_a_site_with_devices_archives_it(world_a, client):
    device = DeviceFactory(site=world_a.site)
    _history_at(world_a, device)
    client.force_login(world_a.admin)
    url = f"/admin/tenancy/site/{world_a.site.pk}/delete/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert Site.objects.get(pk=world_a.site.pk).archived_at is not None
    assert Device.objects.get(pk=device.pk).status == "revoked"


def test_admin_bulk_delete_of_sites_with_devices_archives_them(world_a, client):
    _history_at(world_a, DeviceFactory(site=world_a.site))
    client.force_login(world_a.admin)
    response = client.post("/admin/tenancy/site/", {"action": "delete_selected", "_selected_action": [world_a.site.pk],
                                                    "post": "yes"}, follow=True)
    assert response.status_code == 200
    assert b"archived (it has history)" in response.content
    assert Site.objects.get(pk=world_a.site.pk).archived_at is not None


# --- 10-11. Twilio hook bodies over 1 MB or with more than 1,000 fields ---------------------------------


def test_twilio_hook_body_over_1_mb_is_413_json(client, settings):
    settings.TWILIO_AUTH_TOKEN = "t" * 32
    body = "MessageSid=SM123&MessageStatus=delivered&Pad=" + "x" * (1024 * 1024)
    response = client.post("/hooks/twilio/status/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


def test_twilio_hook_body_with_too_many_fields_is_400_json(client, settings):
    settings.TWILIO_AUTH_TOKEN = "t" * 32
    body = "&".join(f"f{i}=v" for i in range(1001))
    response = client.post("/hooks/twilio/status/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid"


def test_twilio_hook_field_with_nul_is_400_json(client, settings):
    settings.TWILIO_AUTH_TOKEN = "t" * 32
    response = client.post("/hooks/twilio/status/", "MessageSid=SM1%00&MessageStatus=delivered",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert _error(response)["fields"] == {"body": ["NUL characters are not allowed."]}


def test_api_body_over_the_limit_is_413_json_for_a_device_too(world_a, device_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    _, device = device_client(world_a.site)
    response = device.post("/api/v1/heartbeats/", _heartbeat(firmware="x" * 5000), format="json")
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


# --- people-only endpoints asked by an integration --------------------------------------------------------


def test_me_with_an_api_key_is_403_not_500(world_a):
    assert _events_client(world_a).get("/api/v1/me/").status_code == 403


# --- JSON typed into the admin is held to the same limits -------------------------------------------------


@pytest.mark.parametrize("typed", ["[" * 3000 + "]" * 3000, '{"1": [["09:00", "17:00\\u0000"]]}', '{"1": 1e999}'])
def test_admin_json_fields_refuse_what_the_api_refuses(world_a, client, typed):
    client.force_login(world_a.admin)
    site = world_a.site
    response = client.post(f"/admin/tenancy/site/{site.pk}/change/", {
        "tenant": world_a.tenant.pk, "name": site.name, "location_id": site.location_id, "kind": site.kind,
        "timezone": site.timezone, "address": "", "business_hours": typed})
    assert response.status_code == 200  # the form again, with the error; not a redirect, not a 500
    assert "business_hours" in response.context["adminform"].form.errors
    site.refresh_from_db()
    assert site.business_hours == world_a.site.business_hours


def test_twilio_hook_with_a_broken_multipart_body_is_400_json(client):
    response = client.generic("POST", "/hooks/twilio/status/", b"--x\r\nbroken",
                              content_type="multipart/form-data; boundary=")
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid"


# --- forged cursors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, position", [
    ("/api/v1/audit/", "not-a-number"),
    ("/api/v1/audit/", str(2**70)),
    ("/api/v1/alerts/", "not-a-date"),
    ("/api/v1/alerts/", "2026-01-01 00:00:00+16:00"),
    ("/api/v1/alerts/", "0001-01-01 00:00:00+00:00"),
])
def test_forged_cursor_positions_are_404(world_a, client_for, url, position):
    import base64
    from urllib.parse import urlencode

    cursor = base64.b64encode(urlencode({"p": position}).encode()).decode()
    response = client_for(world_a.admin).get(url, {"cursor": cursor})
    assert response.status_code == 404  # as DRF answers a cursor it cannot decode
    assert _error(response)["code"] == "not_found"


def test_a_real_cursor_still_pages(world_a, client_for):
    from apps.alerts.services import alert_raise

    for index in range(3):
        alert_raise(tenant=world_a.tenant, kind="external", dedup_key=f"ext:{index}", severity="info",
                    summary="s", source="external", actor=Actor.system("t"))
    client = client_for(world_a.admin)
    first = client.get("/api/v1/alerts/", {"page_size": 2}).json()
    second = client.get(first["next"])
    assert second.status_code == 200 and len(second.json()["results"]) == 1


# --- found by schemathesis ---------------------------------------------------------------------------------


def test_patching_a_policy_with_an_incomplete_step_is_400(world_a, client_for):
    from apps.notifications.channels import channel_create
    from apps.notifications.policies import policy_save

    actor = Actor.system("t")
    channel = channel_create(tenant=world_a.tenant, name="mail", kind="email", target="ops@example.com", actor=actor)
    policy = policy_save(tenant=world_a.tenant, actor=actor, name="p", steps=[{"delay_minutes": 0,
                                                                                "channels": [channel]}])
    client = client_for(world_a.admin)
    for step in ({"channels": [channel.public_id]}, {"delay_minutes": 5}):
        response = client.patch(f"/api/v1/escalation-policies/{policy.public_id}/", {"steps": [step]}, format="json")
        assert response.status_code == 400, response.content
        assert "steps" in _error(response)["fields"]
    assert policy.steps.get().delay_minutes == 0
