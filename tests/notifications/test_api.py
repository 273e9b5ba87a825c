"""Channels, policies and notifications through the API."""

from __future__ import annotations

import pytest

from apps.notifications.models import Channel, Notification

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "kind": "sms", "target": "912345678"}, "target"),
    ({"name": "x", "kind": "sms", "target": "+1555"}, "target"),
    ({"name": "x", "kind": "email", "target": "not-an-address"}, "target"),
    ({"name": "x", "kind": "slack", "target": "security"}, "target"),
    ({"name": "x", "kind": "webhook", "target": "ftp://x"}, "target"),
    ({"name": "x", "kind": "webhook", "target": "https://example.com/h", "secret": "short"}, "secret"),
    ({"name": "x", "kind": "pigeon", "target": "roof"}, "kind"),
])
def test_channel_validation(world_a, client_for, body, field):
    response = client_for(world_a.admin).post("/api/v1/channels/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_channel_create_normalises_and_hides_secret(world_a, client_for):
    client = client_for(world_a.admin)
    response = client.post("/api/v1/channels/", {"name": "Security", "kind": "sms", "target": "+351 912 345 678"},
                           format="json")
    assert response.status_code == 201 and response.json()["target"] == "+351912345678"
    hook = client.post("/api/v1/channels/", {"name": "Hook", "kind": "webhook", "target": "https://example.com/h",
                                             "secret": "x" * 20}, format="json").json()
    assert "secret" not in hook and hook["has_secret"] is True
    assert client_for(world_a.staff).get("/api/v1/channels/").status_code == 403


def test_channel_test_endpoint_sends_through_console(world_a, client_for):
    client = client_for(world_a.admin)
    created = client.post("/api/v1/channels/", {"name": "S", "kind": "sms", "target": "+351912345678"},
                          format="json").json()
    response = client.post(f"/api/v1/channels/{created['id']}/test/")
    assert response.status_code == 200 and response.json()["provider"] == "console"


def test_policy_with_steps(world_a, world_b, client_for):
    client = client_for(world_a.admin)
    sms = client.post("/api/v1/channels/", {"name": "S", "kind": "sms", "target": "+351912345678"},
                      format="json").json()
    body = {"name": "Breach", "kinds": ["breach"], "steps": [{"delay_minutes": 0, "channels": [sms["id"]]},
                                                             {"delay_minutes": 5, "channels": [sms["id"]]}]}
    created = client.post("/api/v1/escalation-policies/", body, format="json")
    assert created.status_code == 201, created.content
    assert [s["delay_minutes"] for s in created.json()["step_list"]] == [0, 5]
    foreign = Channel.objects.create(tenant=world_b.tenant, name="B", kind="sms", target="+351912345679")
    body["steps"][0]["channels"] = [foreign.public_id]
    assert client.post("/api/v1/escalation-policies/", body, format="json").status_code == 400
    body["steps"] = [{"delay_minutes": 5, "channels": [sms["id"]]}, {"delay_minutes": 0, "channels": [sms["id"]]}]
    assert client.post("/api/v1/escalation-policies/", body, format="json").status_code == 400


def test_dead_notifications_are_listed_and_replayable(world_a, client_for, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a)])])
    row = Notification.objects.get(alert=raise_alert(world_a))
    Notification.objects.filter(pk=row.pk).update(status="dead", error_code="503", last_error="Twilio answered 503")
    client = client_for(world_a.staff)
    listed = client.get("/api/v1/notifications/?status=dead").json()["results"]
    assert [n["id"] for n in listed] == [row.public_id] and listed[0]["error_code"] == "503"
    replayed = client.post(f"/api/v1/notifications/{row.public_id}/replay/")
    assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
    assert client_for(world_a.viewer).post(f"/api/v1/notifications/{row.public_id}/replay/").status_code == 403


def test_metrics_export_outbox_state(world_a, client, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a)])])
    row = Notification.objects.get(alert=raise_alert(world_a))
    Notification.objects.filter(pk=row.pk).update(status="dead", dead_at=row.created_at)
    body = client.get("/metrics").content.decode()
    assert 'tocsin_notifications{status="dead"} 1.0' in body
    assert "tocsin_notifications_dead_total 1.0" in body
