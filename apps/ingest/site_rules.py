"""The rules a site's reports are judged by, read from the database: its rule set, its
enabled thresholds and plant rules. Reads only: a site without a rule set yet (created
before its defaults were made, or by a path that bypassed `site_create`) is judged by the
defaults of its kind held in memory, never by a write on the read path.

Cached briefly in-process because every heartbeat needs them (edits apply within seconds:
every write of a site's rules forgets its entry).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from apps.devices.models import Device
from apps.ingest.models import PLANT_DEFAULT_THRESHOLDS, RuleSet, TelemetryThreshold
from apps.ingest.plant_models import AnomalyRule, SiblingRule
from apps.tenancy.models import Site, SiteKind

RULES_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class SiteRules:
    rules: RuleSet
    thresholds: tuple[TelemetryThreshold, ...]
    anomaly_rules: tuple[AnomalyRule, ...] = ()
    sibling_rules: tuple[SiblingRule, ...] = ()


_cache: dict[int, tuple[float, SiteRules]] = {}


def _defaults(site: Site) -> tuple[RuleSet, tuple[TelemetryThreshold, ...]]:
    """What `ruleset_defaults_create` would write for the site, unsaved."""
    rules = RuleSet(site=site, tenant_id=site.tenant_id, **RuleSet.defaults_for(site.kind))
    thresholds = ()
    if site.kind == SiteKind.PLANT:
        thresholds = tuple(TelemetryThreshold(tenant_id=site.tenant_id, site=site, **spec)
                           for spec in PLANT_DEFAULT_THRESHOLDS)
    return rules, thresholds


def rules_for_site(site: Site) -> SiteRules:
    """The site's rules (its kind's defaults, in memory, while it has no rule set)."""
    cached = _cache.get(site.pk)
    now = time.monotonic()
    if cached and now - cached[0] < RULES_CACHE_SECONDS:
        return cached[1]
    thresholds = tuple(TelemetryThreshold.objects.filter(site=site, enabled=True))
    try:
        rules = RuleSet.objects.get(site=site)
    except RuleSet.DoesNotExist:
        rules, default_thresholds = _defaults(site)
        thresholds += default_thresholds
    anomaly_rules = sibling_rules = ()
    if site.kind == SiteKind.PLANT:
        anomaly_rules = tuple(AnomalyRule.objects.filter(site=site, enabled=True))
        sibling_rules = tuple(SiblingRule.objects.filter(site=site, enabled=True))
    value = SiteRules(rules=rules, thresholds=thresholds, anomaly_rules=anomaly_rules, sibling_rules=sibling_rules)
    _cache[site.pk] = (now, value)
    return value


def forget_site_rules(site_id: int) -> None:
    _cache.pop(site_id, None)


def config_for_device(device: Device) -> dict[str, Any]:
    """What the rules tell the agent at start (merged into GET /devices/me/)."""
    rules = rules_for_site(device.site).rules
    return {
        "heartbeat_interval_seconds": rules.heartbeat_interval_seconds,
        "underage_age": rules.underage_age,
        "cpu_temp_threshold": rules.cpu_temp_celsius,
        "battery_warning_percent": rules.battery_warning_percent,
        "rssi_breach_dbm": rules.rssi_breach_dbm,
    }
