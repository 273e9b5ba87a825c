"""Personal data is refused on every device, legacy and events path, and left nowhere.

Each variant is one the security test got stored: a key name the old snake_case filter did
not know, or free text in a field it did not read. Each must answer 400 naming the field,
and the name, date of birth and document number used must then be absent from every text
and JSON column of the database (the audit log included), from the logs and from the answer.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from psycopg import sql
from rest_framework.test import APIClient

from apps.alerts.models import Alert
from apps.audit.services import Actor
from apps.devices.api_keys import api_key_create
from apps.devices.models import Device
from apps.ingest.models import HealthSample, Scan, TelemetryReading
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

GIVEN, FAMILY = "Zorbanek", "Quillfeather"
NAME = f"{GIVEN} {FAMILY}"
BIRTH_DATE = "1987-06-05"
DOCUMENT = "Q7654321"
SECRETS = (GIVEN, FAMILY, "19870605", BIRTH_DATE, DOCUMENT)


def _scan(**extra) -> dict:
    year = timezone.now().year
    return {"scan_id": str(uuid.uuid4()), "scanned_at": timezone.now().isoformat(), "birth_year": year - 30,
            "age": 30, "is_underage": False, "is_valid": True, "document_expired": False,
            "jurisdiction": "US-TX", "subject_hash": "a" * 64, **extra}


def _batch(**extra) -> dict:
    return {"batch_id": str(uuid.uuid4()), "scans": [_scan(), _scan(**extra)]}


def _alert(**body) -> dict:
    return {"kind": "custom", "occurred_at": timezone.now().isoformat(), **body}


def _reading(**extra) -> dict:
    return {"readings": [{"message_id": str(uuid.uuid4()), "metric": "power_ac", "value": 1.5,
                          "ts": timezone.now().isoformat(), **extra}]}


def _event(dedup_key: str = "disk-full-db1", **payload) -> dict:
    return {"event_action": "trigger", "dedup_key": dedup_key,
            "payload": {"summary": "Disk full on db1", "severity": "critical", "source": "db1", **payload}}


# (who sends, path, body, the field the refusal names)
VARIANTS = [
    ("scanner", "/api/v1/scans/batch/", _batch(firstName=GIVEN), "scans[1].firstName"),
    ("scanner", "/api/v1/scans/batch/", _batch(surname=FAMILY), "scans[1].surname"),
    ("scanner", "/api/v1/scans/batch/", _batch(birthday=BIRTH_DATE), "scans[1].birthday"),
    ("scanner", "/api/v1/scans/batch/", _batch(holder=NAME), "scans[1].holder"),
    ("scanner", "/api/v1/scans/batch/", _batch(**{"Document-No": DOCUMENT}), "scans[1].Document-No"),
    ("scanner", "/api/v1/device-alerts/", _alert(details={"dateOfBirth": BIRTH_DATE}), "details.dateOfBirth"),
    ("scanner", "/api/v1/device-alerts/", _alert(details={"customer": {"LastName": FAMILY}}),
     "details.customer.LastName"),
    ("scanner", "/api/v1/device-alerts/",
     _alert(details={"summary": f"Underage customer {NAME}, {BIRTH_DATE}"}), "details.summary"),
    ("scanner", "/api/v1/device-alerts/", _alert(details={"note": f"{NAME} licence {DOCUMENT}"}), "details.note"),
    ("scanner", "/api/v1/device-alerts/", _alert(dedup_key=f"{GIVEN}_{FAMILY}-19870605"), "dedup_key"),
    ("gateway", "/api/v1/heartbeats/",
     {"sent_at": "now", "firmware": f"2.1.0 {NAME} {DOCUMENT}"}, "firmware"),
    ("gateway", "/api/v1/telemetry/", _reading(unit="DOB 19870605"), "readings[0].unit"),
    ("gateway", "/api/v1/telemetry/", _reading(metric="dob_19870605"), "readings[0].metric"),
    ("legacy-register", "/api/devices/register", {"deviceId": "tab-201", "roomId": f"{NAME} {BIRTH_DATE}"},
     "roomId"),
    ("legacy-register", "/api/devices/register", {"deviceId": f"{GIVEN}_{FAMILY}-19870605", "roomId": "201"},
     "deviceId"),
    ("tablet", "/api/alert/breach", {"deviceId": "tab-101", "roomId": f"{NAME} {BIRTH_DATE}", "rssi": -90},
     "roomId"),
    ("tablet", "/api/heartbeat", {"deviceId": "tab-101", "roomId": "101", "wifiBssid": "aa:bb:cc:dd:ee:01",
                                  "rssi": -60, "guestName": NAME}, "guestName"),
    ("api-key", "/api/v1/events/", _event(summary=f"Underage customer {NAME} DOB {BIRTH_DATE}"),
     "payload.summary"),
    ("api-key", "/api/v1/events/", _event(custom_details={"cardHolderName": NAME}),
     "payload.custom_details.cardHolderName"),
    ("api-key", "/api/v1/events/", _event(custom_details={"guest": f"{FAMILY}, {GIVEN} {DOCUMENT}"}),
     "payload.custom_details.guest"),
    ("api-key", "/api/v1/events/", _event(dedup_key=f"{GIVEN}{FAMILY}-{DOCUMENT}"), "dedup_key"),
    ("api-key", "/api/v1/events/", _event(details={"visitor": {"Date of Birth": BIRTH_DATE}}),
     "payload.details.visitor.Date of Birth"),
    ("api-key", "/api/v1/events/", _event(source=f"till 3 ({NAME}, {DOCUMENT})"), "payload.source"),
]


@pytest.fixture
def sender(world_a, device_client, issue_setup_token):
    """`sender(kind)` → a client of that kind, made before anything is captured."""

    def _make(kind: str) -> APIClient:
        if kind in ("scanner", "gateway"):
            return device_client(SiteFactory(tenant=world_a.tenant, kind="store"), kind=kind)[1]
        if kind == "api-key":
            issued = api_key_create(tenant=world_a.tenant, name="monitor", scopes=["read", "write_events"],
                                    actor=Actor.system("test"))
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=issued.key)
            return client
        token = issue_setup_token(world_a.site, max_uses=2)
        if kind == "legacy-register":
            client = APIClient()
            client.post_defaults = {"setupToken": token, "hotelId": world_a.site.location_id}
            return client
        registered = APIClient().post("/api/devices/register", {
            "deviceId": "tab-101", "roomId": "101", "hotelId": world_a.site.location_id, "setupToken": token,
        }, format="json")
        assert registered.status_code == 200, registered.content
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {registered.json()['token']}")
        return client

    return _make


def _columns_holding(needles) -> list[str]:
    """Every text, varchar and JSON column of every table that holds one of `needles` (any case)."""
    patterns = [f"%{needle}%" for needle in needles]
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.table_name, c.column_name FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('text', 'character varying', 'json', 'jsonb')
        """)
        hits = []
        for table, column in cursor.fetchall():
            query = sql.SQL("SELECT 1 FROM {} WHERE {}::text ILIKE ANY(%s) LIMIT 1").format(
                sql.Identifier(table), sql.Identifier(column))
            cursor.execute(query, [patterns])
            if cursor.fetchone():
                hits.append(f"{table}.{column}")
    return hits


@pytest.mark.parametrize("kind, path, body, field", VARIANTS, ids=[v[3] for v in VARIANTS])
def test_personal_data_is_refused_and_left_nowhere(sender, kind, path, body, field, caplog):
    client = sender(kind)
    body = {**body, **getattr(client, "post_defaults", {})}
    if body.get("sent_at") == "now":
        body["sent_at"] = timezone.now().isoformat()
    counts = (Alert.objects.count(), Scan.objects.count(), HealthSample.objects.count(),
              TelemetryReading.objects.count(), Device.objects.count())
    with caplog.at_level(logging.DEBUG):
        response = client.post(path, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "personal_data_refused"
    assert field in error["fields"], error["fields"]
    assert (Alert.objects.count(), Scan.objects.count(), HealthSample.objects.count(),
            TelemetryReading.objects.count(), Device.objects.count()) == counts
    for secret in SECRETS:
        assert secret not in response.content.decode()
        assert secret not in caplog.text
    assert _columns_holding(SECRETS) == []


def test_the_same_paths_accept_clean_reports(sender):
    scanner, gateway, monitor = sender("scanner"), sender("gateway"), sender("api-key")
    assert scanner.post("/api/v1/scans/batch/", _batch(), format="json").status_code == 202
    assert scanner.post("/api/v1/device-alerts/", _alert(
        dedup_key="door-7:2019-11-30", details={"summary": "Door 7 Open since 2019-11-30 (tablet T1234567)",
                                                "mac_address": "aa:bb:cc:dd:ee:01", "battery_level": 40},
    ), format="json").status_code == 201
    assert gateway.post("/api/v1/heartbeats/", {"sent_at": timezone.now().isoformat(), "firmware": "2.1.0-rc1"},
                        format="json").status_code == 202
    assert gateway.post("/api/v1/telemetry/", _reading(unit="kWh"), format="json").status_code == 202
    assert monitor.post("/api/v1/events/", _event(
        summary="CPU High on web-1 since 2019-11-30T10:00Z", custom_details={"host": "web-1", "ip_address": "10.0.0.1",
                                                                              "build": "20190512"},
    ), format="json").status_code == 202


def test_device_summaries_are_bounded(sender):
    client = sender("scanner")
    response = client.post("/api/v1/device-alerts/", _alert(details={"summary": "x" * 301}), format="json")
    assert response.status_code == 400
    assert "summary" in response.json()["error"]["fields"]["details"]
    response = client.post("/api/v1/device-alerts/", _alert(details={"summary": ["not", "text"]}), format="json")
    assert response.status_code == 400
    assert not Alert.objects.exists()
