"""Alerts and their timelines.

At most one open alert per (tenant, dedup_key): a partial unique index, so concurrent
raises of the same problem are decided by PostgreSQL (`INSERT ... ON CONFLICT`), never by
a check-then-insert in Python.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.common.ids import PublicIdField
from apps.devices.models import Device
from apps.tenancy.models import Site, TenantOwnedModel


class AlertKind(models.TextChoices):
    BREACH = "breach", "Room breach"
    UNDERAGE = "underage", "Underage customer"
    DOCUMENT = "document", "Invalid or expired document"
    DOCUMENT_REUSE = "document_reuse", "Document reuse (possible fake ID)"
    BATTERY = "battery", "Low battery"
    OFFLINE = "offline", "Device offline"
    TEMPERATURE = "temperature", "Device overheating"
    SCANNER = "scanner", "Scanner unhealthy"
    TELEMETRY = "telemetry", "Telemetry out of range"
    TAMPER = "tamper", "Tamper"
    BACKLOG = "backlog", "Device backlog"
    DRIFT = "drift", "Configuration drift"
    CUSTOM = "custom", "Custom"
    EXTERNAL = "external", "External event"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


# The one ranking of severities, lowest first: Python compares by `severity_rank`, and the
# raise's SQL (apps.alerts.raise_sql) spells its ranking array from this same tuple.
SEVERITY_ORDER = (Severity.INFO, Severity.WARNING, Severity.HIGH, Severity.CRITICAL)
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITY_ORDER)}


def severity_rank(severity: str | None) -> int:
    """-1 for an unknown or missing severity, so any real one ranks above it."""
    return SEVERITY_RANK.get(severity, -1)


class AlertStatus(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


# "Open" is said here only: querysets, the partial unique index and the raise's SQL all use it.
OPEN_STATUSES = (AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED)


class AlertSource(models.TextChoices):
    DEVICE = "device", "Device report"
    RULE = "rule", "Rule"
    EXTERNAL = "external", "External system"
    SYSTEM = "system", "Tocsin"


class Alert(TenantOwnedModel):
    public_id = PublicIdField(prefix="alr")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(max_length=14, choices=AlertStatus.choices, default=AlertStatus.TRIGGERED)
    source = models.CharField(max_length=10, choices=AlertSource.choices)
    dedup_key = models.CharField(max_length=255)
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    count = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    acknowledged_by_label = models.CharField(max_length=150, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_by_label = models.CharField(max_length=150, blank=True)
    resolution = models.CharField(max_length=40, blank=True, help_text="How it ended: manual, restored, auto...")

    # Filled by the notification engine (a higher app) through the lifecycle handlers.
    policy_snapshot = models.JSONField(default=dict, blank=True)
    escalation_step = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    # Each re-plan (a reopen, a severity raised) starts a new paging cycle: its outbox rows
    # are new rows, so people paged before are paged again.
    paging_cycle = models.PositiveSmallIntegerField(default=0, db_default=0)
    unnotified_reason = models.CharField(
        max_length=120, blank=True, db_default="",
        help_text="Set when this alert paged nobody (no policy matched, every channel disabled or failing).")
    # Paging held: until a snooze ends (set by `snoozing.alert_snooze`), or until the end of
    # a maintenance window that covers the alert (set by the notification engine).
    snoozed_until = models.DateTimeField(null=True, blank=True)
    maintenance_until = models.DateTimeField(
        null=True, blank=True, help_text="In maintenance: recorded, paged when the window ends if still open.")

    # A site outage: one group alert stands for many alerts of one kind at one site.
    is_group = models.BooleanField(default=False, db_default=False)
    group = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="members",
                              help_text="The outage group this alert was paged through.")

    # A short code, unique in its tenant, that a reply names the alert by ("1 K7Q"):
    # given when a page first goes to a phone (apps.alerts.reply_codes).
    reply_code = models.CharField(max_length=8, blank=True, db_default="", editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "dedup_key"], condition=Q(status__in=list(OPEN_STATUSES)),
                name="alert_one_open_per_dedup_key",
            ),
            models.UniqueConstraint(fields=["tenant", "reply_code"], condition=~Q(reply_code=""),
                                    name="alert_reply_code_unique_per_tenant"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-last_seen_at"], name="alert_tenant_status_recent"),
            models.Index(fields=["tenant", "-created_at"], name="alert_tenant_created"),
            models.Index(fields=["next_escalation_at"], name="alert_escalation_due",
                         condition=Q(next_escalation_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def nobody_notified(self) -> bool:
        return bool(self.unnotified_reason)

    def in_maintenance(self, now=None) -> bool:
        return bool(self.maintenance_until and self.maintenance_until > (now or timezone.now()))

    def is_snoozed(self, now=None) -> bool:
        return bool(self.snoozed_until and self.snoozed_until > (now or timezone.now()))


class AlertEventKind(models.TextChoices):
    RAISED = "raised", "Raised"
    DUPLICATE = "duplicate", "Duplicate"
    NOTIFIED = "notified", "Notified"
    ESCALATED = "escalated", "Escalated"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"
    SEVERITY_RAISED = "severity", "Severity raised"
    GROUPED = "grouped", "Grouped into an outage"
    UNNOTIFIED = "unnotified", "Nobody notified"
    NOTE = "note", "Note"
    SNOOZED = "snoozed", "Snoozed"
    MAINTENANCE = "maintenance", "Held for maintenance"
    RESUMED = "resumed", "Paging resumed"


class AlertEvent(TenantOwnedModel):
    """The timeline of an alert; append-only."""

    public_id = PublicIdField(prefix="evt")
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=14, choices=AlertEventKind.choices)
    at = models.DateTimeField()
    actor_type = models.CharField(max_length=10, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["alert", "at"], name="alert_event_timeline")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"
