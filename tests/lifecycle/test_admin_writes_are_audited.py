"""Every admin model's save and delete writes an audit entry, or the admin does not offer it.

Walked as a tenant admin (a superuser for tenants): each writable model is changed through
its real change form and deleted through its real delete page, and the tenant's audit log
must have grown each time. A model registered in the admin that is neither listed here nor
read-only for that user fails the completeness test, so a new admin cannot skip the audit.
"""

from __future__ import annotations

import json
from datetime import date, time

import pytest
from django.contrib import admin
from django.db.models import Model
from django.forms import ModelMultipleChoiceField
from django.test import Client, RequestFactory

from apps.audit.models import AuditEntry
from apps.audit.services import Actor
from apps.ingest.models import AnomalyRule, SiblingRule, TelemetryThreshold
from apps.ingest.services.rulesets import ruleset_defaults_create
from apps.notifications.channels import channel_create, quiet_hours_save
from apps.oncall.contacts import contact_method_create, notification_rule_create
from apps.oncall.rosters import roster_save
from apps.reports.services import schedule_save
from apps.tenancy.models import LegalHold, Membership, RetentionPolicy, Role
from tests.factories import DEFAULT_PASSWORD, DeviceFactory, MembershipFactory, SiteFactory, TenantFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def _site(world):
    return SiteFactory(tenant=world.tenant)


def _threshold(world):
    return TelemetryThreshold.objects.create(tenant=world.tenant, site=world.site, metric="dc_voltage",
                                             operator="gt", value=900)


def _plant_rule(model):
    def make(world):
        return model.objects.create(tenant=world.tenant, site=SiteFactory(tenant=world.tenant, kind="plant"),
                                    metric="power_ac")
    return make


WRITABLE = {
    "tenancy.tenant": (lambda world: TenantFactory(), "name", "Renamed", True),
    "tenancy.site": (_site, "name", "Renamed", False),
    "tenancy.membership": (lambda world: MembershipFactory(tenant=world.tenant, role=Role.VIEWER), "role",
                           Role.STAFF, False),
    "devices.device": (lambda world: DeviceFactory(site=world.site), "name", "Renamed", False),
    "ingest.ruleset": (lambda world: ruleset_defaults_create(site=world.site), "underage_age", 19, False),
    "ingest.telemetrythreshold": (_threshold, "value", 950.0, False),
    "ingest.anomalyrule": (_plant_rule(AnomalyRule), "z_threshold", 5.0, False),
    "ingest.siblingrule": (_plant_rule(SiblingRule), "percent_below", 30.0, False),
    "notifications.channel": (lambda world: channel_create(tenant=world.tenant, name="desk", kind="email",
                                                           target="ops@example.com", actor=ACTOR), "name",
                              "Renamed", False),
    "tenancy.retentionpolicy": (lambda world: RetentionPolicy.objects.create(tenant=world.tenant, table="scans",
                                                                             days=30), "days", 60, False),
    "reports.reportschedule": (lambda world: schedule_save(tenant=world.tenant, kind="compliance",
                                                           recipients=[world.owner], actor=ACTOR), "enabled", False,
                               False),
    "notifications.quiethours": (lambda world: quiet_hours_save(site=world.site, start=time(22), end=time(6),
                                                                enabled=True, actor=ACTOR), "enabled", False, False),
    "oncall.contactmethod": (lambda world: contact_method_create(tenant=world.tenant, user=world.admin, kind="sms",
                                                                 address="+351912345670", actor=ACTOR),
                             "label", "Desk phone", False),
    "oncall.notificationrule": (lambda world: notification_rule_create(
        method=contact_method_create(tenant=world.tenant, user=world.admin, kind="email",
                                     address="desk@example.com", actor=ACTOR), delay_minutes=0, actor=ACTOR),
        "delay_minutes", 10, False),
    "oncall.roster": (lambda world: roster_save(tenant=world.tenant, actor=ACTOR, name="Nights",
                                                members=[world.staff], handover_time=time(9),
                                                starts_on=date(2027, 10, 18), sites=[world.site]),
                      "name", "Renamed", False),
}
# Tested where their forms live (policy steps are an inline formset): tests/notifications;
# legal holds are placed (audited, below) and released by an action, never changed or deleted;
# maintenance windows (split date-time fields) and roster overrides (added and deleted, never
# changed): tests/oncall/test_api_and_admin.py.
COVERED_ELSEWHERE = {"notifications.escalationpolicy", "tenancy.legalhold", "oncall.maintenancewindow",
                     "oncall.rosteroverride"}


def _label(model: type[Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def _user_for(world, superuser, as_superuser: bool):
    return superuser if as_superuser else world.admin


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)
    return client


def _form_data(model_admin, request, obj, field: str, value) -> dict:
    """What the change page would post back unchanged, with one field changed."""
    form = model_admin.get_form(request, obj)(instance=obj)
    data = {}
    for name, bound in form.fields.items():
        initial = form.get_initial_for_field(bound, name)
        if isinstance(bound, ModelMultipleChoiceField):  # a multiple choice posts its pks, none when empty
            data[name] = [item.pk if isinstance(item, Model) else item for item in initial or []]
        elif isinstance(initial, list) and initial and isinstance(initial[0], Model):
            data[name] = [item.pk for item in initial]
        elif isinstance(initial, dict | list):
            data[name] = json.dumps(initial)
        elif isinstance(initial, Model):
            data[name] = initial.pk
        elif isinstance(initial, time):
            data[name] = initial.strftime("%H:%M")
        elif isinstance(initial, bool):
            if initial:
                data[name] = "on"
        elif initial is not None:
            data[name] = initial
    if isinstance(value, bool):
        data.pop(field, None) if not value else data.__setitem__(field, "on")
    else:
        data[field] = value
    return data


def _entries() -> int:
    return AuditEntry.objects.count()


def test_every_admin_model_is_audited_or_read_only(world_a, superuser):
    request = RequestFactory().get("/admin/")
    for model, model_admin in admin.site._registry.items():
        label = _label(model)
        if label.split(".")[0] not in {"tenancy", "devices", "ingest", "alerts", "notifications", "audit",
                                       "reports", "oncall"}:
            continue
        if label in WRITABLE or label in COVERED_ELSEWHERE:
            continue
        for user in (world_a.admin, superuser):
            request.user = user
            writable = model_admin.has_change_permission(request, None) or model_admin.has_delete_permission(request,
                                                                                                             None)
            # Secret-issuing admins add through an audited service and never change or delete.
            if label in {"devices.setuptoken", "devices.apikey"}:
                writable = model_admin.has_delete_permission(request, None)
            assert not writable, f"{label} is writable in the admin but not covered by the audit test"


@pytest.mark.parametrize("label", sorted(WRITABLE))
def test_admin_save_writes_an_audit_entry(label, world_a, superuser):
    factory, field, value, as_superuser = WRITABLE[label]
    obj = factory(world_a)
    user = _user_for(world_a, superuser, as_superuser)
    model_admin = admin.site._registry[type(obj)]
    request = RequestFactory().get("/")
    request.user = user
    data = _form_data(model_admin, request, obj, field, value)
    before = _entries()
    app, name = label.split(".")
    response = _client(user).post(f"/admin/{app}/{name}/{obj.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    obj.refresh_from_db()
    assert getattr(obj, field) == value
    assert _entries() > before, f"saving {label} in the admin wrote no audit entry"


@pytest.mark.parametrize("label", sorted(WRITABLE))
def test_admin_delete_writes_an_audit_entry_or_is_not_offered(label, world_a, superuser):
    factory, _, _, as_superuser = WRITABLE[label]
    obj = factory(world_a)
    user = _user_for(world_a, superuser, as_superuser)
    model_admin = admin.site._registry[type(obj)]
    request = RequestFactory().get("/")
    request.user = user
    app, name = label.split(".")
    client = _client(user)
    before = _entries()
    response = client.post(f"/admin/{app}/{name}/{obj.pk}/delete/", {"post": "yes"})
    if not model_admin.has_delete_permission(request, obj):
        assert response.status_code == 403
        assert _entries() == before
        return
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _entries() > before, f"deleting {label} in the admin wrote no audit entry"


def test_membership_removed_in_the_admin_is_recorded(world_a):
    membership = Membership.objects.get(tenant=world_a.tenant, user=world_a.viewer)
    _client(world_a.admin).post(f"/admin/tenancy/membership/{membership.pk}/delete/", {"post": "yes"})
    assert AuditEntry.objects.filter(tenant=world_a.tenant, action="membership.removed",
                                     target_id=str(world_a.viewer.pk)).exists()


def test_legal_holds_are_placed_and_released_in_the_admin_audited_never_edited(world_a):
    client = _client(world_a.admin)
    response = client.post("/admin/tenancy/legalhold/add/", {"tenant": world_a.tenant.pk, "site": world_a.site.pk,
                                                             "reason": "inspection 2026-11"})
    assert response.status_code == 302
    hold = LegalHold.objects.get(tenant=world_a.tenant)
    assert hold.placed_by == world_a.admin.username
    assert client.post(f"/admin/tenancy/legalhold/{hold.pk}/change/", {"reason": "x"}).status_code == 403
    assert client.post(f"/admin/tenancy/legalhold/{hold.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post("/admin/tenancy/legalhold/", {"action": "release_selected", "_selected_action": [hold.pk]})
    hold.refresh_from_db()
    assert hold.released_at is not None
    actions = set(AuditEntry.objects.filter(tenant=world_a.tenant).values_list("action", flat=True))
    assert {"legal_hold.placed", "legal_hold.released"} <= actions
