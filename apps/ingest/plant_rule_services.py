"""Writes of the plant rules (anomaly and sibling rules): validated, audited, then forgotten by
the rules cache so the next batch is judged by them. The admin and any later API go here."""

from __future__ import annotations

from django.db import transaction

from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError
from apps.ingest.plant_models import AnomalyRule, RuleWindow, SiblingRule
from apps.ingest.site_rules import forget_site_rules
from apps.tenancy.models import SiteKind

PlantRule = AnomalyRule | SiblingRule


def _name(rule: PlantRule) -> str:
    return "anomaly_rule" if isinstance(rule, AnomalyRule) else "sibling_rule"


def plant_rule_save(*, rule: PlantRule, changed: list[str], actor: Actor) -> PlantRule:
    """A rule created or edited by staff (fields already set); it belongs to its plant's tenant."""
    if rule.site.kind != SiteKind.PLANT:
        raise ApplicationError("Plant rules apply to plants only.", fields={"site": ["Not a plant."]})
    rule.tenant_id = rule.site.tenant_id
    creating = rule.pk is None
    rule.full_clean(exclude=["tenant"])
    with transaction.atomic():
        rule.save()
        audit_record(tenant=rule.site.tenant, actor=actor,
                     action=f"{_name(rule)}.{'created' if creating else 'changed'}", target_type="site",
                     target_id=rule.site.public_id, details={"metric": rule.metric, "fields": sorted(changed)})
    forget_site_rules(rule.site_id)
    return rule


def plant_rule_delete(*, rule: PlantRule, actor: Actor) -> None:
    with transaction.atomic():
        site, metric, name = rule.site, rule.metric, _name(rule)
        rule.delete()
        audit_record(tenant=site.tenant, actor=actor, action=f"{name}.deleted", target_type="site",
                     target_id=site.public_id, details={"metric": metric})
    forget_site_rules(site.pk)


def daylight_warning(rule) -> str:
    """What the admin says when a daylight window has no coordinates to compute it from."""
    if rule.window == RuleWindow.DAYLIGHT and not rule.site.has_coordinates:
        return (f"{rule.site} has no coordinates: its daylight window cannot be computed and the rule judges "
                "every reading until latitude and longitude are set on the site.")
    return ""
