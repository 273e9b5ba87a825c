"""The admin's side of shadows and commands: desired edits go through the shadow, command
actions queue commands, the command log is read-only and scoped to the viewer's tenant."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from apps.audit.services import Actor
from apps.devices.commands import command_send
from apps.devices.models import Device, DeviceCommand
from tests.factories import DEFAULT_PASSWORD, DeviceFactory

pytestmark = pytest.mark.django_db


def _login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def test_editing_desired_state_in_the_admin_versions_the_shadow(world_a):
    device = DeviceFactory(site=world_a.site, desired_state={"room_id": "101"})
    client = _login(world_a.admin)
    page = client.get(f"/admin/devices/device/{device.pk}/change/")
    assert page.status_code == 200 and "Shadow version" in page.content.decode()
    response = client.post(f"/admin/devices/device/{device.pk}/change/", {
        "name": device.name, "site": world_a.site.pk, "desired_state": json.dumps({"batch_size": 30})})
    assert response.status_code == 302, response.content.decode()[:2000]
    device.refresh_from_db()
    assert device.desired_state == {"batch_size": 30} and device.shadow_version == 1
    assert device.shadow_pending_since is not None


def test_command_actions_queue_commands_for_managed_devices_only(world_a, world_b):
    mine = DeviceFactory(site=world_a.site, kind="scanner")
    foreign = DeviceFactory(site=world_b.site, kind="scanner")
    client = _login(world_a.admin)
    client.post("/admin/devices/device/", {"action": "send_flush", "_selected_action": [mine.pk, foreign.pk]})
    assert list(DeviceCommand.objects.values_list("device_id", "name")) == [(mine.pk, "flush")]
    assert Device.objects.get(pk=mine.pk).commands_waiting_since is not None


@pytest.mark.parametrize("role", ["owner", "admin", "staff", "viewer"])
def test_the_command_log_shows_only_the_tenants_commands_and_cannot_be_edited(world_a, world_b, role):
    mine = DeviceFactory(site=world_a.site, name="Till 1")
    foreign = DeviceFactory(site=world_b.site, name="Other till")
    [own] = command_send(tenant=world_a.tenant, actor=Actor.system("t"), name="reboot", device=mine)
    [theirs] = command_send(tenant=world_b.tenant, actor=Actor.system("t"), name="reboot", device=foreign)
    user = getattr(world_a, role)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = _login(user)
    listing = client.get("/admin/devices/devicecommand/")
    if listing.status_code != 200:
        assert listing.status_code in (302, 403)  # roles without admin access see nothing at all
        return
    html = listing.content.decode()
    assert own.public_id in html and theirs.public_id not in html
    assert client.get(f"/admin/devices/devicecommand/{theirs.pk}/change/").status_code in (302, 404)
    assert client.get("/admin/devices/devicecommand/add/").status_code == 403
    detail = client.get(f"/admin/devices/devicecommand/{own.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()


def test_a_bad_desired_document_is_a_form_error_not_a_500(world_a):
    device = DeviceFactory(site=world_a.site)
    client = _login(world_a.admin)
    for bad in ({"batch_size": 9000}, {"note": "x" * 9000}, ["not", "an", "object"]):
        response = client.post(f"/admin/devices/device/{device.pk}/change/", {
            "name": device.name, "site": world_a.site.pk, "desired_state": json.dumps(bad)})
        assert response.status_code == 200 and "errorlist" in response.content.decode(), bad
    device.refresh_from_db()
    assert device.desired_state == {} and device.shadow_version == 0
