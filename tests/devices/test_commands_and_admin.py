"""create_setup_token, revoke_device, and the admin's one-time QR page."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from apps.devices.credentials import sha256_hex
from apps.devices.models import Device, SetupToken
from tests.factories import DEFAULT_PASSWORD, DeviceFactory

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_setup_token_prints_token_and_qr(world_a):
    output = _run("create_setup_token", "--site", world_a.site.location_id, "--uses", "5", "--ttl", "2h")
    token = next(line.split(": ")[1] for line in output.splitlines() if line.startswith("setup token:"))
    record = SetupToken.objects.get()
    assert record.token_hash == sha256_hex(token) and record.max_uses == 5
    assert "█" in output or "▄" in output


@pytest.mark.parametrize("args, message", [
    (("--site", "NOPE", "--ttl", "1h"), "No site"),
    (("--site", "SITE", "--ttl", "forever"), "not a duration"),
    (("--site", "SITE", "--ttl", "90d"), "30 days"),
    (("--site", "SITE", "--uses", "0"), "between 1"),
])
def test_create_setup_token_errors(world_a, args, message):
    args = tuple(world_a.site.location_id if a == "SITE" else a for a in args)
    with pytest.raises(CommandError, match=message):
        _run("create_setup_token", *args)


def test_revoke_device_command(world_a):
    device = DeviceFactory(site=world_a.site)
    assert "revoked" in _run("revoke_device", device.hardware_id, "--reason", "stolen")
    assert Device.objects.get(pk=device.pk).status == "revoked"
    assert "already" in _run("revoke_device", device.public_id)
    with pytest.raises(CommandError):
        _run("revoke_device", "nope")


def test_admin_shows_new_setup_token_once_with_qr(world_a):
    client = Client()
    assert client.login(username=world_a.admin.username, password=DEFAULT_PASSWORD)
    response = client.post("/admin/devices/setuptoken/add/", {"site": world_a.site.pk, "label": "lobby",
                                                              "max_uses": 2, "ttl_hours": 4})
    html = response.content.decode()
    assert response.status_code == 200 and "data:image/png;base64," in html
    (token,) = set(re.findall(r"st_[A-Za-z0-9_-]{20,}", html))  # the whole secret, shown this once
    listing = client.get("/admin/devices/setuptoken/").content.decode()
    assert "lobby" in listing and token not in listing and token[:12] not in listing


def test_admin_device_revoke_action(world_a):
    device = DeviceFactory(site=world_a.site)
    client = Client()
    assert client.login(username=world_a.admin.username, password=DEFAULT_PASSWORD)
    client.post("/admin/devices/device/", {"action": "revoke_selected", "_selected_action": [device.pk]})
    assert Device.objects.get(pk=device.pk).status == "revoked"


def test_admin_creates_api_key_shown_once(world_a, world_b):
    client = Client()
    assert client.login(username=world_a.admin.username, password=DEFAULT_PASSWORD)
    form = client.get("/admin/devices/apikey/add/").content.decode()
    assert f'value="{world_a.tenant.pk}"' in form and f'value="{world_b.tenant.pk}"' not in form
    response = client.post("/admin/devices/apikey/add/", {"tenant": world_a.tenant.pk, "name": "monitor",
                                                          "scopes": ["write_events"], "tier": 300})
    assert response.status_code == 200 and "tk_" in response.content.decode()
    smuggled = client.post("/admin/devices/apikey/add/", {"tenant": world_b.tenant.pk, "name": "x",
                                                          "scopes": ["read"], "tier": 60})
    assert "Select a valid choice" in smuggled.content.decode()
    from apps.devices.models import ApiKey

    assert list(ApiKey.objects.values_list("tenant_id", flat=True)) == [world_a.tenant.pk]


def test_staff_role_cannot_open_the_add_page(world_a):
    client = Client()
    assert client.login(username=world_a.staff.username, password=DEFAULT_PASSWORD)
    assert client.get("/admin/devices/setuptoken/add/").status_code == 403
