"""Commands over REST: sent by operators to a device or a group, handed out once in the
heartbeat answer, acknowledged with a result, expired when nobody answers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.devices.commands import commands_expire
from apps.devices.models import Device, DeviceCommand
from tests.factories import DeviceFactory, SiteFactory

pytestmark = pytest.mark.django_db


def _heartbeat(client):
    return client.post("/api/v1/heartbeats/", {"sent_at": timezone.now().isoformat()}, format="json")


def test_a_command_is_delivered_once_in_the_heartbeat_and_acked_with_its_result(world_a, client_for, device_client):
    device, client = device_client(world_a.site, kind="scanner")
    sent = client_for(world_a.staff).post("/api/v1/commands/", {"name": "flush", "device": device.public_id},
                                          format="json")
    assert sent.status_code == 201, sent.json()
    command_id = sent.json()[0]["id"]
    assert sent.json()[0]["status"] == "pending"
    answer = _heartbeat(client).json()
    assert [c["id"] for c in answer["commands"]] == [command_id] and answer["commands"][0]["name"] == "flush"
    assert DeviceCommand.objects.get(public_id=command_id).status == "delivered"
    assert "commands" not in _heartbeat(client).json()  # handed out once
    assert Device.objects.get(pk=device.pk).commands_waiting_since is None
    ack = client.post(f"/api/v1/devices/me/commands/{command_id}/ack/",
                      {"status": "ok", "result": {"acknowledged": 12}}, format="json")
    assert ack.status_code == 200 and ack.json()["status"] == "acked"
    again = client.post(f"/api/v1/devices/me/commands/{command_id}/ack/", {"status": "failed"}, format="json")
    assert again.json()["status"] == "acked"  # a resent ack changes nothing
    shown = client_for(world_a.viewer).get(f"/api/v1/commands/{command_id}/").json()
    assert shown["status"] == "acked" and shown["result"] == {"acknowledged": 12}
    assert AuditEntry.objects.filter(action="device.command_sent", target_id=device.public_id).exists()


def test_an_idle_heartbeat_does_not_look_for_commands(world_a, device_client):
    _, client = device_client(world_a.site)
    _heartbeat(client)
    with CaptureQueriesContext(connection) as queries:
        assert _heartbeat(client).status_code == 202
    assert not any("devicecommand" in q["sql"] for q in queries.captured_queries)


def test_an_unacknowledged_command_expires_and_says_so(world_a, client_for, device_client):
    device, client = device_client(world_a.site)
    sent = client_for(world_a.staff).post("/api/v1/commands/", {"name": "reload_config", "device": device.public_id,
                                                                "ttl_seconds": 60}, format="json").json()
    _heartbeat(client)
    assert commands_expire() == 0
    assert commands_expire(now=timezone.now() + timedelta(seconds=61)) == 1
    command = DeviceCommand.objects.get(public_id=sent[0]["id"])
    assert command.status == "expired" and "not acknowledged" in command.result["error"]
    assert "delivered" in command.result["error"]
    assert AuditEntry.objects.filter(action="device.command_expired").count() == 1
    late = client.post(f"/api/v1/devices/me/commands/{command.public_id}/ack/", {"status": "ok"}, format="json")
    assert late.status_code == 400 and late.json()["error"]["code"] == "command_expired"


def test_a_group_command_reaches_each_active_device_of_the_site_and_kind(world_a, client_for):
    other_site = SiteFactory(tenant=world_a.tenant)
    scanners = [DeviceFactory(site=world_a.site, kind="scanner") for _ in range(3)]
    DeviceFactory(site=world_a.site, kind="tablet")
    DeviceFactory(site=world_a.site, kind="scanner", status="revoked")
    DeviceFactory(site=other_site, kind="scanner")
    sent = client_for(world_a.staff).post("/api/v1/commands/", {"name": "flush", "site": world_a.site.public_id,
                                                                "kind": "scanner"}, format="json")
    assert sent.status_code == 201
    assert sorted(c["device"] for c in sent.json()) == sorted(d.public_id for d in scanners)
    assert len({c["group"] for c in sent.json()}) == 1


def test_power_limit_is_for_gateways_with_a_percent(world_a, client_for):
    tablet = DeviceFactory(site=world_a.site, kind="tablet")
    gateway = DeviceFactory(site=world_a.site, kind="gateway")
    staff = client_for(world_a.staff)
    assert staff.post("/api/v1/commands/", {"name": "set_power_limit", "device": tablet.public_id,
                                            "params": {"percent": 50}}, format="json").status_code == 400
    assert staff.post("/api/v1/commands/", {"name": "set_power_limit", "device": gateway.public_id,
                                            "params": {"percent": 150}}, format="json").status_code == 400
    assert staff.post("/api/v1/commands/", {"name": "flush", "device": gateway.public_id,
                                            "params": {"x": 1}}, format="json").status_code == 400
    assert staff.post("/api/v1/commands/", {"name": "set_power_limit", "device": gateway.public_id,
                                            "params": {"percent": 60}}, format="json").status_code == 201


def test_roles_and_tenants(world_a, world_b, client_for, device_client):
    device, _ = device_client(world_a.site)
    body = {"name": "flush", "device": device.public_id}
    assert client_for(world_a.viewer).post("/api/v1/commands/", body, format="json").status_code == 403
    assert client_for(world_a.admin).post("/api/v1/commands/", body, format="json").status_code == 201
    foreign = client_for(world_b.owner)
    assert foreign.post("/api/v1/commands/", body, format="json").status_code == 400  # no such device there
    command = DeviceCommand.objects.get(device=device)
    assert foreign.get(f"/api/v1/commands/{command.public_id}/").status_code == 404
    listed = foreign.get("/api/v1/commands/").json()
    assert (listed["results"] if isinstance(listed, dict) else listed) == []


def test_a_device_cannot_ack_another_devices_command(world_a, client_for, device_client):
    device, _ = device_client(world_a.site)
    _, intruder = device_client(world_a.site)
    sent = client_for(world_a.staff).post("/api/v1/commands/", {"name": "flush", "device": device.public_id},
                                          format="json").json()
    response = intruder.post(f"/api/v1/devices/me/commands/{sent[0]['id']}/ack/", {"status": "ok"}, format="json")
    assert response.status_code == 404
    assert DeviceCommand.objects.get(public_id=sent[0]["id"]).status == "pending"


def test_commands_can_be_polled_outside_heartbeats(world_a, client_for, device_client):
    device, client = device_client(world_a.site)
    client_for(world_a.staff).post("/api/v1/commands/", {"name": "reboot", "device": device.public_id},
                                   format="json")
    taken = client.get("/api/v1/devices/me/commands/")
    assert taken.status_code == 200 and [c["name"] for c in taken.json()] == ["reboot"]
    assert client.get("/api/v1/devices/me/commands/").json() == []
