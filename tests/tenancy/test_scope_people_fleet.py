"""Per-site access for people's rows, rosters, maintenance windows, commands and the device page.

Contact methods and notification rules are personal: everyone manages their own whatever
their sites, and only whole-tenant owners and admins see anyone else's. A roster is seen by
a site-scoped member only when all its sites are theirs; a Porto-only member is never paged
for a Lisbon alert, however a step or a roster names them.
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.oncall.people import PeopleTargets, resolve_people
from apps.oncall.rosters import roster_save
from apps.tenancy.models import Role
from tests.factories import DEFAULT_PASSWORD
from tests.support.sites import ACTOR

pytestmark = pytest.mark.django_db


def _ids(response) -> set[str]:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return {row["id"] for row in rows}


def test_everyone_manages_their_own_contact_rows_whatever_their_sites(harbour, client_for):
    lisbon, porto = harbour.objects["lisbon"], harbour.objects["porto"]
    staff = client_for(harbour.lisbon_member(Role.STAFF))
    assert _ids(staff.get("/api/v1/contact-methods/")) == {lisbon["contact_method"].public_id}
    assert _ids(staff.get("/api/v1/notification-rules/")) == {lisbon["notification_rule"].public_id}
    added = staff.post("/api/v1/contact-methods/", {"kind": "email", "address": "night@lisbon.example"},
                       format="json")
    assert added.status_code == 201, added.content
    assert staff.patch(f"/api/v1/contact-methods/{lisbon['contact_method'].public_id}/", {"label": "Mobile"},
                       format="json").status_code == 200
    # A site-scoped owner manages only their own: not a Porto person's, nor anyone else's.
    owner = client_for(harbour.lisbon_member(Role.OWNER))
    assert _ids(owner.get("/api/v1/contact-methods/")) == set()
    assert owner.post("/api/v1/contact-methods/", {"user": "porto-viewer", "kind": "email",
                                                   "address": "x@porto.example"}, format="json").status_code == 403
    assert owner.post("/api/v1/notification-rules/", {"contact_method": porto["contact_method"].public_id,
                                                      "delay_minutes": 5}, format="json").status_code == 404
    whole = client_for(harbour.owner)
    assert {lisbon["contact_method"].public_id, porto["contact_method"].public_id} <= _ids(
        whole.get("/api/v1/contact-methods/"))


def test_a_roster_is_seen_only_when_every_site_is_theirs(harbour, client_for):
    lisbon, porto = harbour.objects["lisbon"], harbour.objects["porto"]
    both = roster_save(tenant=harbour.tenant, actor=ACTOR, name="Both cities", members=[harbour.owner],
                       handover_time=time(9), starts_on=timezone.now().date(), sites=[harbour.lisbon, harbour.porto])
    staff = client_for(harbour.lisbon_member(Role.STAFF))
    assert _ids(staff.get("/api/v1/rosters/")) == {lisbon["roster"].public_id}
    assert staff.get(f"/api/v1/rosters/{both.public_id}/").status_code == 404
    assert _ids(staff.get("/api/v1/roster-overrides/")) == {lisbon["roster_override"].public_id}
    # The whole-tenant owner sees each roster once, though one covers two sites.
    listed = client_for(harbour.owner).get("/api/v1/rosters/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert sorted(row["id"] for row in rows) == sorted(
        {lisbon["roster"].public_id, porto["roster"].public_id, both.public_id})
    admin = client_for(harbour.lisbon_member(Role.ADMIN))
    base = {"name": "Day", "handover_time": "09:00", "starts_on": "2026-12-07", "members": ["lisbon-staff"]}
    assert admin.post("/api/v1/rosters/", base, format="json").status_code == 400  # no site: the whole tenant's
    assert admin.post("/api/v1/rosters/", {**base, "sites": [harbour.porto.public_id]},
                      format="json").status_code == 400
    assert admin.post("/api/v1/rosters/", {**base, "sites": [harbour.lisbon.public_id]},
                      format="json").status_code == 201
    starts = timezone.now() + timedelta(days=5)
    shift = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=8)).isoformat()}
    assert admin.post("/api/v1/roster-overrides/", {"roster": porto["roster"].public_id, "user": "lisbon-staff",
                                                    **shift}, format="json").status_code == 400
    # A site-scoped admin names only people who cover one of their sites.
    assert admin.post("/api/v1/roster-overrides/", {"roster": lisbon["roster"].public_id, "user": "porto-viewer",
                                                    **shift}, format="json").status_code == 400
    assert admin.post("/api/v1/rosters/", {**base, "sites": [harbour.lisbon.public_id],
                                           "members": ["porto-viewer"]}, format="json").status_code == 400
    assert admin.post("/api/v1/roster-overrides/", {"roster": lisbon["roster"].public_id, "user": "harbour-owner",
                                                    **shift}, format="json").status_code == 201


def test_windows_and_commands_stay_on_their_sites(harbour, client_for):
    lisbon, porto = harbour.objects["lisbon"], harbour.objects["porto"]
    staff = client_for(harbour.lisbon_member(Role.STAFF))
    assert _ids(staff.get("/api/v1/maintenance-windows/")) == {lisbon["maintenance_window"].public_id}
    assert _ids(staff.get("/api/v1/commands/")) == {lisbon["command"].public_id}
    starts = timezone.now() + timedelta(days=6)
    window = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(), "reason": "x"}
    assert staff.post("/api/v1/maintenance-windows/", {**window, "site": harbour.porto.public_id},
                      format="json").status_code == 400
    assert staff.post("/api/v1/maintenance-windows/", {**window, "site": harbour.lisbon.public_id,
                                                       "devices": [porto["device"].public_id]},
                      format="json").status_code == 400
    # The board's "Flush now" is this call: a Porto device is not found, a kind alone spans every site.
    assert staff.post("/api/v1/commands/", {"name": "flush", "device": porto["device"].public_id},
                      format="json").status_code == 400
    assert staff.post("/api/v1/commands/", {"name": "flush", "kind": "tablet"}, format="json").status_code == 400
    assert staff.post("/api/v1/commands/", {"name": "flush", "site": harbour.lisbon.public_id},
                      format="json").status_code == 201
    whole = client_for(harbour.owner)
    assert whole.post("/api/v1/commands/", {"name": "flush", "kind": "tablet"}, format="json").status_code == 201


def test_the_device_page_is_not_found_for_another_sites_device(harbour):
    client = Client()
    assert client.login(username="lisbon-staff", password=DEFAULT_PASSWORD)
    assert client.get(f"/devices/{harbour.objects['lisbon']['device'].public_id}/").status_code == 200
    assert client.get(f"/devices/{harbour.objects['porto']['device'].public_id}/").status_code == 404


def test_a_porto_only_member_is_never_paged_for_lisbon(harbour):
    lisbon_staff = harbour.lisbon_member(Role.STAFF)
    # Someone put the Porto viewer on Lisbon's roster and named them in a step.
    roster = roster_save(tenant=harbour.tenant, actor=ACTOR, name="Lisbon mixed", members=[harbour.porto_viewer],
                         handover_time=time(9), starts_on=timezone.now().date() - timedelta(days=1),
                         sites=[harbour.lisbon])
    targets = PeopleTargets(users=(harbour.porto_viewer.pk, lisbon_staff.pk), rosters=(roster.pk,),
                            site_roster=True, roles=(Role.VIEWER, Role.STAFF))
    now = timezone.now()
    paged = resolve_people(tenant_id=harbour.tenant.pk, site_id=harbour.lisbon.pk, targets=targets, at=now)
    assert harbour.porto_viewer.pk not in paged
    assert lisbon_staff.pk in paged and harbour.owner.pk not in paged  # roles: owner is not staff/viewer
    at_porto = resolve_people(tenant_id=harbour.tenant.pk, site_id=harbour.porto.pk, targets=targets, at=now)
    assert harbour.porto_viewer.pk in at_porto and lisbon_staff.pk not in at_porto
    siteless = resolve_people(tenant_id=harbour.tenant.pk, site_id=None, targets=targets, at=now)
    assert harbour.porto_viewer.pk not in siteless and lisbon_staff.pk not in siteless


def _admin_client(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=DEFAULT_PASSWORD)
    return client


def test_the_admin_shows_own_contact_rows_and_lisbon_schedules_only(harbour):
    staff = _admin_client("lisbon-staff")
    methods = staff.get("/admin/oncall/contactmethod/")
    assert methods.status_code == 200 and "+351910000001" in methods.content.decode()
    assert "+351910000002" not in methods.content.decode()
    porto = harbour.objects["porto"]
    for path in (f"/admin/oncall/contactmethod/{porto['contact_method'].pk}/change/",
                 f"/admin/oncall/roster/{porto['roster'].pk}/change/",
                 f"/admin/oncall/maintenancewindow/{porto['maintenance_window'].pk}/change/",
                 f"/admin/devices/devicecommand/{porto['command'].pk}/change/"):
        assert staff.get(path).status_code in (302, 404), path
    window_form = staff.get("/admin/oncall/maintenancewindow/add/").content.decode()
    assert "Lisbon Room Tablet" in window_form and "Porto" not in window_form
    admin_user = _admin_client("lisbon-admin")
    refused = admin_user.post("/admin/oncall/roster/add/", {
        "tenant": harbour.tenant.pk, "name": "No site", "timezone": "Europe/Lisbon", "handover_weekday": 0,
        "handover_time": "09:00", "starts_on": "2026-12-07", "member_usernames": "lisbon-staff"})
    assert refused.status_code == 200 and "Choose one of your sites" in refused.content.decode()


def test_invitations_are_seen_where_their_sites_are(harbour, client_for):
    lisbon, porto = harbour.objects["lisbon"], harbour.objects["porto"]
    admin = client_for(harbour.lisbon_member(Role.ADMIN))
    assert _ids(admin.get("/api/v1/invites/")) == {lisbon["invitation"].public_id}
    assert admin.get(f"/api/v1/invites/{porto['invitation'].public_id}/").status_code == 404
    assert admin.post(f"/api/v1/invites/{porto['invitation'].public_id}/revoke/").status_code == 404
    assert {lisbon["invitation"].public_id, porto["invitation"].public_id} <= _ids(
        client_for(harbour.owner).get("/api/v1/invites/"))
