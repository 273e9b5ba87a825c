"""Writes of a site's rules: the defaults a new site gets, and staff edits of its rule set
and telemetry thresholds (validated, audited).

Every write is forgotten by the rules cache (`site_rules.forget_site_rules`) after it, so
the next report is judged by what was written.
"""

from __future__ import annotations

from django.db import transaction

from apps.audit.services import Actor, audit_record
from apps.ingest.models import PLANT_DEFAULT_THRESHOLDS, RuleSet, TelemetryThreshold
from apps.ingest.site_rules import forget_site_rules
from apps.tenancy.models import Site, SiteKind


def ruleset_defaults_create(*, site: Site) -> RuleSet:
    """The rule set a new site starts with, the defaults of its kind (a plant's default
    thresholds too). Idempotent: a site that has its rule set keeps it as it is."""
    with transaction.atomic():
        ruleset, created = RuleSet.objects.get_or_create(
            site=site, defaults={"tenant_id": site.tenant_id, **RuleSet.defaults_for(site.kind)})
        if created and site.kind == SiteKind.PLANT:
            TelemetryThreshold.objects.bulk_create([
                TelemetryThreshold(tenant_id=site.tenant_id, site=site, **spec) for spec in PLANT_DEFAULT_THRESHOLDS
            ])
    forget_site_rules(site.pk)
    return ruleset


def ruleset_save(*, ruleset: RuleSet, changed: list[str], actor: Actor) -> RuleSet:
    """A site's rules as staff edited them (fields already set): validated, saved, audited, and
    forgotten by the rules cache so the next report is judged by them."""
    ruleset.full_clean(exclude=["tenant", "site"])
    with transaction.atomic():
        ruleset.save()
        audit_record(tenant=ruleset.tenant, actor=actor, action="rules.changed", target_type="site",
                     target_id=ruleset.site.public_id, details={"fields": sorted(changed)})
    forget_site_rules(ruleset.site_id)
    return ruleset


def threshold_save(*, threshold: TelemetryThreshold, changed: list[str], actor: Actor) -> TelemetryThreshold:
    """A telemetry threshold created or edited by staff; it belongs to its site's tenant."""
    threshold.tenant_id = threshold.site.tenant_id
    creating = threshold.pk is None
    threshold.full_clean(exclude=["tenant"])
    with transaction.atomic():
        threshold.save()
        audit_record(tenant=threshold.site.tenant, actor=actor,
                     action="threshold.created" if creating else "threshold.changed", target_type="site",
                     target_id=threshold.site.public_id,
                     details={"metric": threshold.metric, "fields": sorted(changed)})
    forget_site_rules(threshold.site_id)
    return threshold


def threshold_delete(*, threshold: TelemetryThreshold, actor: Actor) -> None:
    with transaction.atomic():
        site, metric = threshold.site, threshold.metric
        threshold.delete()
        audit_record(tenant=site.tenant, actor=actor, action="threshold.deleted", target_type="site",
                     target_id=site.public_id, details={"metric": metric})
    forget_site_rules(site.pk)
