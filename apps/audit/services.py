"""Writing to the audit log: `audit_record`, used by every app; anchoring each chain's head;
and the one path allowed to delete entries (retention of the oldest, leaving a purge anchor).

Every write takes the chain's advisory lock, so entries, anchors and purges of one tenant
are serialised and an anchor always names an entry that is committed with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from apps.audit import chain_sql
from apps.audit.chain import CHAINED_FIELDS, anchor_signature, current_key_id, entry_hash
from apps.audit.models import GENESIS_HASH, ActorType, AnchorKind, AuditAnchor, AuditEntry
from apps.common.ids import generate_public_id
from apps.common.request_context import get_request_id
from apps.tenancy.models import RetainedTable, Tenant
from apps.tenancy.retention import holds_for, retention_days

logger = logging.getLogger(__name__)

# Keys that must never reach the log, whatever a caller passes in `details`.
FORBIDDEN_DETAIL_KEYS = frozenset({
    "password", "token", "secret", "setup_token", "access", "refresh", "api_key", "signature",
    "private_key", "document_number", "date_of_birth", "first_name", "family_name", "full_name",
    "middle_name", "address", "street",
})



@dataclass(frozen=True)
class Actor:
    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type=ActorType.SYSTEM, label=label)

    @classmethod
    def for_principal(cls, principal) -> Actor:
        """Whoever `request.user` is: a person, a device or an API key."""
        api_key = getattr(principal, "api_key", None)
        if api_key is not None:
            return cls(type=ActorType.API_KEY, id=api_key.public_id, label=api_key.name)
        device = getattr(principal, "device", None)
        if device is not None:
            return cls(type=ActorType.DEVICE, id=device.public_id, label=device.name or device.hardware_id)
        return cls.for_user(principal)

    @classmethod
    def for_user(cls, user) -> Actor:
        if user is None or not getattr(user, "is_authenticated", False):
            return cls.system()
        return cls(type=ActorType.USER, id=str(user.pk), label=user.get_username())


def _scrub(details: dict[str, Any]) -> dict[str, Any]:
    """Refuse secret-looking keys; store datetimes as ISO text so the hash is stable."""
    clean = {}
    for key, value in details.items():
        if key.lower() in FORBIDDEN_DETAIL_KEYS:
            raise ValueError(f"audit details may not carry '{key}'")
        if isinstance(value, dict):
            value = _scrub(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        clean[key] = value
    return clean


def audit_record(
    *,
    tenant: Tenant | None,
    actor: Actor,
    action: str,
    target_type: str = "",
    target_id: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the tenant's chain, inside the caller's transaction if any."""
    details = _scrub(details or {})
    # Inside a caller's transaction no savepoint of its own (two round trips on every audited
    # write): nothing here is meant to fail and be caught, and a failure rolls the caller back.
    with transaction.atomic(savepoint=False):
        last = chain_sql.lock_and_read_head(tenant)
        entry = AuditEntry(
            tenant=tenant,
            seq=(last[0] + 1) if last else 1,
            created_at=timezone.now(),
            actor_type=actor.type,
            actor_id=actor.id[:64],
            actor_label=actor.label[:150],
            action=action,
            target_type=target_type,
            target_id=target_id,
            request_id=get_request_id() or "",
            details=details,
            prev_hash=last[1] if last else GENESIS_HASH,
            key_id=current_key_id(),
            public_id=generate_public_id("aud"),
        )
        entry.hash = entry_hash(
            tenant_public_id=tenant.public_id if tenant else None,
            content={name: getattr(entry, name) for name in CHAINED_FIELDS},
        )
        chain_sql.insert_entry(entry)
    return entry


def _write_anchor(*, tenant: Tenant | None, kind: str, seq: int, hash_: str) -> AuditAnchor:
    anchor = AuditAnchor(tenant=tenant, kind=kind, seq=seq, entry_hash=hash_, created_at=timezone.now(),
                         key_id=current_key_id())
    anchor.signature = anchor_signature(
        key_id=anchor.key_id, tenant_public_id=tenant.public_id if tenant else None, kind=kind, seq=seq,
        entry_hash=hash_, created_at=anchor.created_at)
    anchor.save(force_insert=True)
    # The log is the anchor's second home: a copy the database's owner cannot rewrite.
    logger.info("audit anchor", extra={"tenant": tenant.public_id if tenant else None, "kind": kind,
                                       "seq": seq, "hash": hash_, "signature": anchor.signature})
    return anchor


def audit_anchor_chains() -> int:
    """Anchor the head of every chain that moved since its last anchor; returns how many."""
    written = 0
    for tenant in [*Tenant.objects.order_by("pk"), None]:
        with transaction.atomic():
            chain_sql.lock_chain(tenant)
            head = AuditEntry.objects.filter(tenant=tenant).order_by("-seq").values("seq", "hash").first()
            if head is None:
                continue
            anchored = (AuditAnchor.objects.filter(tenant=tenant, kind=AnchorKind.HEAD)
                        .order_by("-seq").values_list("seq", flat=True).first())
            if anchored == head["seq"]:
                continue
            _write_anchor(tenant=tenant, kind=AnchorKind.HEAD, seq=head["seq"], hash_=head["hash"])
            written += 1
    return written


def audit_purge_before(*, tenant: Tenant | None, before: datetime, batch_size: int, actor: Actor) -> int:
    """Retention of the audit log: the one path allowed to delete entries, oldest first.

    Deletes at most `batch_size` entries older than `before` from the start of the chain
    (never past a newer one, never the head, so the chain stays contiguous and goes on),
    leaves a signed `purge` anchor naming the last one removed (so verification knows the
    chain now starts later, and nobody without the key can claim that), and records the
    purge as a new entry. The trigger lets the DELETE through only inside this transaction,
    because `tocsin.audit_purge` is set locally to it.
    """
    with transaction.atomic():
        chain_sql.lock_chain(tenant)
        chain = AuditEntry.objects.filter(tenant=tenant)
        bounds = chain.aggregate(first=models.Min("seq"), head=models.Max("seq"))
        if bounds["first"] is None:
            return 0
        kept = chain.filter(created_at__gte=before).aggregate(seq=models.Min("seq"))["seq"]
        upto = min(bounds["first"] + batch_size - 1, bounds["head"] - 1, (kept or bounds["head"] + 1) - 1)
        if upto < bounds["first"]:
            return 0
        last_hash = chain.values_list("hash", flat=True).get(seq=upto)
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('tocsin.audit_purge', 'on', true)")
            cursor.execute("DELETE FROM audit_auditentry WHERE tenant_id IS NOT DISTINCT FROM %s AND seq <= %s",
                           [tenant.pk if tenant else None, upto])
            removed = cursor.rowcount
            cursor.execute("SELECT set_config('tocsin.audit_purge', 'off', true)")
        _write_anchor(tenant=tenant, kind=AnchorKind.PURGE, seq=upto, hash_=last_hash)
        audit_record(tenant=tenant, actor=actor, action="audit.purged",
                     details={"through_seq": upto, "entries": removed})
    return removed


def audit_purge_past_retention(*, tenant: Tenant, now: datetime, batch_size: int, max_batches: int) -> int:
    """The tenant's audit entries past retention, unless any legal hold is in force for it."""
    if holds_for(tenant=tenant).any:
        return 0
    before = now - timedelta(days=retention_days(tenant=tenant, table=RetainedTable.AUDIT))
    removed = 0
    for _ in range(max_batches):
        batch = audit_purge_before(tenant=tenant, before=before, batch_size=batch_size,
                                   actor=Actor.system("retention"))
        removed += batch
        if batch < batch_size:
            break
    return removed
