"""Reported data and the per-site rules that judge it."""

from __future__ import annotations

from django.db import models

from apps.devices.models import Device
from apps.ingest.plant_models import AnomalyRule, RuleWindow, SiblingRule, TelemetryBaseline  # noqa: F401 (models)
from apps.tenancy.models import Site, SiteKind, TenantOwnedModel


def _default_underage_age() -> int:
    return 21


class RuleSet(TenantOwnedModel):
    """The thresholds of one site. Created with defaults for the site's kind with the site."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="rules")
    heartbeat_interval_seconds = models.PositiveIntegerField(default=60)
    offline_after_missed = models.PositiveSmallIntegerField(
        default=3, help_text="Raise 'device offline' after this many missed heartbeats.")
    battery_warning_percent = models.PositiveSmallIntegerField(default=20)
    battery_critical_percent = models.PositiveSmallIntegerField(default=10)
    battery_hysteresis_percent = models.PositiveSmallIntegerField(
        default=5, help_text="A battery alert resolves only above the warning level plus this.")
    breach_enabled = models.BooleanField(default=False)
    rssi_breach_dbm = models.SmallIntegerField(default=-85)
    rssi_breach_consecutive = models.PositiveSmallIntegerField(default=3)
    underage_age = models.PositiveSmallIntegerField(default=_default_underage_age,
                                                    help_text="21 where alcohol is sold, 18 for tobacco.")
    document_alerts_enabled = models.BooleanField(default=True,
                                                  help_text="Invalid or expired documents raise a warning.")
    cpu_temp_celsius = models.FloatField(default=85.0)
    scanner_health_enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Rules of {self.site}"

    @classmethod
    def defaults_for(cls, kind: str) -> dict:
        return {
            SiteKind.HOTEL: {"breach_enabled": True},
            SiteKind.STORE: {"scanner_health_enabled": True, "underage_age": 21},
            SiteKind.PLANT: {"heartbeat_interval_seconds": 60},
        }.get(kind, {})


class Operator(models.TextChoices):
    GT = "gt", ">"
    GTE = "gte", "≥"
    LT = "lt", "<"
    LTE = "lte", "≤"


class TelemetryThreshold(TenantOwnedModel):
    """metric <operator> value, sustained for a duration, raises a telemetry alert."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="telemetry_thresholds")
    metric = models.CharField(max_length=64)
    inverter = models.CharField(max_length=64, blank=True, default="",
                                help_text="Only this inverter (a plant gateway's deviceId); empty: every inverter.")
    operator = models.CharField(max_length=3, choices=Operator.choices)
    value = models.FloatField()
    sustained_seconds = models.PositiveIntegerField(default=0)
    severity = models.CharField(max_length=10, default="high")
    window = models.CharField(max_length=16, choices=RuleWindow.choices, default=RuleWindow.ALWAYS,
                              db_default=RuleWindow.ALWAYS,
                              help_text="Judge only readings in this window (e.g. low output only in daylight).")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["metric"]

    def __str__(self) -> str:
        return f"{self.metric} {self.get_operator_display()} {self.value} for {self.sustained_seconds}s"

    def violated_by(self, value: float) -> bool:
        return {
            Operator.GT: value > self.value, Operator.GTE: value >= self.value,
            Operator.LT: value < self.value, Operator.LTE: value <= self.value,
        }[self.operator]


PLANT_DEFAULT_THRESHOLDS = (
    {"metric": "temperature", "operator": Operator.GT, "value": 75.0, "sustained_seconds": 120, "severity": "high"},
    {"metric": "voltage_dc", "operator": Operator.GT, "value": 1000.0, "sustained_seconds": 0, "severity": "critical"},
)


class HealthSample(TenantOwnedModel):
    """One heartbeat's health figures; kept for the retention period."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="health_samples")
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    battery_level = models.PositiveSmallIntegerField(null=True)
    battery_charging = models.BooleanField(null=True)
    rssi = models.SmallIntegerField(null=True)
    wifi_bssid = models.CharField(max_length=17, blank=True)
    cpu_percent = models.FloatField(null=True)
    memory_used_mb = models.FloatField(null=True)
    memory_total_mb = models.FloatField(null=True)
    disk_used_mb = models.FloatField(null=True)
    disk_total_mb = models.FloatField(null=True)
    temperature_c = models.FloatField(null=True)
    uptime_s = models.BigIntegerField(null=True)
    error_count = models.PositiveIntegerField(null=True)
    scanner_status = models.CharField(max_length=20, blank=True)

    class Meta:
        indexes = [models.Index(fields=["device", "-sent_at"], name="health_device_recent"),
                   models.Index(fields=["tenant", "received_at"], name="health_tenant_received")]


class AgeBand(models.TextChoices):
    UNDER_18 = "<18", "under 18"
    FROM_18_TO_20 = "18-20", "18 to 20"
    FROM_21_TO_25 = "21-25", "21 to 25"
    FROM_26_TO_40 = "26-40", "26 to 40"
    FROM_41_TO_64 = "41-64", "41 to 64"
    OVER_64 = "65+", "65 and over"


def age_band(age: int) -> str:
    for upper, band in ((18, "<18"), (21, "18-20"), (26, "21-25"), (41, "26-40"), (65, "41-64")):
        if age < upper:
            return band
    return "65+"


class Scan(TenantOwnedModel):
    """An anonymised ID scan: never a name, a date of birth or a document number."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="scans")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="scans")
    scan_id = models.UUIDField()
    batch_id = models.UUIDField(null=True)
    scanned_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    birth_year = models.PositiveSmallIntegerField()
    age = models.PositiveSmallIntegerField()
    age_band = models.CharField(max_length=5, choices=AgeBand.choices)
    is_underage = models.BooleanField()
    is_valid = models.BooleanField()
    document_expired = models.BooleanField()
    jurisdiction = models.CharField(max_length=8, blank=True)
    subject_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "scan_id"], name="scan_unique_per_device")]
        indexes = [
            models.Index(fields=["tenant", "site", "scanned_at"], name="scan_site_time"),
            # The document-reuse rule finds one document's other scans by its keyed hash.
            models.Index(fields=["tenant", "subject_hash", "scanned_at"], name="scan_subject_time",
                         condition=~models.Q(subject_hash="")),
        ]


class ScanBatch(TenantOwnedModel):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    batch_id = models.UUIDField()
    received_at = models.DateTimeField(auto_now_add=True)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "batch_id"], name="scan_batch_unique_per_device")]


class TelemetryReading(TenantOwnedModel):
    """One value of one metric at one time, from a device (or one inverter behind a plant gateway).

    Unique per (device, message id) so a resent REST batch is counted once, and per
    (device, inverter, metric, ts) so the same reading arriving under another message id
    (an MQTT redelivery past the message-id window) is stored once too.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="readings")
    message_id = models.UUIDField()
    inverter = models.CharField(max_length=64, blank=True, default="", db_default="",
                                help_text="The inverter under a plant gateway; empty for a device's own metrics.")
    metric = models.CharField(max_length=64)
    value = models.FloatField()
    unit = models.CharField(max_length=16, blank=True)
    ts = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "message_id", "ts"], name="reading_unique_per_device"),
            models.UniqueConstraint(fields=["device", "inverter", "metric", "ts"], name="reading_unique_per_metric_ts"),
        ]
        indexes = [models.Index(fields=["device", "metric", "-ts"], name="reading_device_metric_recent")]
