"""The on-call admin's forms save through the services: a refusal shows beside its field,
nothing is saved, and what is saved is the service's row (as tenant admins and staff)."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from apps.oncall.models import ContactMethod, NotificationRule, Roster, RosterOverride
from apps.oncall.rosters import roster_save
from tests.oncall.conftest import ACTOR

pytestmark = pytest.mark.django_db


def _errors(response) -> dict:
    form = response.context_data["adminform"].form
    return {name: [str(error) for error in errors] for name, errors in form.errors.items()}


@pytest.mark.parametrize("role", ["admin", "staff"])
def test_contact_methods_and_rules_through_the_admin(world_a, client, role):
    user = getattr(world_a, role)
    client.force_login(user)
    refused = client.post("/admin/oncall/contactmethod/add/", {
        "tenant": world_a.tenant.pk, "user": user.pk, "kind": "sms", "address": "12"})
    assert refused.status_code == 200
    assert _errors(refused) == {"address": ["Enter the number in E.164 form, e.g. +351912345678."]}
    assert not ContactMethod.objects.filter(user=user).exists()

    added = client.post("/admin/oncall/contactmethod/add/", {
        "tenant": world_a.tenant.pk, "user": user.pk, "kind": "sms", "address": "+351 912 340 001"})
    assert added.status_code == 302
    method = ContactMethod.objects.get(user=user)
    assert method.address == "+351912340001"  # the service normalised it
    changed = client.post(f"/admin/oncall/contactmethod/{method.pk}/change/", {
        "address": "+351912340002", "label": "Desk"})
    assert changed.status_code == 302
    method.refresh_from_db()
    assert (method.address, method.label) == ("+351912340002", "Desk")

    rule = client.post("/admin/oncall/notificationrule/add/", {"contact_method": method.pk, "delay_minutes": 5})
    assert rule.status_code == 302
    assert NotificationRule.objects.get(contact_method=method).delay_minutes == 5


def test_staff_do_not_add_contact_methods_for_others_but_admins_do(world_a, client):
    client.force_login(world_a.staff)
    other = {"tenant": world_a.tenant.pk, "user": world_a.viewer.pk, "kind": "email", "address": "v@example.com"}
    response = client.post("/admin/oncall/contactmethod/add/", other)
    assert response.status_code == 200 and "user" in _errors(response)
    assert not ContactMethod.objects.filter(user=world_a.viewer).exists()
    client.force_login(world_a.admin)
    assert client.post("/admin/oncall/contactmethod/add/", other).status_code == 302
    assert ContactMethod.objects.filter(user=world_a.viewer).exists()


def test_roster_and_override_refusals_beside_their_fields(world_a, client):
    client.force_login(world_a.admin)
    unknown = client.post("/admin/oncall/roster/add/", {
        "tenant": world_a.tenant.pk, "name": "Days", "timezone": "", "handover_weekday": 0,
        "handover_time": "09:00", "starts_on": "2027-10-18", "sites": [world_a.site.pk],
        "member_usernames": "nobody-here"})
    assert unknown.status_code == 200
    assert _errors(unknown) == {"member_usernames": ["Not members of the tenant: nobody-here."]}
    assert not Roster.objects.filter(name="Days").exists()

    roster = roster_save(tenant=world_a.tenant, actor=ACTOR, name="Nights", members=[world_a.staff],
                         handover_time=time(9), starts_on=date(2027, 10, 18))
    start = timezone.localtime(timezone.now() + timedelta(days=1))
    backwards = client.post("/admin/oncall/rosteroverride/add/", {
        "roster": roster.pk, "user": world_a.staff.pk,
        "starts_at_0": start.strftime("%Y-%m-%d"), "starts_at_1": "10:00",
        "ends_at_0": start.strftime("%Y-%m-%d"), "ends_at_1": "09:00", "reason": "cover"})
    assert backwards.status_code == 200 and _errors(backwards)
    assert not RosterOverride.objects.exists()
    made = client.post("/admin/oncall/rosteroverride/add/", {
        "roster": roster.pk, "user": world_a.staff.pk,
        "starts_at_0": start.strftime("%Y-%m-%d"), "starts_at_1": "10:00",
        "ends_at_0": start.strftime("%Y-%m-%d"), "ends_at_1": "11:00", "reason": "cover"})
    assert made.status_code == 302, _errors(made)
    assert RosterOverride.objects.get(roster=roster).reason == "cover"


def test_a_service_form_without_its_service_is_refused_when_defined():
    from apps.oncall.models import ContactMethod
    from apps.tenancy.admin_forms import ServiceForm

    with pytest.raises(TypeError, match="save_through_service"):
        class Unsaved(ServiceForm):
            class Meta:
                model = ContactMethod
                fields = ["kind"]
