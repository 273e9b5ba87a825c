"""The personal-data check itself: key names in any spelling, free text, and what it lets through."""

from __future__ import annotations

from datetime import date

import pytest

from apps.common.errors import ApplicationError
from apps.common.privacy import (
    key_is_personal,
    key_words,
    personal_data_fields,
    refuse_personal_data,
    text_is_personal,
)


def test_keys_are_normalised_into_words():
    assert key_words("firstName") == key_words("FIRST-NAME") == key_words("first name") == ("first", "name")
    assert key_words("IDNumber") == ("id", "number")
    assert key_words("date.of_birth") == ("date", "of", "birth")


@pytest.mark.parametrize("key", [
    "name", "first_name", "firstName", "FirstName", "FIRST_NAME", "given-name", "givenNames", "familyName",
    "last_name", "surname", "Surname", "guest_surname", "fullname", "full_name", "holder", "holderName",
    "card_holder", "customerName", "name_first", "birthday", "birthDate", "date_of_birth", "dateOfBirth", "DOB",
    "customer_dob", "placeOfBirth", "document_number", "documentNo", "Document-No", "license_number",
    "licenceNo", "dl_number", "passport", "passportNumber", "id_number", "IDNumber", "id_no", "national_id",
    "ssn", "address", "homeAddress", "street", "postal_code", "postCode", "zip", "city", "raw_barcode", "DAQ",
    "DCS", "mrz",
])
def test_personal_keys_are_refused_in_any_spelling(key):
    assert key_is_personal(key)


@pytest.mark.parametrize("key", [
    "scan_id", "birth_year", "document_expired", "is_underage", "jurisdiction", "subject_hash", "metric", "unit",
    "firmware", "summary", "source", "component", "device_name", "site_name", "hostname", "room_id", "roomId",
    "mac_address", "ip_address", "modbusAddress", "battery_level", "dedup_key", "severity", "kind",
])
def test_everyday_keys_pass(key):
    assert not key_is_personal(key)


@pytest.mark.parametrize("text", [
    "Jane Doe 1990-04-01",
    "Underage customer Jane Doe, DOB 04/01/2008",
    "DOE, JOHN D1234567",
    "Doe, Jane D1234567",
    "Maria García D12345678",
    "Ana Example born 2009",
    "guest Jonas Berg, 12 March 1988",
    "date of birth unknown",
    "licence no 123",
    "Jane_Doe-19900401",
    "JaneDoe-1990-04-01",
    "DOB 19900401",
])
def test_free_text_with_a_name_beside_a_birth_date_or_document_number_is_refused(text):
    assert text_is_personal(text)


@pytest.mark.parametrize("text", [
    "Room 101 breach",
    "Battery Low on tablet 101",
    "Disk Full on Host 12 since 2019-11-30",
    "Fault Detected INV12345678",
    "CPU High on web-1 at 2019-12-01T10:00Z",
    "Jonathan Smith acknowledged",  # a name alone: staff names are not scan data
    "device id no longer responding",
    "2.1.0-rc1",
    "fw 1.2.3 build 20190512",
    "kWh",
    f"Backup of {date.today().year - 1}-03-01 failed for Acme Corp",  # a recent date is an event, not a birth date
])
def test_everyday_text_passes(text):
    assert not text_is_personal(text)


def test_paths_name_every_field_and_typed_fields_are_not_read():
    payload = {"scans": [{"scan_id": "Jane Doe 1990-04-01", "firstName": "Jane"}],
               "details": {"scan_id": "Jane Doe 1990-04-01", "ok": ["fine", "Jane Doe 1990-04-01"]}}
    # `scan_id` is typed at the top of the body (its validator admits only a UUID), never
    # inside free-form details, where every value is read.
    assert personal_data_fields(payload, typed_fields=frozenset({"scan_id"})) == [
        "details.ok[1]", "details.scan_id", "scans[0].firstName"]


def test_the_refusal_names_fields_and_never_values():
    with pytest.raises(ApplicationError) as refused:
        refuse_personal_data({"details": {"holder": "Jane Doe"}})
    assert refused.value.status_code == 400 and refused.value.code == "personal_data_refused"
    assert refused.value.fields == {"details.holder": ["Personal data is refused."]}
    assert "Jane" not in refused.value.message


def test_a_clean_batch_of_500_scans_passes():
    scan = {"scan_id": "5f0c", "scanned_at": "2026-01-01T00:00:00Z", "age": 30, "jurisdiction": "US-TX"}
    assert personal_data_fields({"batch_id": "x", "scans": [dict(scan) for _ in range(500)]},
                                typed_fields=frozenset(scan) | {"batch_id"}) == []
