"""Fake-ID detection by the keyed scan hash: one document at several stores, or again and
again after an underage refusal, raises one "document reuse" alert; nothing about the
person is stored to do it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.alerts.models import Alert
from apps.ingest.models import Scan
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db
DOCUMENT = "d0c" + "5" * 61


def _scan(*, age: int = 30, minutes_ago: float = 0, subject_hash: str = DOCUMENT) -> dict:
    year = timezone.now().year
    return {"scan_id": str(uuid.uuid4()), "scanned_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(),
            "birth_year": year - age, "age": age, "is_underage": age < 21, "is_valid": True,
            "document_expired": False, "jurisdiction": "US-TX", "subject_hash": subject_hash}


def _post(client, *scans):
    response = client.post("/api/v1/scans/batch/", {"batch_id": str(uuid.uuid4()), "scans": list(scans)},
                           format="json")
    assert response.status_code in (200, 202, 207), response.content


def _columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        return [col.name for col in connection.introspection.get_table_description(cursor, table)]


def test_three_scans_of_one_document_at_two_stores_within_an_hour_raise_one_alert(world_a, device_client):
    store_a = SiteFactory(tenant=world_a.tenant, kind="store")
    store_b = SiteFactory(tenant=world_a.tenant, kind="store")
    _, till_a = device_client(store_a, kind="scanner")
    _, till_b = device_client(store_b, kind="scanner")
    tables_before = set(connection.introspection.table_names())
    scan_columns = _columns("ingest_scan")
    _post(till_a, _scan(minutes_ago=50))
    assert not Alert.objects.filter(kind="document_reuse").exists()
    _post(till_b, _scan(minutes_ago=20))
    _post(till_a, _scan(minutes_ago=1))
    alerts = Alert.objects.filter(tenant=world_a.tenant, kind="document_reuse")
    assert alerts.count() == 1
    alert = alerts.get()
    assert alert.details == {"hash_prefix": DOCUMENT[:12], "reason": "several_sites",
                             "sites": sorted([store_a.public_id, store_b.public_id]), "scans": 3}
    assert DOCUMENT not in alert.summary and DOCUMENT[:12] in alert.summary
    # No new table or column holds anything about the person; the scans are as they were.
    assert set(connection.introspection.table_names()) == tables_before
    assert _columns("ingest_scan") == scan_columns
    assert Scan.objects.filter(subject_hash=DOCUMENT).count() == 3


def test_scans_hours_apart_or_of_different_documents_raise_nothing(world_a, device_client):
    store_a = SiteFactory(tenant=world_a.tenant, kind="store")
    store_b = SiteFactory(tenant=world_a.tenant, kind="store")
    _, till_a = device_client(store_a, kind="scanner")
    _, till_b = device_client(store_b, kind="scanner")
    _post(till_a, _scan(minutes_ago=180))
    _post(till_b, _scan(minutes_ago=1))
    _post(till_b, _scan(subject_hash="e" * 64), _scan(subject_hash="f" * 64))
    assert not Alert.objects.filter(kind="document_reuse").exists()


def test_another_tenants_scans_of_the_same_hash_do_not_count(world_a, world_b, device_client):
    _, ours = device_client(SiteFactory(tenant=world_a.tenant, kind="store"), kind="scanner")
    _, theirs = device_client(SiteFactory(tenant=world_b.tenant, kind="store"), kind="scanner")
    _post(ours, _scan(minutes_ago=5))
    _post(theirs, _scan(minutes_ago=1))
    assert not Alert.objects.filter(kind="document_reuse").exists()


def test_repeated_scans_after_an_underage_refusal_raise_it(world_a, device_client):
    store = SiteFactory(tenant=world_a.tenant, kind="store")
    _, till = device_client(store, kind="scanner")
    _post(till, _scan(age=17, minutes_ago=30))
    _post(till, _scan(age=17, minutes_ago=20))
    assert not Alert.objects.filter(kind="document_reuse").exists()
    _post(till, _scan(age=17, minutes_ago=10))
    alert = Alert.objects.get(tenant=world_a.tenant, kind="document_reuse")
    assert alert.details["reason"] == "after_underage"
