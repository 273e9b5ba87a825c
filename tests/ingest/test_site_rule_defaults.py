"""A site gets its rule set when it is created; reading a site's rules never writes."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.ingest.models import RuleSet, TelemetryThreshold
from apps.ingest.site_rules import config_for_device, forget_site_rules, rules_for_site
from apps.tenancy.services import site_create
from tests.factories import DeviceFactory, SiteFactory

pytestmark = pytest.mark.django_db


def test_a_new_site_gets_the_rule_set_of_its_kind(world_a):
    store = site_create(tenant=world_a.tenant, name="Corner Store", location_id="STORE-7", kind="store")
    rules = RuleSet.objects.get(site=store)
    assert rules.tenant_id == world_a.tenant.pk and rules.scanner_health_enabled and rules.underage_age == 21
    assert not TelemetryThreshold.objects.filter(site=store).exists()


def test_a_new_plant_gets_its_default_thresholds_too(world_a):
    plant = site_create(tenant=world_a.tenant, name="Solar Farm", location_id="PLANT-7", kind="plant")
    assert RuleSet.objects.get(site=plant).heartbeat_interval_seconds == 60
    assert set(TelemetryThreshold.objects.filter(site=plant).values_list("metric", flat=True)) == {
        "temperature", "voltage_dc"}


def test_reading_the_rules_of_a_site_without_a_rule_set_writes_nothing(world_a):
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")  # made without site_create
    forget_site_rules(plant.pk)
    with CaptureQueriesContext(connection) as queries:
        site_rules = rules_for_site(plant)
    assert all(query["sql"].lstrip().upper().startswith("SELECT") for query in queries.captured_queries)
    assert not RuleSet.objects.filter(site=plant).exists() and not TelemetryThreshold.objects.exists()
    assert site_rules.rules.pk is None and site_rules.rules.heartbeat_interval_seconds == 60
    assert {threshold.metric for threshold in site_rules.thresholds} == {"temperature", "voltage_dc"}


def test_the_agent_config_of_a_site_without_a_rule_set_is_its_kind_defaults(world_a):
    store = SiteFactory(tenant=world_a.tenant, kind="store")
    config = config_for_device(DeviceFactory(site=store, kind="scanner"))
    assert config["underage_age"] == 21 and config["heartbeat_interval_seconds"] == 60
    assert not RuleSet.objects.filter(site=store).exists()


def test_the_migration_gives_sites_without_a_rule_set_their_defaults_and_leaves_the_others(world_a):
    migration = importlib.import_module("apps.ingest.migrations.0006_site_rule_defaults")
    plant = SiteFactory(tenant=world_a.tenant, kind="plant")
    kept = SiteFactory(tenant=world_a.tenant, kind="store")
    RuleSet.objects.create(tenant=world_a.tenant, site=kept, underage_age=18)
    migration.create_missing_rule_sets(django_apps, None)
    assert RuleSet.objects.get(site=kept).underage_age == 18
    assert RuleSet.objects.get(site=plant).heartbeat_interval_seconds == 60
    assert TelemetryThreshold.objects.filter(site=plant).count() == 2
    assert RuleSet.objects.get(site=world_a.site).breach_enabled  # the hotel
