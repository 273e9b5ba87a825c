"""Audit entries: append-only, hash-chained per tenant.

Each entry's hash covers the previous entry's hash and its own canonical content, so
changing, inserting or deleting a row anywhere breaks every hash after it, which
`manage.py verify_audit_log` detects. Entries of no tenant (say, a failed login by an
unknown name) form the platform chain, `tenant = NULL`.
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
