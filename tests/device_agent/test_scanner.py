"""Scans are reduced to the anonymised record before anything is stored or logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from agent_tools.synthetic_licences import SyntheticLicence
from device_agent.outbox import ALERT, SCAN, Outbox
from device_agent.scanner import ScanProcessor, reduce_scan, site_today
from device_agent.site_config import SiteConfig, SiteConfigStore
from tests.support.agent import FakeSession

HASH_KEY = "00112233445566778899aabbccddeeff"
NOW = datetime(2024, 6, 15, 18, 0, tzinfo=timezone.utc).timestamp()
ADULT = SyntheticLicence("ZEBULON", "QUINCEY", date(1990, 3, 4), date(2027, 1, 1), "D8765432",
                         "636014", "CA")
MINOR = SyntheticLicence("YOUNGBLOOD", "PERCIVAL", date(2005, 6, 16), date(2028, 1, 1),
                         "Y1234567", "636001", "NY")
EXPIRED = SyntheticLicence("OLDHAM", "MARGARET", date(1960, 1, 2), date(2024, 6, 14),
                           "X7777777", "636015", "TX")


def site(**values) -> SiteConfig:
    return SiteConfig(**{"underage_age": 21, "scan_hash_key": HASH_KEY,
                         "timezone": "America/Los_Angeles", **values})


def parse(licence: SyntheticLicence):
    from device_agent.aamva import parse as aamva_parse

    return aamva_parse(licence.barcode_text())


def test_the_record_holds_only_what_the_policy_needs() -> None:
    record = reduce_scan(parse(ADULT), site=site(), scanned_at=NOW)
    assert set(record) == {"scan_id", "scanned_at", "birth_year", "age", "is_underage",
                           "is_valid", "document_expired", "jurisdiction", "subject_hash"}
    assert (record["birth_year"], record["age"], record["jurisdiction"]) == (1990, 34, "CA")
    assert (record["is_underage"], record["is_valid"], record["document_expired"]) == (
        False, True, False)
    expected = hmac.new(bytes.fromhex(HASH_KEY), b"CA:D8765432", hashlib.sha256).hexdigest()
    assert record["subject_hash"] == expected
    assert record["scanned_at"] == "2024-06-15T18:00:00.000000Z"


def test_underage_follows_the_sites_threshold_and_date() -> None:
    # Turns 19 on 16 June 2024; it is still the 15th at the site (and in UTC).
    assert reduce_scan(parse(MINOR), site=site(), scanned_at=NOW)["is_underage"] is True
    assert reduce_scan(parse(MINOR), site=site(underage_age=18), scanned_at=NOW)["age"] == 18
    assert not reduce_scan(parse(MINOR), site=site(underage_age=18), scanned_at=NOW)["is_underage"]


def test_the_site_date_decides_the_day() -> None:
    late_evening_utc = datetime(2024, 6, 16, 2, 0, tzinfo=timezone.utc).timestamp()
    assert site_today(site(timezone="America/Los_Angeles"), late_evening_utc) == date(2024, 6, 15)
    assert site_today(site(timezone="Europe/Paris"), late_evening_utc) == date(2024, 6, 16)


def test_an_expired_document_is_flagged() -> None:
    record = reduce_scan(parse(EXPIRED), site=site(), scanned_at=NOW)
    assert record["document_expired"] is True and record["is_valid"] is False


@pytest.fixture
def processor(tmp_path: Path) -> ScanProcessor:
    store = SiteConfigStore(str(tmp_path))
    store.refresh(FakeSession({"site": {"timezone": "America/Los_Angeles"},
                               "config": {"underage_age": 21, "scan_hash_key": HASH_KEY}}))
    return ScanProcessor(outbox=Outbox(str(tmp_path / "outbox.sqlite3")), site=store,
                         underage_alerts=True, notify=lambda: None, clock=lambda: NOW)


def test_an_underage_scan_is_queued_with_its_urgent_alert(processor: ScanProcessor) -> None:
    record = processor.handle(MINOR.barcode_text())
    summaries = processor.outbox.summaries()
    assert summaries[SCAN].waiting == 1 and summaries[ALERT].urgent == 1
    alert = processor.outbox.take_batch(ALERT, 1).items[0].payload
    assert alert["kind"] == "underage" and alert["dedup_key"] == f"underage:{record['scan_id']}"
    assert alert["details"] == {"scan_id": record["scan_id"], "age": 18, "jurisdiction": "NY",
                                "underage_age": 21}


def test_no_alert_when_underage_alerts_are_off(processor: ScanProcessor) -> None:
    processor.underage_alerts = False
    processor.handle(MINOR.barcode_text())
    assert ALERT not in processor.outbox.summaries()


def test_personal_fields_never_reach_the_disk_or_the_log(
        processor: ScanProcessor, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="device_agent")
    for licence in (ADULT, MINOR, EXPIRED):
        processor.handle(licence.barcode_text())
    processor.outbox.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    logged = caplog.text + json.dumps([getattr(r, "fields", None) for r in caplog.records])
    for licence in (ADULT, MINOR, EXPIRED):
        for secret in (licence.family_name, licence.first_name, licence.document_number,
                       licence.date_of_birth.strftime("%m%d%Y"), "ANSI "):
            assert secret.encode() not in stored, secret
            assert secret not in logged, secret


def test_a_malformed_barcode_is_logged_without_its_content(
        processor: ScanProcessor, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="device_agent")
    bad_date = ADULT.barcode_text().replace("DBB03041990", "DBB13451990")
    assert processor.handle(bad_date) is None
    assert processor.handle("hello from a keyboard") is None
    reasons = [r.fields["reason"] for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(reasons) == 2
    assert "13451990" not in caplog.text and "13451990" not in " ".join(reasons)
    assert "hello" not in " ".join(reasons)
    assert processor.outbox.counts().fresh == 0
