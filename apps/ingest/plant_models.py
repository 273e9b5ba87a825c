"""The plant rules beyond a plain threshold: a time window, an anomaly baseline, siblings.

Invariant: every rule belongs to one site (and its tenant) and is judged only on readings of
that site's devices; the anomaly baseline holds one row per (device, inverter, metric,
hour of day in the site's timezone), written only by the batch statement in
`apps.ingest.baselines`, never per reading from Python.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.devices.models import Device
from apps.tenancy.models import Site, TenantOwnedModel


class RuleWindow(models.TextChoices):
    ALWAYS = "always", "Always"
    BUSINESS_HOURS = "business_hours", "During the site's business hours"
    DAYLIGHT = "daylight", "In daylight at the site's coordinates (sunrise to sunset)"


class AnomalyDirection(models.TextChoices):
    BELOW = "below", "Below the usual"
    ABOVE = "above", "Above the usual"
    BOTH = "both", "Either way"


class AnomalyRule(TenantOwnedModel):
    """A reading this many standard deviations from its usual value for the hour of day
    (an exponentially weighted mean and variance per inverter and metric) raises an alert."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="anomaly_rules")
    metric = models.CharField(max_length=64)
    inverter = models.CharField(max_length=64, blank=True, default="",
                                help_text="Only this inverter; empty: every inverter (each judged on its own).")
    direction = models.CharField(max_length=5, choices=AnomalyDirection.choices, default=AnomalyDirection.BELOW)
    z_threshold = models.FloatField(default=4.0, validators=[MinValueValidator(1.0), MaxValueValidator(20.0)],
                                    help_text="How many standard deviations from the usual raise the alert.")
    alpha = models.FloatField(default=0.05, validators=[MinValueValidator(0.001), MaxValueValidator(0.5)],
                              help_text="Weight of each new reading in the usual (smaller: longer memory).")
    min_samples = models.PositiveIntegerField(default=20, validators=[MinValueValidator(3), MaxValueValidator(10000)],
                                              help_text="Readings an hour of day needs before it is judged.")
    window = models.CharField(max_length=16, choices=RuleWindow.choices, default=RuleWindow.ALWAYS)
    severity = models.CharField(max_length=10, default="warning")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["metric"]
        constraints = [models.UniqueConstraint(fields=["site", "metric", "inverter"], name="anomaly_rule_once")]

    def __str__(self) -> str:
        return f"{self.metric} {self.z_threshold:g}σ {self.direction} usual"


class SiblingRule(TenantOwnedModel):
    """An inverter producing `percent_below` % less than the median of the plant's other
    inverters, for `sustained_seconds`, raises an alert (a fault one inverter has and the
    weather does not explain)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="sibling_rules")
    metric = models.CharField(max_length=64, default="power_ac")
    percent_below = models.FloatField(default=40.0, validators=[MinValueValidator(1.0), MaxValueValidator(99.0)])
    sustained_seconds = models.PositiveIntegerField(default=900, validators=[MaxValueValidator(86400)])
    min_siblings = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Other inverters that must have reported recently for the median to mean anything.")
    freshness_seconds = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(10), MaxValueValidator(3600)],
        help_text="A sibling's reading counts if it is at most this much older than the one judged.")
    window = models.CharField(max_length=16, choices=RuleWindow.choices, default=RuleWindow.DAYLIGHT)
    severity = models.CharField(max_length=10, default="warning")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["metric"]
        constraints = [models.UniqueConstraint(fields=["site", "metric"], name="sibling_rule_once")]

    def __str__(self) -> str:
        return f"{self.metric} {self.percent_below:g} % below siblings for {self.sustained_seconds}s"


class TelemetryBaseline(TenantOwnedModel):
    """The usual value of one metric of one inverter at one hour of day: EWMA of x and x²."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    inverter = models.CharField(max_length=64, blank=True, default="")
    metric = models.CharField(max_length=64)
    hour = models.PositiveSmallIntegerField(validators=[MaxValueValidator(23)])
    mean = models.FloatField()
    mean_sq = models.FloatField()
    alpha = models.FloatField()
    samples = models.BigIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "inverter", "metric", "hour"],
                                               name="baseline_once_per_hour")]

    def __str__(self) -> str:
        return f"{self.metric}@{self.hour:02d}h ≈ {self.mean:g}"
