"""Real concurrent clients against a live server: the database decides dedup."""

from __future__ import annotations

import json
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils import timezone

from apps.alerts.models import Alert
from apps.devices.device_tokens import issue_device_token
from apps.ingest.models import Scan
from tests.factories import DeviceFactory, SiteFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def _post(url: str, token: str, body: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our live server)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _parallel(count: int, call) -> list:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def test_twenty_simultaneous_raises_make_one_alert_with_count_twenty(live_server, world_a):
    device = DeviceFactory(site=world_a.site, kind="tablet")
    token, _ = issue_device_token(device)
    body = {"kind": "breach", "occurred_at": timezone.now().isoformat(), "details": {"rssi": -99}}
    statuses = _parallel(20, lambda: _post(f"{live_server.url}/api/v1/device-alerts/", token, body))
    assert sorted(statuses) == [200] * 19 + [201]
    alert = Alert.objects.get()
    assert alert.count == 20
    assert alert.events.exclude(kind="unnotified").count() == 20  # the tenant has no policy: one "unnotified"


def test_concurrent_resends_of_one_scan_batch_store_it_once(live_server, world_a):
    store = SiteFactory(tenant=world_a.tenant, kind="store")
    device = DeviceFactory(site=store, kind="scanner")
    token, _ = issue_device_token(device)
    year = timezone.now().year
    scans = [{"scan_id": str(uuid.uuid4()), "scanned_at": timezone.now().isoformat(), "birth_year": year - 30,
              "age": 30, "is_underage": False, "is_valid": True, "document_expired": False} for _ in range(50)]
    body = {"batch_id": str(uuid.uuid4()), "scans": scans}
    statuses = _parallel(8, lambda: _post(f"{live_server.url}/api/v1/scans/batch/", token, body))
    assert statuses == [202] * 8
    assert Scan.objects.count() == 50
