"""Deleting a channel, device or site with history archives it and keeps the history; no
delete path answers 500; deprovisioning a site revokes its devices and setup tokens."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.alerts.models import Alert
from apps.alerts.services import alert_raise
from apps.audit.models import AuditEntry
from apps.devices.models import Device, SetupToken
from apps.ingest.models import Scan
from apps.notifications.channels import channel_create
from apps.notifications.models import Channel, Notification
from apps.tenancy.models import Site
from tests.factories import DEFAULT_PASSWORD, DeviceFactory, SiteFactory

pytestmark = pytest.mark.django_db


def _scan(device, **fields) -> Scan:
    values = {"birth_year": 1990, "age": 36, "age_band": "26-40", "is_underage": False, "is_valid": True,
              "document_expired": False, "scanned_at": timezone.now(), **fields}
    return Scan.objects.create(tenant=device.tenant, device=device, site=device.site, scan_id=uuid.uuid4(), **values)


def _admin_client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def _actions(tenant) -> list[str]:
    return list(AuditEntry.objects.filter(tenant=tenant).values_list("action", flat=True))


def test_a_channel_that_delivered_is_archived_with_its_deliveries(world_a, client_for):
    from apps.audit.services import Actor

    channel = channel_create(tenant=world_a.tenant, name="desk", kind="sms", target="+351912345678",
                             actor=Actor.system("test"))
    alert = alert_raise(tenant=world_a.tenant, kind="breach", dedup_key="k", severity="high", summary="x",
                        source="rule", site=world_a.site).alert
    Notification.objects.create(tenant=world_a.tenant, alert=alert, channel=channel, due_at=timezone.now(),
                                status="sent")
    response = client_for(world_a.admin).delete(f"/api/v1/channels/{channel.public_id}/")
    assert response.status_code == 204
    channel.refresh_from_db()
    assert channel.archived_at is not None and not channel.enabled
    assert Notification.objects.filter(channel=channel).count() == 1
    assert "channel.archived" in _actions(world_a.tenant)
    unused = channel_create(tenant=world_a.tenant, name="spare", kind="sms", target="+351912345679",
                            actor=Actor.system("test"))
    assert client_for(world_a.admin).delete(f"/api/v1/channels/{unused.public_id}/").status_code == 204
    assert not Channel.objects.filter(pk=unused.pk).exists()
    assert client_for(world_a.admin).patch(f"/api/v1/channels/{channel.public_id}/", {"name": "back"},
                                           format="json").status_code == 409


def test_a_device_with_scans_is_archived_and_revoked_in_the_admin(world_a):
    device = DeviceFactory(site=world_a.site)
    _scan(device)
    bare = DeviceFactory(site=world_a.site)
    client = _admin_client(world_a.admin)
    response = client.post(f"/admin/devices/device/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.archived_at is not None and device.status == "revoked"
    assert Scan.objects.filter(device=device).count() == 1
    assert client.post(f"/admin/devices/device/{bare.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Device.objects.filter(pk=bare.pk).exists()
    assert {"device.archived", "device.deleted", "device.revoked"} <= set(_actions(world_a.tenant))


def test_deleting_a_site_with_devices_deprovisions_and_archives_it(world_a, client_for, issue_setup_token):
    device = DeviceFactory(site=world_a.site)
    _scan(device)
    alert_raise(tenant=world_a.tenant, kind="breach", dedup_key="k", severity="high", summary="x", source="rule",
                site=world_a.site, device=device)
    issue_setup_token(world_a.site)
    response = client_for(world_a.admin).delete(f"/api/v1/sites/{world_a.site.public_id}/")
    assert response.status_code == 204
    site = Site.objects.get(pk=world_a.site.pk)
    assert site.archived_at is not None
    device.refresh_from_db()
    assert device.status == "revoked" and device.archived_at is not None
    assert not SetupToken.objects.filter(site=site, revoked_at__isnull=True).exists()
    assert Scan.objects.filter(site=site).count() == 1 and Alert.objects.filter(site=site).count() == 1
    assert "site.archived" in _actions(world_a.tenant)
    listed = client_for(world_a.admin).get(f"/api/v1/sites/{site.public_id}/").json()
    assert listed["archived_at"] is not None
    # An archived site takes no new devices and no configuration changes, with a clear 4xx.
    assert client_for(world_a.admin).patch(f"/api/v1/sites/{site.public_id}/", {"name": "again"},
                                           format="json").status_code == 409
    with pytest.raises(Exception, match="archived"):
        issue_setup_token(site)


def test_a_site_without_history_is_deleted_and_no_delete_answers_500(world_a, client_for):
    empty = SiteFactory(tenant=world_a.tenant)
    DeviceFactory(site=empty)  # enrolled, never reported: no history, deleted with the site
    assert client_for(world_a.admin).delete(f"/api/v1/sites/{empty.public_id}/").status_code == 204
    assert not Site.objects.filter(pk=empty.pk).exists()
    assert "site.deleted" in _actions(world_a.tenant)
    client = _admin_client(world_a.admin)
    busy = SiteFactory(tenant=world_a.tenant)
    _scan(DeviceFactory(site=busy), scanned_at=timezone.now() - timedelta(days=1))
    assert client.post(f"/admin/tenancy/site/{busy.pk}/delete/", {"post": "yes"}).status_code == 302
    assert Site.objects.get(pk=busy.pk).archived_at is not None


def test_a_tenant_is_not_deleted_through_the_api(world_a, superuser, client_for):
    response = client_for(superuser).delete(f"/api/v1/tenants/{world_a.tenant.public_id}/")
    assert response.status_code == 409 and "tenant_erase" in response.json()["error"]["message"]
