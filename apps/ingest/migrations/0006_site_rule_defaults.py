"""Every site gets the rule set of its kind (a plant its default thresholds too).

Rule sets used to be created by the first report read that needed them; they are now made
by a service when a site is created, and the read path never writes. This gives the sites
created before that change, and never reported on, what they would have got then. The
defaults are frozen here as they were at that change.
"""

from django.db import migrations

RULESET_DEFAULTS = {
    "hotel": {"breach_enabled": True},
    "store": {"scanner_health_enabled": True, "underage_age": 21},
    "plant": {"heartbeat_interval_seconds": 60},
}
PLANT_THRESHOLDS = (
    {"metric": "temperature", "operator": "gt", "value": 75.0, "sustained_seconds": 120, "severity": "high"},
    {"metric": "voltage_dc", "operator": "gt", "value": 1000.0, "sustained_seconds": 0, "severity": "critical"},
)


def create_missing_rule_sets(apps, schema_editor):
    Site = apps.get_model("tenancy", "Site")
    RuleSet = apps.get_model("ingest", "RuleSet")
    TelemetryThreshold = apps.get_model("ingest", "TelemetryThreshold")
    for site in Site.objects.filter(rules__isnull=True).iterator():
        RuleSet.objects.create(site=site, tenant_id=site.tenant_id, **RULESET_DEFAULTS.get(site.kind, {}))
        if site.kind == "plant":
            TelemetryThreshold.objects.bulk_create([
                TelemetryThreshold(site=site, tenant_id=site.tenant_id, **spec) for spec in PLANT_THRESHOLDS])


class Migration(migrations.Migration):

    dependencies = [
        ("ingest", "0005_plant_rules"),
        ("tenancy", "0008_site_coordinates"),
    ]

    operations = [
        migrations.RunPython(create_missing_rule_sets, migrations.RunPython.noop),
    ]
