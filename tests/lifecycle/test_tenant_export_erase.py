"""A tenant exported (every table's rows) and erased on request (nothing left but the
tombstone in the platform's audit chain); refused under a legal hold."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.alerts.services import alert_acknowledge, alert_raise
from apps.audit.models import AuditEntry
from apps.audit.selectors import verify_audit_log
from apps.audit.services import Actor, audit_anchor_chains
from apps.notifications.channels import channel_create, quiet_hours_save
from apps.notifications.models import Notification
from apps.reports.services import schedule_save
from apps.tenancy.models import Tenant
from apps.tenancy.retention_services import legal_hold_place, legal_hold_release, retention_policy_set
from tests.factories import DeviceFactory
from tests.lifecycle.test_retention import _seed
from workers.tenant_data import CREDENTIAL_FIELDS, tenant_models

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def _populate(world, issue_setup_token) -> None:
    _seed(world.tenant, world.site, age_days=1, tag="x")
    issue_setup_token(world.site)
    channel = channel_create(tenant=world.tenant, name="sms", kind="sms", target="+351912345678", actor=ACTOR)
    alert = alert_raise(tenant=world.tenant, kind="breach", dedup_key="b", severity="high", summary="x",
                        source="rule", site=world.site, device=DeviceFactory(site=world.site)).alert
    alert_acknowledge(alert=alert, actor=ACTOR)
    Notification.objects.get_or_create(tenant=world.tenant, alert=alert, channel=channel, step=7,
                                       defaults={"due_at": alert.first_seen_at})
    quiet_hours_save(site=world.site, start=time(22), end=time(6), enabled=True, actor=ACTOR)
    retention_policy_set(tenant=world.tenant, table="scans", days=30)
    legal_hold_release(hold=legal_hold_place(tenant=world.tenant, reason="closed case"))
    schedule_save(tenant=world.tenant, kind="compliance", recipients=[world.owner], actor=ACTOR)
    audit_anchor_chains()


def test_the_export_holds_every_tables_rows_and_no_credentials(world_a, world_b, issue_setup_token, tmp_path):
    _populate(world_a, issue_setup_token)
    _populate(world_b, issue_setup_token)
    target = tmp_path / "a.zip"
    call_command("tenant_export", world_a.tenant.slug, "--output", str(target), stdout=io.StringIO())
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        for model in tenant_models():
            name = f"{model._meta.label}.csv"
            assert name in names, name
            rows = list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
            expected = model.objects.filter(tenant=world_a.tenant).count()
            if model._meta.label == "audit.AuditEntry":
                expected -= 1  # the export's own entry is written after the file
            assert len(rows) == expected, model._meta.label
            assert all(row["tenant_id"] == str(world_a.tenant.pk) for row in rows)
            assert not CREDENTIAL_FIELDS & set(rows[0] if rows else {})
        populated = [m for m in tenant_models() if m.objects.filter(tenant=world_a.tenant).exists()]
        assert len(populated) >= 15
        assert world_a.tenant.scan_hash_key not in archive.read("tenant.json").decode()
    assert AuditEntry.objects.filter(tenant=world_a.tenant, action="tenant.exported").exists()


def test_erase_leaves_nothing_of_the_tenant_but_the_tombstone(world_a, world_b, issue_setup_token):
    _populate(world_a, issue_setup_token)
    _populate(world_b, issue_setup_token)
    tenant_pk, public_id = world_a.tenant.pk, world_a.tenant.public_id
    before_b = {m._meta.label: m.objects.filter(tenant=world_b.tenant).count() for m in tenant_models()}
    with pytest.raises(CommandError, match="--confirm"):
        call_command("tenant_erase", world_a.tenant.slug, "--confirm", "nope", stdout=io.StringIO())
    call_command("tenant_erase", world_a.tenant.slug, "--confirm", world_a.tenant.slug, stdout=io.StringIO())
    assert not Tenant.objects.filter(pk=tenant_pk).exists()
    for model in tenant_models():
        assert not model.objects.filter(tenant_id=tenant_pk).exists(), model._meta.label
    tombstone = AuditEntry.objects.get(tenant=None, action="tenant.erased")
    assert tombstone.target_id == public_id and tombstone.details["rows"] > 20
    assert {m._meta.label: m.objects.filter(tenant=world_b.tenant).count() for m in tenant_models()} == before_b
    assert verify_audit_log()[1] == []


def test_erase_is_refused_under_a_legal_hold(world_a):
    legal_hold_place(tenant=world_a.tenant, reason="litigation")
    with pytest.raises(CommandError, match="legal hold"):
        call_command("tenant_erase", world_a.tenant.slug, "--confirm", world_a.tenant.slug, stdout=io.StringIO())
    assert Tenant.objects.filter(pk=world_a.tenant.pk).exists()
