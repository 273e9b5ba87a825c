"""Reports: a generated PDF for one tenant (or one site) and period, stored with its status,
and the monthly schedules that generate and email them.

A schedule's recipients are members of the tenant (users), not typed addresses, so a
schedule adds no personal data; the PDF itself holds no more about people than scans do
(birth year, age band, a prefix of the keyed hash) plus the names of the staff who acted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.common.ids import PublicIdField
from apps.tenancy.models import Site, TenantOwnedModel


class ReportKind(models.TextChoices):
    COMPLIANCE = "compliance", "Compliance (scans, underage incidents)"
    OPERATIONS = "operations", "Operations (alerts, response times, deliveries, uptime)"


class ReportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Generating"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Report(TenantOwnedModel):
    public_id = PublicIdField(prefix="rep")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="reports",
                             help_text="Empty: every site of the tenant.")
    kind = models.CharField(max_length=12, choices=ReportKind.choices)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    status = models.CharField(max_length=8, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    error = models.CharField(max_length=300, blank=True)
    content = models.BinaryField(null=True, editable=False)
    size = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    schedule = models.ForeignKey("ReportSchedule", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="reports")
    created_at = models.DateTimeField(auto_now_add=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A schedule's report for one period is made once, however often beat fires.
            models.UniqueConstraint(fields=["schedule", "period_start"], name="report_once_per_schedule_period"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start:%Y-%m-%d}..{self.period_end:%Y-%m-%d} ({self.status})"


class ReportSchedule(TenantOwnedModel):
    """Each month, last month's report for the tenant or the site, emailed to these members."""

    public_id = PublicIdField(prefix="rsch")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE, related_name="report_schedules")
    kind = models.CharField(max_length=12, choices=ReportKind.choices)
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+",
                                        help_text="Members of the tenant who receive it by email.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Monthly {self.get_kind_display()} for {self.site or 'all sites'}"
