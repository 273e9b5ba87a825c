"""Reading and verifying the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet

from apps.audit.chain import CHAINED_FIELDS, entry_hash
from apps.audit.models import GENESIS_HASH, AuditEntry
from apps.tenancy.models import Tenant


def audit_entry_list(*, tenant: Tenant) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.for_tenant(tenant).order_by("-seq")


@dataclass(frozen=True)
class ChainBreak:
    tenant_label: str
    seq: int
    public_id: str
    reason: str


def _chains(tenant: Tenant | None, include_platform: bool) -> Iterator[tuple[Tenant | None, QuerySet]]:
    tenants = [tenant] if tenant is not None else list(Tenant.objects.order_by("pk"))
    for each in tenants:
        yield each, AuditEntry.objects.filter(tenant=each)
    if tenant is None and include_platform:
        yield None, AuditEntry.objects.filter(tenant__isnull=True)


def verify_chain(entries: QuerySet, tenant: Tenant | None) -> ChainBreak | None:
    """Walk one chain in order; the first entry whose link or hash is wrong is the break."""
    label = tenant.slug if tenant else "(platform)"
    expected_prev, expected_seq = GENESIS_HASH, 1
    for entry in entries.order_by("seq").iterator(chunk_size=2000):
        def broken(reason: str, entry=entry) -> ChainBreak:
            return ChainBreak(tenant_label=label, seq=entry.seq, public_id=entry.public_id, reason=reason)

        if entry.seq != expected_seq:
            return broken(f"expected entry #{expected_seq} here (an entry is missing)")
        if entry.prev_hash != expected_prev:
            return broken("does not link to the previous entry")
        recomputed = entry_hash(
            prev_hash=entry.prev_hash,
            tenant_public_id=tenant.public_id if tenant else None,
            content={name: getattr(entry, name) for name in CHAINED_FIELDS},
        )
        if recomputed != entry.hash:
            return broken("content does not match its hash (edited)")
        expected_prev, expected_seq = entry.hash, entry.seq + 1
    return None


def verify_audit_log(*, tenant: Tenant | None = None) -> tuple[int, list[ChainBreak]]:
    """Returns (chains checked, breaks found: at most one per chain, the first)."""
    checked, breaks = 0, []
    for each, entries in _chains(tenant, include_platform=True):
        checked += 1
        found = verify_chain(entries, each)
        if found:
            breaks.append(found)
    return checked, breaks
