"""CSV exports, streamed: rows are read from a server-side cursor and written as they come,
so an export of millions of rows holds a few thousand in memory, never the table.

Each export is a function `(tenant, filters, scope) -> (header, rows)` in a registry by
name, so apps above this one (notifications) add theirs without this app importing them.
Every export is scoped to the caller's tenant and scope (apps.tenancy.scoping: a
site-scoped member exports only their sites' rows) before anything else is applied.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from apps.alerts.models import AlertEvent
from apps.audit.chain import canonical_json
from apps.audit.models import AuditEntry
from apps.reports.selectors import scan_list
from apps.tenancy.models import MANAGER_ROLES, Tenant
from apps.tenancy.scoping import Scope

CHUNK = 2000
HASH_PREFIX = 12

Rows = Iterable[Iterable]
Exporter = Callable[..., tuple[list[str], Rows]]


@dataclass(frozen=True)
class Export:
    name: str
    produce: Exporter
    roles: frozenset | None = None  # None: every member of the tenant
    whole_tenant_only: bool = False  # tenant-wide rows: refused to site-scoped members


EXPORTS: dict[str, Export] = {}


def register_export(name: str, produce: Exporter, *, roles: frozenset | None = None,
                    whole_tenant_only: bool = False) -> None:
    EXPORTS[name] = Export(name=name, produce=produce, roles=roles, whole_tenant_only=whole_tenant_only)


class _Echo:
    """csv.writer writes into this and gets the line back, so each row becomes one chunk."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Rows) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(["" if value is None else value for value in row])


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def scans_export(*, tenant: Tenant, filters: dict, scope: Scope) -> tuple[list[str], Rows]:
    header = ["scan_id", "site", "device", "scanned_at", "birth_year", "age", "age_band", "is_underage",
              "is_valid", "document_expired", "jurisdiction", "subject_hash_prefix"]
    rows = scope.filter(scan_list(tenant=tenant, **filters)).values_list(
        "scan_id", "site__public_id", "device__public_id", "scanned_at", "birth_year", "age", "age_band",
        "is_underage", "is_valid", "document_expired", "jurisdiction", "subject_hash")

    def produce():
        for row in rows.iterator(chunk_size=CHUNK):
            yield (*row[:3], _iso(row[3]), *row[4:11], (row[11] or "")[:HASH_PREFIX])

    return header, produce()


def alerts_export(*, tenant: Tenant, filters: dict, scope: Scope) -> tuple[list[str], Rows]:
    """One row per timeline event, with its alert's columns: the alert's whole story in order."""
    header = ["alert_id", "kind", "severity", "status", "site", "device", "summary", "first_seen_at",
              "acknowledged_at", "resolved_at", "event_id", "event", "event_at", "actor_type", "actor", "note"]
    events = scope.filter(AlertEvent.objects.filter(tenant=tenant))
    if filters.get("site") is not None:
        events = events.filter(alert__site=filters["site"])
    if filters.get("since") is not None:
        events = events.filter(alert__first_seen_at__gte=filters["since"])
    if filters.get("until") is not None:
        events = events.filter(alert__first_seen_at__lt=filters["until"])
    rows = events.order_by("alert_id", "at", "id").values_list(
        "alert__public_id", "alert__kind", "alert__severity", "alert__status", "alert__site__public_id",
        "alert__device__public_id", "alert__summary", "alert__first_seen_at", "alert__acknowledged_at",
        "alert__resolved_at", "public_id", "kind", "at", "actor_type", "actor_label", "note")

    def produce():
        for row in rows.iterator(chunk_size=CHUNK):
            yield (*row[:7], _iso(row[7]), _iso(row[8]), _iso(row[9]), row[10], row[11], _iso(row[12]), *row[13:])

    return header, produce()


def audit_export(*, tenant: Tenant, filters: dict, scope: Scope) -> tuple[list[str], Rows]:
    header = ["id", "seq", "created_at", "actor_type", "actor_id", "actor_label", "action", "target_type",
              "target_id", "request_id", "details", "prev_hash", "key_id", "hash"]
    entries = scope.filter(AuditEntry.objects.for_tenant(tenant))
    if filters.get("since") is not None:
        entries = entries.filter(created_at__gte=filters["since"])
    if filters.get("until") is not None:
        entries = entries.filter(created_at__lt=filters["until"])
    rows = entries.order_by("seq").values_list(
        "public_id", "seq", "created_at", "actor_type", "actor_id", "actor_label", "action", "target_type",
        "target_id", "request_id", "details", "prev_hash", "key_id", "hash")

    def produce():
        for row in rows.iterator(chunk_size=CHUNK):
            yield (*row[:2], _iso(row[2]), *row[3:10], canonical_json(row[10]), *row[11:])

    return header, produce()


register_export("scans", scans_export)
register_export("alerts", alerts_export)
register_export("audit", audit_export, roles=MANAGER_ROLES, whole_tenant_only=True)
