"""Answers to lower apps' history questions: what ingest recorded about a device or site."""

from __future__ import annotations

from apps.ingest.models import HealthSample, Scan, TelemetryReading


def device_history(sender, device, **kwargs) -> int:
    return sum(int(model.objects.filter(device=device).exists())
               for model in (Scan, HealthSample, TelemetryReading))


def site_history(sender, site, **kwargs) -> int:
    return int(Scan.objects.filter(site=site).exists())
