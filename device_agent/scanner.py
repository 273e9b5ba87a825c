"""Turns a decoded ID barcode into the anonymised scan record the server accepts.

Privacy is the point of this module. The raw barcode text and the parsed licence live only in
memory for the length of one call; what reaches the outbox (and so the disk and the server)
is birth year, age, flags, jurisdiction and a keyed hash of the document number. Log lines
about a scan carry its scan id, never its content.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import time
import uuid
from datetime import date, datetime, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from device_agent.aamva import AamvaParseError, parse
from device_agent.alerts import device_alert
from device_agent.outbox import SCAN, NewItem, Outbox
from device_agent.site_config import SiteConfig, SiteConfigStore
from device_agent.timeutil import iso_utc

log = logging.getLogger(__name__)

# The server always sends the site's threshold; this covers a server too old to send it.
FALLBACK_UNDERAGE_AGE = 21
# The parser may quote the value it could not read (a date of birth, say): never log that.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def loggable_reason(error: Exception) -> str:
    """The parser's message with any quoted value removed."""
    return _QUOTED.sub("<value>", str(error))


def subject_hash(hash_key_hex: str, jurisdiction: str, document_number: str) -> str:
    """Keyed hash of the document: recognises a returning card without storing its number."""
    message = f"{jurisdiction}:{document_number}".encode()
    return hmac.new(bytes.fromhex(hash_key_hex), message, hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        log.warning("unknown site timezone; using the device's local date",
                    extra={"fields": {"timezone": name}})
        return None


def site_today(site: SiteConfig, now: float) -> date:
    """Today's date at the site: ages change at the site's midnight, not UTC's."""
    zone = _zone(site.timezone) if site.timezone else None
    if zone is None:
        return datetime.fromtimestamp(now).date()
    return datetime.fromtimestamp(now, tz=timezone.utc).astimezone(zone).date()


def reduce_scan(licence: Any, *, site: SiteConfig, scanned_at: float) -> dict[str, Any]:
    """The anonymised record for one parsed licence (see the scans/batch contract)."""
    today = site_today(site, scanned_at)
    threshold = site.underage_age if site.underage_age is not None else FALLBACK_UNDERAGE_AGE
    expired = licence.is_expired(on=today)
    record: dict[str, Any] = {
        "scan_id": str(uuid.uuid4()),
        "scanned_at": iso_utc(scanned_at),
        "birth_year": licence.date_of_birth.year,
        "age": licence.age_on(today),
        "is_underage": licence.is_under(threshold, on=today),
        "is_valid": not expired,
        "document_expired": expired,
    }
    if licence.jurisdiction:
        record["jurisdiction"] = licence.jurisdiction
    if site.scan_hash_key and licence.document_number:
        record["subject_hash"] = subject_hash(
            site.scan_hash_key, licence.jurisdiction or "", licence.document_number
        )
    return record


class ScanProcessor:
    """Parses, reduces and queues one scan (and its underage alert, in the same commit)."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        site: SiteConfigStore,
        underage_alerts: bool,
        notify: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.site = site
        self.underage_alerts = underage_alerts
        self.notify = notify
        self._clock = clock
        self._warned_no_key = False

    def handle(self, text: str) -> dict[str, Any] | None:
        """Queue the scan; returns its record, or None when the barcode was unreadable."""
        try:
            licence = parse(text)
        except AamvaParseError as exc:
            log.warning(
                "barcode could not be read; scan not recorded",
                extra={"fields": {"reason": loggable_reason(exc), "characters": len(text)}},
            )
            return None
        site = self.site.config
        if not site.scan_hash_key and not self._warned_no_key:
            self._warned_no_key = True
            log.warning("the site sent no scan_hash_key; scans are queued without subject_hash")
        now = self._clock()
        record = reduce_scan(licence, site=site, scanned_at=now)
        items = [NewItem(kind=SCAN, item_id=record["scan_id"], occurred_at=now, payload=record)]
        if record["is_underage"] and self.underage_alerts:
            items.append(self._underage_alert(record, site, now))
        self.outbox.put_many(items)
        self.notify()
        log.info(
            "scan queued",
            extra={"fields": {"scan_id": record["scan_id"], "underage": record["is_underage"],
                              "expired": record["document_expired"]}},
        )
        return record

    @staticmethod
    def _underage_alert(record: dict[str, Any], site: SiteConfig, now: float) -> NewItem:
        threshold = site.underage_age if site.underage_age is not None else FALLBACK_UNDERAGE_AGE
        return device_alert(
            kind="underage",
            severity="critical",
            dedup_key=f"underage:{record['scan_id']}",
            details={
                "scan_id": record["scan_id"],
                "age": record["age"],
                "jurisdiction": record.get("jurisdiction"),
                "underage_age": threshold,
            },
            occurred_at=now,
            urgent=True,
        )
