"""What ingest answers when lower apps announce something: their history questions (what
ingest recorded about a device or site), and a new site (it gets its rule set in the
transaction that creates it, so a site made by `site_create` never lacks one)."""

from __future__ import annotations

from apps.ingest.models import HealthSample, Scan, TelemetryReading
from apps.ingest.services.rulesets import ruleset_defaults_create


def device_history(sender, device, **kwargs) -> int:
    return sum(int(model.objects.filter(device=device).exists())
               for model in (Scan, HealthSample, TelemetryReading))


def site_history(sender, site, **kwargs) -> int:
    return int(Scan.objects.filter(site=site).exists())


def site_created(sender, site, **kwargs) -> None:
    """Sent inside `site_create`'s transaction: the site and its rules commit together."""
    ruleset_defaults_create(site=site)
