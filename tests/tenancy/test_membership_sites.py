"""Membership sites: set through the service (API, admin, invites alike), held to the rules,
audited. A site-scoped manager grants only the sites they cover."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEntry
from apps.common.errors import ApplicationError, ForbiddenError
from apps.tenancy.memberships import membership_remove, membership_set
from apps.tenancy.models import Membership, Role
from tests.factories import SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


def _membership(world, user) -> Membership:
    return Membership.objects.get(tenant=world.tenant, user=user)


def test_a_whole_tenant_owner_limits_a_member_and_back_audited(harbour):
    newcomer = UserFactory()
    membership = membership_set(tenant=harbour.tenant, user=newcomer, role=Role.STAFF, actor=harbour.owner,
                                all_sites=False, sites=[harbour.porto])
    assert not membership.all_sites and list(membership.sites.all()) == [harbour.porto]
    membership = membership_set(tenant=harbour.tenant, user=newcomer, role=Role.VIEWER, actor=harbour.owner)
    assert list(membership.sites.all()) == [harbour.porto] and membership.role == Role.VIEWER  # sites kept
    membership = membership_set(tenant=harbour.tenant, user=newcomer, role=Role.VIEWER, actor=harbour.owner,
                                all_sites=True)
    assert membership.all_sites and not membership.sites.exists()
    details = [entry.details for entry in AuditEntry.objects.filter(
        tenant=harbour.tenant, target_id=str(newcomer.pk)).order_by("seq")]
    assert [(d["all_sites"], d["sites"]) for d in details] == [
        (False, [harbour.porto.public_id]), (False, [harbour.porto.public_id]), (True, [])]


def test_sites_must_be_the_tenants_own_and_at_least_one(harbour, world_b):
    with pytest.raises(ApplicationError) as refused:
        membership_set(tenant=harbour.tenant, user=UserFactory(), role=Role.STAFF, actor=harbour.owner,
                       sites=[world_b.site])
    assert refused.value.fields == {"sites": ["No such site."]}
    with pytest.raises(ApplicationError):
        membership_set(tenant=harbour.tenant, user=UserFactory(), role=Role.STAFF, actor=harbour.owner,
                       all_sites=False, sites=[])


def test_a_lisbon_admin_grants_lisbon_only_and_cannot_touch_wider_members(harbour):
    lisbon_admin = harbour.lisbon_member(Role.ADMIN)
    with pytest.raises(ForbiddenError):
        membership_set(tenant=harbour.tenant, user=UserFactory(), role=Role.STAFF, actor=lisbon_admin)  # all sites
    with pytest.raises(ForbiddenError):
        membership_set(tenant=harbour.tenant, user=UserFactory(), role=Role.STAFF, actor=lisbon_admin,
                       sites=[harbour.lisbon, harbour.porto])
    with pytest.raises(ForbiddenError):  # the Porto viewer covers a site the Lisbon admin does not
        membership_set(tenant=harbour.tenant, user=harbour.porto_viewer, role=Role.VIEWER, actor=lisbon_admin,
                       sites=[harbour.lisbon])
    with pytest.raises(ForbiddenError):
        membership_remove(membership=_membership(harbour, harbour.porto_viewer), actor=lisbon_admin)
    with pytest.raises(ForbiddenError):  # nor widen themselves
        membership_set(tenant=harbour.tenant, user=lisbon_admin, role=Role.ADMIN, actor=lisbon_admin,
                       all_sites=True)
    added = membership_set(tenant=harbour.tenant, user=UserFactory(), role=Role.STAFF, actor=lisbon_admin,
                           sites=[harbour.lisbon])
    assert list(added.sites.all()) == [harbour.lisbon]
    membership_remove(membership=added, actor=lisbon_admin)


def test_the_memberships_api_lists_and_changes_sites_within_scope(harbour, client_for):
    owner = client_for(harbour.owner)
    rows = owner.get("/api/v1/members/").json()["results"]
    staff_row = next(row for row in rows if row["username"] == "lisbon-staff")
    assert staff_row["all_sites"] is False and staff_row["sites"] == [harbour.lisbon.public_id]
    changed = owner.patch(f"/api/v1/members/{staff_row['id']}/", {"sites": [harbour.porto.public_id]},
                          format="json")
    assert changed.status_code == 200 and changed.json()["sites"] == [harbour.porto.public_id]
    lisbon_admin = client_for(harbour.lisbon_member(Role.ADMIN))
    seen = {row["username"] for row in lisbon_admin.get("/api/v1/members/").json()["results"]}
    assert "lisbon-admin" in seen and "harbour-owner" not in seen and "porto-viewer" not in seen
    viewer = _membership(harbour, harbour.lisbon_member(Role.VIEWER))
    assert lisbon_admin.patch(f"/api/v1/members/{viewer.public_id}/", {"sites": [harbour.porto.public_id]},
                              format="json").status_code == 400  # Porto is not theirs to name
    assert lisbon_admin.patch(f"/api/v1/members/{viewer.public_id}/", {"all_sites": True},
                              format="json").status_code == 403
    faro = SiteFactory(tenant=harbour.tenant, name="Faro Marina Hotel")
    assert owner.patch(f"/api/v1/members/{viewer.public_id}/", {"sites": [harbour.lisbon.public_id,
                                                                             faro.public_id]},
                       format="json").status_code == 200
    assert lisbon_admin.get(f"/api/v1/members/{viewer.public_id}/").status_code == 200  # shares Lisbon
    assert lisbon_admin.patch(f"/api/v1/members/{viewer.public_id}/", {"role": "staff"},
                              format="json").status_code == 403  # but covers Faro, which they do not
    assert client_for(harbour.lisbon_member(Role.STAFF)).get("/api/v1/members/").status_code == 403


def test_me_says_which_sites_a_membership_covers(harbour, client_for):
    me = client_for(harbour.lisbon_member(Role.STAFF)).get("/api/v1/me/").json()
    assert [(m["all_sites"], m["sites"]) for m in me["memberships"]] == [(False, [harbour.lisbon.public_id])]
