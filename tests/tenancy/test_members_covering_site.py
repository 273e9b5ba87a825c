"""`members_covering_site`: who "role X at this site" reaches."""

import pytest

from apps.tenancy.models import Role
from apps.tenancy.selectors import members_covering_site
from tests.factories import MembershipFactory, SiteFactory, TenantFactory

pytestmark = pytest.mark.django_db


def test_whole_tenant_and_chosen_site_members_cover_it_others_do_not():
    tenant = TenantFactory()
    lisbon, porto = SiteFactory(tenant=tenant), SiteFactory(tenant=tenant)
    everywhere = MembershipFactory(tenant=tenant, role=Role.STAFF)
    lisbon_only = MembershipFactory(tenant=tenant, role=Role.STAFF, all_sites=False)
    lisbon_only.sites.set([lisbon])
    porto_only = MembershipFactory(tenant=tenant, role=Role.STAFF, all_sites=False)
    porto_only.sites.set([porto])
    MembershipFactory(tenant=tenant, role=Role.VIEWER)  # wrong role
    MembershipFactory(role=Role.STAFF)  # another tenant
    both = MembershipFactory(tenant=tenant, role=Role.ADMIN, all_sites=False)
    both.sites.set([lisbon, porto])

    covering = list(members_covering_site(site=lisbon, roles={Role.STAFF, Role.ADMIN}))

    assert sorted(m.pk for m in covering) == sorted([everywhere.pk, lisbon_only.pk, both.pk])
    assert porto_only.pk not in [m.pk for m in members_covering_site(site=lisbon, roles={Role.STAFF})]


def test_inactive_people_are_not_covering():
    site = SiteFactory()
    membership = MembershipFactory(tenant=site.tenant, role=Role.STAFF)
    membership.user.is_active = False
    membership.user.save()
    assert list(members_covering_site(site=site, roles={Role.STAFF})) == []
