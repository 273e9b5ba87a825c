"""Writes for how long data is kept: a tenant's retention periods and its legal holds.

apps.tenancy.retention answers what is kept (and what a hold keeps); these services change
it, each write announced on `config_changed` inside its transaction, so the audit log
records it with the change. A hold is placed and released, never edited or deleted: its
record is itself evidence.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone as django_timezone

from apps.common.errors import ConflictError
from apps.tenancy.models import LegalHold, RetainedTable, RetentionPolicy, Site, Tenant
from apps.tenancy.services import _changed


def retention_policy_set(*, tenant: Tenant, table: str, days: int, actor=None) -> RetentionPolicy:
    if table not in RetainedTable.values:
        raise ConflictError(f"Unknown table '{table}'.", code="invalid", fields={"table": ["unknown"]})
    if not 1 <= days <= 36500:
        raise ConflictError("Days must be between 1 and 36500.", code="invalid", fields={"days": ["out of range"]})
    with transaction.atomic():
        policy, _ = RetentionPolicy.objects.update_or_create(tenant=tenant, table=table, defaults={"days": days})
        _changed(tenant=tenant, actor=actor, action="retention.set", target_type="retention",
                 target_id=policy.public_id, details={"table": table, "days": days})
    return policy


def retention_policy_delete(*, policy: RetentionPolicy, actor=None) -> None:
    """Back to the platform default."""
    with transaction.atomic():
        policy.delete()
        _changed(tenant=policy.tenant, actor=actor, action="retention.reset", target_type="retention",
                 target_id=policy.public_id, details={"table": policy.table})


def legal_hold_place(*, tenant: Tenant, reason: str, site: Site | None = None, actor=None) -> LegalHold:
    reason = (reason or "").strip()
    if not reason:
        raise ConflictError("Say why the data is held.", code="invalid", fields={"reason": ["required"]})
    if site is not None and site.tenant_id != tenant.pk:
        raise ConflictError("That site belongs to another tenant.", code="invalid", fields={"site": ["invalid"]})
    with transaction.atomic():
        hold = LegalHold.objects.create(tenant=tenant, site=site, reason=reason[:300],
                                        placed_by=getattr(actor, "username", "") or getattr(actor, "label", ""))
        _changed(tenant=tenant, actor=actor, action="legal_hold.placed", target_type="legal_hold",
                 target_id=hold.public_id, details={"site": site.public_id if site else None})
    return hold


def legal_hold_release(*, hold: LegalHold, actor=None) -> LegalHold:
    with transaction.atomic():
        if LegalHold.objects.filter(pk=hold.pk, released_at__isnull=True).update(released_at=django_timezone.now()):
            _changed(tenant=hold.tenant, actor=actor, action="legal_hold.released", target_type="legal_hold",
                     target_id=hold.public_id, details={"site": hold.site.public_id if hold.site else None})
    hold.refresh_from_db()
    return hold
