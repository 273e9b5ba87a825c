"""Reading and verifying the audit log."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet

from apps.audit.chain import CHAINED_FIELDS, UnknownAuditKey, anchor_signature, entry_hash
from apps.audit.models import GENESIS_HASH, AnchorKind, AuditAnchor, AuditEntry
from apps.tenancy.models import Tenant


def audit_entry_list(*, tenant: Tenant) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.for_tenant(tenant).order_by("-seq")


def audit_anchor_list(*, tenant: Tenant) -> QuerySet[AuditAnchor]:
    return AuditAnchor.objects.for_tenant(tenant).order_by("-seq", "-created_at")


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


def _anchors(tenant: Tenant | None) -> tuple[list[AuditAnchor], ChainBreak | None]:
    """The chain's anchors, each signature checked: a forged anchor is itself a break."""
    label = tenant.slug if tenant else "(platform)"
    anchors = list(AuditAnchor.objects.filter(tenant=tenant).order_by("seq", "created_at"))
    for anchor in anchors:
        try:
            expected = anchor_signature(key_id=anchor.key_id, tenant_public_id=tenant.public_id if tenant else None,
                                        kind=anchor.kind, seq=anchor.seq, entry_hash=anchor.entry_hash,
                                        created_at=anchor.created_at)
        except UnknownAuditKey:
            expected = None
        if expected is None or not hmac.compare_digest(expected, anchor.signature):
            return anchors, ChainBreak(tenant_label=label, seq=anchor.seq, public_id=anchor.public_id,
                                       reason="anchor signature does not verify (forged or keyed with an "
                                              "unknown key)")
    return anchors, None


def verify_chain(entries: QuerySet, tenant: Tenant | None) -> ChainBreak | None:
    """Walk one chain in order; the first entry whose link, hash or anchor is wrong is the break.

    The chain may start after #1 only where a signed purge anchor says retention removed
    the entries before it; it must reach at least as far as its latest head anchor, and
    agree with every anchor it still holds.
    """
    label = tenant.slug if tenant else "(platform)"
    anchors, forged = _anchors(tenant)
    if forged:
        return forged
    anchored = {}
    for anchor in anchors:
        anchored.setdefault(anchor.seq, []).append(anchor)
    purges = {a.seq: a for a in anchors if a.kind == AnchorKind.PURGE}
    expected_prev, expected_seq, last = GENESIS_HASH, None, None
    for entry in entries.order_by("seq").iterator(chunk_size=2000):
        def broken(reason: str, entry=entry) -> ChainBreak:
            return ChainBreak(tenant_label=label, seq=entry.seq, public_id=entry.public_id, reason=reason)

        if expected_seq is None:
            expected_seq = 1
            if entry.seq != 1:
                purge = purges.get(entry.seq - 1)
                if purge is None:
                    return broken("the chain starts here but no retention purge removed the entries before it "
                                  "(entries are missing)")
                expected_prev, expected_seq = purge.entry_hash, entry.seq
        if entry.seq != expected_seq:
            return broken(f"expected entry #{expected_seq} here (an entry is missing)")
        if entry.prev_hash != expected_prev:
            return broken("does not link to the previous entry")
        try:
            recomputed = entry_hash(tenant_public_id=tenant.public_id if tenant else None,
                                    content={name: getattr(entry, name) for name in CHAINED_FIELDS})
        except UnknownAuditKey:
            return broken(f"keyed with audit key '{entry.key_id}', which is not configured")
        if not hmac.compare_digest(recomputed, entry.hash):
            return broken("content does not match its hash (edited)")
        for anchor in anchored.get(entry.seq, ()):
            if anchor.entry_hash != entry.hash:
                return broken(f"differs from its anchor {anchor.public_id} (replaced)")
        expected_prev, expected_seq, last = entry.hash, entry.seq + 1, entry
    heads = [a for a in anchors if a.kind == AnchorKind.HEAD]
    if heads and (last is None or heads[-1].seq > last.seq):
        newest = heads[-1]
        return ChainBreak(tenant_label=label, seq=newest.seq, public_id=newest.public_id,
                          reason=f"the chain ends at #{last.seq if last else 0} but anchor {newest.public_id} "
                                 f"saw #{newest.seq} (the newest entries were removed)")
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
