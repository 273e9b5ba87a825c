"""Lisbon and Porto: one hotel group, two sites, and members limited to Lisbon.

`harbour` is the tenant with one of everything at each site (each named after its city, so
a leak is found by looking for "porto" in a page), a whole-tenant owner, Lisbon-only
members of every role, and a Porto-only viewer. Memberships are made through the
membership service, as the API and the admin make them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import time, timedelta

import pytest
from django.utils import timezone

from apps.alerts.services import alert_raise
from apps.audit.services import Actor
from apps.devices.commands import command_send
from apps.devices.setup_tokens import setup_token_create
from apps.ingest.models import TelemetryThreshold
from apps.ingest.services.rulesets import ruleset_defaults_create
from apps.iot.models import Gateway
from apps.notifications.channels import channel_create
from apps.notifications.models import Notification, QuietHours
from apps.notifications.policies import policy_save
from apps.oncall.contacts import contact_method_create, notification_rule_create
from apps.oncall.maintenance import maintenance_create
from apps.oncall.rosters import override_create, roster_save
from apps.reports.models import Report
from apps.tenancy.accounts import member_invite
from apps.tenancy.memberships import membership_set
from apps.tenancy.models import LegalHold, Role
from tests.factories import DeviceFactory, SiteFactory, TenantFactory, UserFactory

ACTOR = Actor.system("test")


@dataclass
class HarbourWorld:
    tenant: object
    lisbon: object
    porto: object
    owner: object  # every site
    lisbon_members: dict  # role -> user limited to Lisbon
    porto_viewer: object
    objects: dict = field(default_factory=dict)  # city -> what was made there

    def lisbon_member(self, role: str):
        return self.lisbon_members[role]


def _populate(tenant, site, city: str, device_client) -> dict:
    device, client = device_client(site, name=f"{city.title()} Room Tablet", hardware_id=f"{city}-hw-1")
    _, scanner = device_client(site, kind="scanner", name=f"{city.title()} Till Scanner", hardware_id=f"{city}-hw-2")
    now = timezone.now().isoformat()
    assert client.post("/api/v1/heartbeats/", {"sent_at": now, "firmware": f"{city}-fw"},
                       format="json").status_code == 202
    assert scanner.post("/api/v1/scans/batch/", {"batch_id": str(uuid.uuid4()), "scans": [{
        "scan_id": str(uuid.uuid4()), "scanned_at": now, "birth_year": timezone.now().year - 30, "age": 30,
        "is_underage": False, "is_valid": True, "document_expired": False, "jurisdiction": "PT",
        "subject_hash": "c" * 64}]}, format="json").status_code == 202
    assert client.post("/api/v1/telemetry/", {"readings": [{
        "message_id": str(uuid.uuid4()), "metric": f"{city}_power", "value": 1.0, "ts": now}]},
        format="json").status_code == 202
    ruleset_defaults_create(site=site)
    TelemetryThreshold.objects.create(tenant=tenant, site=site, metric=f"{city}_metric", operator="gt", value=1)
    QuietHours.objects.create(tenant=tenant, site=site, start=time(22), end=time(7))
    alert = alert_raise(tenant=tenant, kind="breach", dedup_key=f"{city}-breach", severity="critical",
                        summary=f"{city.title()} breach in room 101", source="rule", site=site, device=device).alert
    token = setup_token_create(site=site, actor=ACTOR, label=f"{city.title()} till token").record
    report = Report.objects.create(tenant=tenant, site=site, kind="compliance", period_start=alert.created_at,
                                   period_end=alert.created_at, status="ready", content=b"%PDF " + city.encode())
    gateway = Gateway.objects.create(tenant=tenant, site=site, identity=f"gw.{city}.tocsin", status="active",
                                     device=DeviceFactory(site=site, kind="gateway", name=f"{city.title()} Gateway",
                                                          hardware_id=f"{city}-gw"))
    LegalHold.objects.create(tenant=tenant, site=site, reason=f"{city.title()} inquiry")
    notification = Notification.objects.filter(alert=alert).first()
    assert notification is not None, "the policy covers every site: the alert must have paged"
    return {"device": device, "alert": alert, "token": token, "report": report, "gateway": gateway,
            "notification": notification}


def make_harbour(device_client) -> HarbourWorld:
    tenant = TenantFactory(name="Harbour Hotels", slug="harbour-hotels")
    lisbon = SiteFactory(tenant=tenant, name="Lisbon Harbour Hotel", location_id="LIS-1")
    porto = SiteFactory(tenant=tenant, name="Porto Riverside Hotel", location_id="OPO-1")
    owner = UserFactory(username="harbour-owner")
    membership_set(tenant=tenant, user=owner, role=Role.OWNER)
    channel = channel_create(tenant=tenant, name="Night desk SMS", kind="sms", target="+351912345678", actor=ACTOR)
    policy_save(tenant=tenant, actor=ACTOR, name="Every site", steps=[{"delay_minutes": 0, "channels": [channel]}])
    members = {}
    for role in (Role.OWNER, Role.ADMIN, Role.STAFF, Role.VIEWER):
        members[role] = UserFactory(username=f"lisbon-{role}")
        membership_set(tenant=tenant, user=members[role], role=role, all_sites=False, sites=[lisbon])
    porto_viewer = UserFactory(username="porto-viewer")
    membership_set(tenant=tenant, user=porto_viewer, role=Role.VIEWER, all_sites=False, sites=[porto])
    world = HarbourWorld(tenant=tenant, lisbon=lisbon, porto=porto, owner=owner, lisbon_members=members,
                         porto_viewer=porto_viewer)
    world.objects = {"lisbon": _populate(tenant, lisbon, "lisbon", device_client),
                     "porto": _populate(tenant, porto, "porto", device_client)}
    world.objects["siteless"] = alert_raise(tenant=tenant, kind="external", dedup_key="ext:porto-siteless",
                                            severity="warning", summary="A site-less porto monitor alert",
                                            source="external").alert
    world.objects["channel"] = channel
    _populate_people(world, "lisbon", members[Role.STAFF], lisbon, "+351910000001")
    _populate_people(world, "porto", porto_viewer, porto, "+351910000002")
    return world


def _populate_people(world: HarbourWorld, city: str, person, site, phone: str) -> None:
    """A person of the city with a contact method and a rule, the city's roster with an
    override, a maintenance window and a device command (through their services)."""
    tenant, made, now = world.tenant, world.objects[city], timezone.now()
    method = contact_method_create(tenant=tenant, user=person, kind="sms", address=phone, actor=ACTOR,
                                   label=f"{city.title()} phone")
    roster = roster_save(tenant=tenant, actor=ACTOR, name=f"{city.title()} night roster", members=[person],
                         handover_time=time(9), starts_on=now.date(), sites=[site])
    made.update({
        "contact_method": method,
        "notification_rule": notification_rule_create(method=method, delay_minutes=0, actor=ACTOR),
        "roster": roster,
        "roster_override": override_create(roster=roster, user=person, starts_at=now + timedelta(days=1),
                                           ends_at=now + timedelta(days=2), actor=ACTOR,
                                           reason=f"{city.title()} cover"),
        "maintenance_window": maintenance_create(site=site, starts_at=now + timedelta(days=3),
                                                 ends_at=now + timedelta(days=4), actor=ACTOR,
                                                 reason=f"{city.title()} inverter work"),
        "command": command_send(tenant=tenant, actor=ACTOR, name="flush", device=made["device"])[0],
        "invitation": member_invite(tenant=tenant, email=f"night-{city}@harbour.example", role="staff",
                                    all_sites=False, sites=[site]).invitation,
    })


@pytest.fixture
def harbour(db, device_client) -> HarbourWorld:
    return make_harbour(device_client)


def porto_ids(world: HarbourWorld) -> set[str]:
    """Every public id a Lisbon-only member must never see."""
    porto = world.objects["porto"]
    return {world.porto.public_id, porto["device"].public_id, porto["alert"].public_id, porto["token"].public_id,
            porto["report"].public_id, porto["gateway"].device.public_id, porto["notification"].public_id,
            world.objects["siteless"].public_id, porto["contact_method"].public_id,
            porto["notification_rule"].public_id, porto["roster"].public_id, porto["roster_override"].public_id,
            porto["maintenance_window"].public_id, porto["command"].public_id, porto["invitation"].public_id}
