"""Every tenant-owned model is classified for per-site access: scoped by a site, or listed
here as tenant-wide (visible to whole-tenant members only). A new model fails until someone
decides which it is, so no model is left visible to site-scoped members by omission."""

from __future__ import annotations

import pytest
from django.apps import apps

from apps.tenancy.models import Membership, Site
from apps.tenancy.scoping import Scope, scope_for_user, site_path_for

TENANT_WIDE = {
    "tenancy.membership", "tenancy.retentionpolicy", "audit.auditentry", "audit.auditanchor", "devices.apikey",
    "notifications.channel", "notifications.escalationpolicy", "notifications.escalationstep",
    "notifications.routingversion", "iot.certificateauthority", "iot.deadletter",
    # Personal rows: scoped by their person, not a site (apps/oncall/api/views.py _PersonalMixin).
    "oncall.contactmethod", "oncall.notificationrule",
}


def _tenant_owned():
    return [model for model in apps.get_models()
            if model.__module__.startswith("apps.") and any(f.name == "tenant" for f in model._meta.get_fields())]


def test_every_tenant_owned_model_is_site_scoped_or_declared_tenant_wide():
    unclassified = sorted(model._meta.label_lower for model in _tenant_owned()
                          if site_path_for(model) is None and model._meta.label_lower not in TENANT_WIDE)
    assert not unclassified, f"scope these by site (apps.tenancy.scoping) or list them as tenant-wide: {unclassified}"


def test_site_paths_resolve_to_real_lookups():
    for model in _tenant_owned():
        path = site_path_for(model)
        if path is not None:
            str(model._default_manager.filter(**{f"{path}__in": [0]}).query)  # raises on a wrong path


@pytest.mark.django_db
def test_a_membership_counts_only_sites_of_its_own_tenant(harbour, world_b):
    """Whatever the table holds, another tenant's site never widens a scope."""
    membership = Membership.objects.get(tenant=harbour.tenant, user=harbour.lisbon_member("staff"))
    Membership.sites.through.objects.create(membership=membership, site=world_b.site)
    scope = scope_for_user(membership.user)
    assert scope.site_ids == {harbour.lisbon.pk}
    assert list(scope.sites()) == [harbour.lisbon]
    assert Scope().filter(Site.objects.all()).count() == 0
