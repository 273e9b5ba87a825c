"""Telemetry partitioned by month: rows land in their month, retention drops whole months."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apps.ingest import partitions
from apps.ingest.models import TelemetryReading
from apps.ingest.services.retention import telemetry_partitions_maintain
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db


def _reading(device, ts):
    return TelemetryReading.objects.create(tenant=device.tenant, device=device, message_id=uuid.uuid4(),
                                           metric="power_ac", value=1.0, ts=ts)


def _partition_of(reading) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM ingest_telemetryreading WHERE id = %s", [reading.pk])
        return cursor.fetchone()[0]


def test_readings_land_in_their_months_partition_and_old_history_in_the_default(world_a):
    device = DeviceFactory(site=world_a.site)
    now = datetime.now(UTC)
    assert _partition_of(_reading(device, now)) == f"ingest_telemetryreading_p{now:%Y%m}"
    assert _partition_of(_reading(device, now - timedelta(days=400))) == "ingest_telemetryreading_default"


def test_a_new_months_partition_takes_over_its_rows_from_the_default(world_a):
    device = DeviceFactory(site=world_a.site)
    future = datetime.now(UTC) + timedelta(days=150)
    reading = _reading(device, future)
    assert _partition_of(reading) == "ingest_telemetryreading_default"
    created = partitions.ensure_partitions(now=future, months_ahead=0)
    assert created == [f"ingest_telemetryreading_p{future:%Y%m}"]
    assert _partition_of(reading) == created[0]


def test_retention_drops_whole_partitions(world_a, settings):
    settings.TOCSIN_TELEMETRY_RETENTION_DAYS = 30
    device = DeviceFactory(site=world_a.site)
    now = datetime.now(UTC)
    later = now + timedelta(days=100)
    partitions.ensure_partitions(now=now, months_ahead=5)
    current, old_history = _reading(device, now), _reading(device, now - timedelta(days=400))
    result = telemetry_partitions_maintain(now=later)
    assert result["telemetry_partitions_dropped"] >= 1 and result["telemetry"] == 1
    names = [name for name, _start in partitions.monthly_partitions()]
    assert f"ingest_telemetryreading_p{now:%Y%m}" not in names
    assert not TelemetryReading.objects.filter(pk__in=[current.pk, old_history.pk]).exists()


def test_no_partition_is_dropped_while_a_legal_hold_or_a_longer_tenant_period_needs_it(world_a, settings):
    from apps.tenancy.models import LegalHold, RetainedTable, RetentionPolicy

    settings.TOCSIN_TELEMETRY_RETENTION_DAYS = 30
    device = DeviceFactory(site=world_a.site)
    now = datetime.now(UTC)
    partitions.ensure_partitions(now=now, months_ahead=5)
    kept = _reading(device, now)
    hold = LegalHold.objects.create(tenant=world_a.tenant, reason="inspection")
    assert telemetry_partitions_maintain(now=now + timedelta(days=100))["telemetry_partitions_dropped"] == 0
    hold.delete()
    RetentionPolicy.objects.create(tenant=world_a.tenant, table=RetainedTable.TELEMETRY, days=365)
    assert telemetry_partitions_maintain(now=now + timedelta(days=100))["telemetry_partitions_dropped"] == 0
    assert TelemetryReading.objects.filter(pk=kept.pk).exists()
