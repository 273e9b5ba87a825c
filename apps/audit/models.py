"""Audit entries: append-only, chained per tenant by a keyed hash, and anchored.

Each entry's hash is an HMAC (key outside the database, see `chain.py`) over the previous
entry's hash and every column of its own, so changing, inserting or deleting a row anywhere
breaks the chain, and nobody without the key can recompute it. Truncating the newest entries
leaves a valid shorter chain, so the head of every chain is written periodically to an
anchor (a signed checkpoint, also logged and downloadable by the tenant): a chain shorter
than its latest anchor, or disagreeing with it, is broken. The database refuses UPDATE and
DELETE of both tables (a trigger, migration 0002); retention deletes the oldest entries
through one allowed path that leaves a `purge` anchor, so a chain starting after #1 is
explained. Entries of no tenant (say, a failed login by an unknown name) form the platform
chain, `tenant = NULL`.
"""

from __future__ import annotations

from django.db import models

from apps.common.ids import PublicIdField
from apps.tenancy.models import Tenant, TenantQuerySet

GENESIS_HASH = "0" * 64


class ActorType(models.TextChoices):
    USER = "user", "User"
    DEVICE = "device", "Device"
    API_KEY = "api_key", "API key"
    SYSTEM = "system", "System"


class AuditEntry(models.Model):
    public_id = PublicIdField(prefix="aud")
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveBigIntegerField(help_text="Position in the tenant's chain, from 1.")
    created_at = models.DateTimeField()
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16, default="", help_text="Which audit key made the hash.")
    hash = models.CharField(max_length=64)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["tenant_id", "seq"]
        verbose_name_plural = "audit entries"
        constraints = [
            # A forked chain (two entries claiming the same place) cannot be stored.
            models.UniqueConstraint(fields=["tenant", "seq"], name="audit_seq_unique_per_tenant",
                                    nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_recent")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_type}:{self.actor_label or self.actor_id}"


class AnchorKind(models.TextChoices):
    HEAD = "head", "Head of the chain"
    PURGE = "purge", "Last entry removed by retention"


class AuditAnchor(models.Model):
    """A signed checkpoint of one chain: entry `seq` had hash `entry_hash` at `created_at`."""

    public_id = PublicIdField(prefix="anc")
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=AnchorKind.choices, default=AnchorKind.HEAD)
    seq = models.PositiveBigIntegerField()
    entry_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["tenant_id", "seq", "created_at"]
        indexes = [models.Index(fields=["tenant", "kind", "-seq"], name="audit_anchor_latest")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.seq} {self.entry_hash[:12]}"
