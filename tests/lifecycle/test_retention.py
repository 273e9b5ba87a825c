"""Retention deletes exactly what is past its period and nothing under a legal hold, per table.

One tenant with a held site and a free site, each with a row just past and a row within
every table's period; the real task body runs (eagerly) and must leave exactly the expected
rows, and report and audit what it did. Other tenants' periods do not leak.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from apps.alerts.models import Alert, AlertEvent
from apps.alerts.services import alert_raise, alert_resolve
from apps.audit.models import AuditEntry
from apps.audit.selectors import verify_audit_log
from apps.audit.services import Actor, audit_record
from apps.ingest.models import HealthSample, Scan, TelemetryReading
from apps.notifications.channels import channel_create
from apps.notifications.models import Notification
from apps.tenancy.retention_services import legal_hold_place, legal_hold_release, retention_policy_set
from tests.factories import DeviceFactory, SiteFactory, TenantFactory
from workers.tasks.housekeeping import retention

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
PERIODS = {"health_samples": 10, "telemetry": 20, "scans": 30, "alerts": 40, "audit": 50}


def _seed(tenant, site, *, age_days: float, tag: str) -> dict:
    """One row of every table at `age_days` old, at `site`; returns their ids by table."""
    device = DeviceFactory(site=site)
    at = timezone.now() - timedelta(days=age_days)
    sample = HealthSample.objects.create(tenant=tenant, device=device, sent_at=at, battery_level=50)
    reading = TelemetryReading.objects.create(tenant=tenant, device=device, message_id=uuid.uuid4(), metric="v",
                                              value=1.0, ts=at)
    HealthSample.objects.filter(pk=sample.pk).update(received_at=at)
    TelemetryReading.objects.filter(pk=reading.pk).update(received_at=at)
    scan = Scan.objects.create(tenant=tenant, device=device, site=site, scan_id=uuid.uuid4(), scanned_at=at,
                               birth_year=1990, age=36, age_band="26-40", is_underage=False, is_valid=True,
                               document_expired=False)
    alert = alert_raise(tenant=tenant, kind="breach", dedup_key=f"k-{tag}", severity="high", summary="x",
                        source="rule", site=site, device=device).alert
    channel = channel_create(tenant=tenant, name=f"c-{tag}", kind="email", target="ops@example.com", actor=ACTOR)
    Notification.objects.create(tenant=tenant, alert=alert, channel=channel, due_at=at, status="sent")
    alert_resolve(alert=alert, actor=ACTOR)
    Alert.objects.filter(pk=alert.pk).update(resolved_at=at)
    return {"health_samples": sample.pk, "telemetry": reading.pk, "scans": scan.pk, "alerts": alert.pk}


def _exists(ids: dict) -> dict[str, bool]:
    return {
        "health_samples": HealthSample.objects.filter(pk=ids["health_samples"]).exists(),
        "telemetry": TelemetryReading.objects.filter(pk=ids["telemetry"]).exists(),
        "scans": Scan.objects.filter(pk=ids["scans"]).exists(),
        "alerts": Alert.objects.filter(pk=ids["alerts"]).exists(),
    }


def _old_audit(tenant, days: float, count: int) -> None:
    with mock.patch("apps.audit.services.timezone.now", return_value=timezone.now() - timedelta(days=days)):
        for index in range(count):
            audit_record(tenant=tenant, actor=ACTOR, action=f"old.{index}")


@pytest.mark.parametrize("table", sorted(PERIODS.keys() - {"audit"}))
def test_each_table_loses_exactly_what_is_past_its_period_and_nothing_held(table, world_a, world_b):
    for name, days in PERIODS.items():
        retention_policy_set(tenant=world_a.tenant, table=name, days=days)
    held_site = SiteFactory(tenant=world_a.tenant)
    legal_hold_place(tenant=world_a.tenant, site=held_site, reason="claim 42")
    period = PERIODS[table]
    past = _seed(world_a.tenant, world_a.site, age_days=period + 1, tag="past")
    within = _seed(world_a.tenant, world_a.site, age_days=period - 1, tag="within")
    held = _seed(world_a.tenant, held_site, age_days=period + 1, tag="held")
    # world_b keeps the platform defaults (all longer than these ages).
    other = _seed(world_b.tenant, world_b.site, age_days=period + 1, tag="other")
    result = retention.apply().get()
    assert _exists(past)[table] is False
    assert _exists(within)[table] is True
    assert _exists(held)[table] is True
    assert _exists(other)[table] is True
    assert result.get(table, 0) >= 1
    # Tables with longer periods lost nothing.
    for name, days in PERIODS.items():
        if name != "audit" and days > period + 1:
            assert _exists(past)[name] is True, name
    if table == "alerts":
        assert not AlertEvent.objects.filter(alert_id=past["alerts"]).exists()
        assert not Notification.objects.filter(alert_id=past["alerts"]).exists()
        assert Notification.objects.filter(alert_id=held["alerts"]).exists()
    entry = AuditEntry.objects.filter(tenant=world_a.tenant, action="retention.purged").latest("seq")
    assert entry.details[table] >= 1


def test_open_alerts_are_never_removed(world_a):
    retention_policy_set(tenant=world_a.tenant, table="alerts", days=1)
    alert = alert_raise(tenant=world_a.tenant, kind="breach", dedup_key="open", severity="high", summary="x",
                        source="rule", site=world_a.site).alert
    Alert.objects.filter(pk=alert.pk).update(first_seen_at=timezone.now() - timedelta(days=90))
    retention.apply().get()
    assert Alert.objects.filter(pk=alert.pk).exists()


def test_audit_retention_purges_old_entries_keeps_the_chain_verifiable_and_stops_under_any_hold(db):
    tenant = TenantFactory()
    site = SiteFactory(tenant=tenant)
    _old_audit(tenant, PERIODS["audit"] + 2, 3)
    _old_audit(tenant, PERIODS["audit"] - 1, 2)
    retention_policy_set(tenant=tenant, table="audit", days=PERIODS["audit"])
    hold = legal_hold_place(tenant=tenant, site=site, reason="audit")
    retention.apply().get()
    assert AuditEntry.objects.filter(tenant=tenant, action__startswith="old.").count() == 5
    legal_hold_release(hold=hold)
    assert retention.apply().get()["audit"] == 3
    assert AuditEntry.objects.filter(tenant=tenant, action__startswith="old.").count() == 2
    assert AuditEntry.objects.filter(tenant=tenant, action="audit.purged").exists()
    assert verify_audit_log(tenant=tenant)[1] == []


def test_a_whole_tenant_hold_keeps_everything(world_a):
    retention_policy_set(tenant=world_a.tenant, table="scans", days=1)
    legal_hold_place(tenant=world_a.tenant, reason="regulator")
    past = _seed(world_a.tenant, world_a.site, age_days=400, tag="past")
    retention.apply().get()
    assert all(_exists(past).values())


def test_batches_are_bounded_and_the_next_run_carries_on(world_a, settings):
    settings.TOCSIN_RETENTION_BATCH_SIZE, settings.TOCSIN_RETENTION_MAX_BATCHES = 2, 2
    retention_policy_set(tenant=world_a.tenant, table="health_samples", days=1)
    device = DeviceFactory(site=world_a.site)
    old = timezone.now() - timedelta(days=5)
    for _ in range(7):
        sample = HealthSample.objects.create(tenant=world_a.tenant, device=device, sent_at=old)
        HealthSample.objects.filter(pk=sample.pk).update(received_at=old)
    assert retention.apply().get()["health_samples"] == 4
    assert retention.apply().get()["health_samples"] == 3
    assert not HealthSample.objects.filter(device=device).exists()


def test_reports_past_their_period_go_and_held_ones_stay(world_a):
    from apps.reports.models import Report

    retention_policy_set(tenant=world_a.tenant, table="reports", days=30)
    held_site = SiteFactory(tenant=world_a.tenant)
    legal_hold_place(tenant=world_a.tenant, site=held_site, reason="claim")
    now = timezone.now()
    old, new, held = (Report.objects.create(tenant=world_a.tenant, site=site, kind="compliance",
                                            period_start=now - timedelta(days=60), period_end=now)
                      for site in (world_a.site, world_a.site, held_site))
    Report.objects.filter(pk__in=[old.pk, held.pk]).update(created_at=now - timedelta(days=31))
    assert retention.apply().get()["reports"] == 1
    assert set(Report.objects.values_list("pk", flat=True)) == {new.pk, held.pk}


def test_archived_devices_channels_and_sites_go_once_their_history_has(world_a, client_for):
    from apps.devices.models import Device
    from apps.notifications.models import Channel
    from apps.tenancy.models import Site

    for name in PERIODS:
        retention_policy_set(tenant=world_a.tenant, table=name, days=1)
    site = SiteFactory(tenant=world_a.tenant)
    ids = _seed(world_a.tenant, site, age_days=5, tag="gone")
    device = Scan.objects.get(pk=ids["scans"]).device
    channel = Notification.objects.get(alert_id=ids["alerts"]).channel
    assert client_for(world_a.admin).delete(f"/api/v1/channels/{channel.public_id}/").status_code == 204
    assert client_for(world_a.admin).delete(f"/api/v1/sites/{site.public_id}/").status_code == 204
    assert Site.objects.get(pk=site.pk).archived_at and Device.objects.get(pk=device.pk).archived_at
    assert Channel.objects.get(pk=channel.pk).archived_at
    result = retention.apply().get()
    assert result["archived_devices"] == 1 and result["archived_sites"] == 1 and result["archived_channels"] == 1
    assert not Site.objects.filter(pk=site.pk).exists() and not Device.objects.filter(pk=device.pk).exists()
    assert not Channel.objects.filter(pk=channel.pk).exists()
