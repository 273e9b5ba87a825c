"""Roles: nobody raises their own, grants one above their own or touches a member who outranks
them; API keys are held to the rules of the role their scope stands for."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.audit.services import Actor
from apps.common.errors import ForbiddenError
from apps.devices.api_keys import api_key_create
from apps.tenancy.memberships import membership_remove, membership_set
from apps.tenancy.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _role(world, user) -> str:
    return world.tenant.memberships.get(user=user).role


def test_an_admin_cannot_raise_their_own_role(world_a):
    with pytest.raises(ForbiddenError) as refused:
        membership_set(tenant=world_a.tenant, user=world_a.admin, role=Role.OWNER, actor=world_a.admin)
    assert refused.value.code == "self_promotion"
    assert _role(world_a, world_a.admin) == Role.ADMIN


def test_nobody_grants_a_role_above_their_own(world_a):
    newcomer = UserFactory()
    with pytest.raises(ForbiddenError):
        membership_set(tenant=world_a.tenant, user=newcomer, role=Role.OWNER, actor=world_a.admin)
    assert not world_a.tenant.memberships.filter(user=newcomer).exists()
    membership_set(tenant=world_a.tenant, user=newcomer, role=Role.ADMIN, actor=world_a.admin)
    assert _role(world_a, newcomer) == Role.ADMIN


@pytest.mark.parametrize("role", [Role.STAFF, Role.VIEWER])
def test_staff_and_viewers_manage_no_members(world_a, role):
    actor = world_a.staff if role == Role.STAFF else world_a.viewer
    with pytest.raises(ForbiddenError):
        membership_set(tenant=world_a.tenant, user=UserFactory(), role=Role.VIEWER, actor=actor)
    with pytest.raises(ForbiddenError):
        membership_set(tenant=world_a.tenant, user=actor, role=Role.ADMIN, actor=actor)


def test_an_admin_cannot_demote_or_remove_an_owner(world_a):
    with pytest.raises(ForbiddenError):
        membership_set(tenant=world_a.tenant, user=world_a.owner, role=Role.VIEWER, actor=world_a.admin)
    with pytest.raises(ForbiddenError):
        membership_remove(membership=world_a.tenant.memberships.get(user=world_a.owner), actor=world_a.admin)
    assert _role(world_a, world_a.owner) == Role.OWNER


def test_a_member_of_another_tenant_has_no_say(world_a, world_b):
    with pytest.raises(ForbiddenError):
        membership_set(tenant=world_a.tenant, user=world_b.owner, role=Role.OWNER, actor=world_b.owner)


def test_owners_lower_their_own_role_and_grant_owner(world_a):
    membership_set(tenant=world_a.tenant, user=world_a.admin, role=Role.OWNER, actor=world_a.owner)
    membership_set(tenant=world_a.tenant, user=world_a.owner, role=Role.STAFF, actor=world_a.owner)
    assert (_role(world_a, world_a.admin), _role(world_a, world_a.owner)) == (Role.OWNER, Role.STAFF)


def test_superusers_and_operators_at_the_command_line_are_not_bound(world_a, superuser):
    membership_set(tenant=world_a.tenant, user=world_a.viewer, role=Role.OWNER, actor=superuser)
    call_command("add_member", tenant=world_a.tenant.slug, username=world_a.staff.username, role="owner")
    assert (_role(world_a, world_a.viewer), _role(world_a, world_a.staff)) == (Role.OWNER, Role.OWNER)


# --- API keys read what their role reads -------------------------------------------------------------


def _key(world, *scopes) -> APIClient:
    issued = api_key_create(tenant=world.tenant, name="integration", scopes=list(scopes), actor=Actor.system("t"))
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=issued.key)
    return client


@pytest.mark.parametrize("path", ["/api/v1/audit/", "/api/v1/setup-tokens/", "/api/v1/api-keys/",
                                  "/api/v1/channels/", "/api/v1/escalation-policies/"])
def test_a_read_key_is_refused_what_a_viewer_is_refused(world_a, client_for, path):
    assert client_for(world_a.viewer).get(path).status_code == 403
    assert _key(world_a, "read").get(path).status_code == 403
    assert _key(world_a, "read", "write_events").get(path).status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/alerts/", "/api/v1/sites/", "/api/v1/devices/", "/api/alerts/recent"])
def test_a_read_key_reads_what_a_viewer_reads(world_a, client_for, path):
    assert client_for(world_a.viewer).get(path).status_code == 200
    assert _key(world_a, "read").get(path).status_code == 200


def test_writing_events_needs_the_write_events_scope(world_a):
    event = {"event_action": "trigger", "dedup_key": "disk-db1",
             "payload": {"summary": "Disk full on db1", "severity": "warning", "source": "db1"}}
    assert _key(world_a, "read").post("/api/v1/events/", event, format="json").status_code == 403
    assert _key(world_a, "write_events").post("/api/v1/events/", event, format="json").status_code == 202
