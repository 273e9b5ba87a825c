"""The report fields the personal-data check (apps/common/privacy.py) need not read.

Invariant: every field named here is admitted by its validator only as a UUID, timestamp,
code, hash, number or choice, never as free text, so skipping its text cannot let personal
data through; skipping keeps a clean batch of scans on its fast path. Free text and
identifiers a device names (firmware, unit, metric, dedup_key, details) are not among them.
"""

from __future__ import annotations

TYPED_FIELDS = frozenset({
    "scan_id", "scanned_at", "birth_year", "age", "is_underage", "is_valid", "document_expired", "jurisdiction",
    "subject_hash", "batch_id", "message_id", "value", "ts", "sent_at", "level", "charging",
    "wifi_bssid", "rssi", "cpu_percent", "memory_used_mb", "memory_total_mb", "disk_used_mb", "disk_total_mb",
    "temperature_c", "uptime_s", "error_count", "scanner_status", "kind", "severity", "occurred_at",
})
