"""The on-call API and admin pages as owners, admins, staff and viewers."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.notifications.models import Channel
from apps.oncall.models import ContactMethod, MaintenanceWindow, Roster

pytestmark = pytest.mark.django_db


def test_people_manage_their_own_contact_methods_and_managers_everyone_s(world_a, client_for):
    staff, admin = client_for(world_a.staff), client_for(world_a.admin)
    mine = staff.post("/api/v1/contact-methods/", {"kind": "sms", "address": "+351 912 345 678"}, format="json")
    assert mine.status_code == 201, mine.content
    assert mine.json()["address"] == "+351912345678" and mine.json()["user"] == world_a.staff.username
    for body in ({"kind": "sms", "address": "12"}, {"kind": "email", "address": "not-mail"},
                 {"kind": "slack", "address": "#general"}, {"kind": "pager", "address": "x"}):
        assert staff.post("/api/v1/contact-methods/", body, format="json").status_code == 400, body
    taken = admin.post("/api/v1/contact-methods/", {"kind": "sms", "address": "+351912345678"}, format="json")
    assert taken.status_code == 409
    other = staff.post("/api/v1/contact-methods/", {"kind": "email", "address": "x@example.com",
                                                    "user": world_a.viewer.username}, format="json")
    assert other.status_code == 403
    made = admin.post("/api/v1/contact-methods/", {"kind": "email", "address": "v@example.com",
                                                   "user": world_a.viewer.username}, format="json")
    assert made.status_code == 201
    assert len(staff.get("/api/v1/contact-methods/").json()["results"]) == 1
    assert len(admin.get("/api/v1/contact-methods/").json()["results"]) == 2
    rule = staff.post("/api/v1/notification-rules/", {"contact_method": mine.json()["id"], "delay_minutes": 0},
                      format="json")
    assert rule.status_code == 201, rule.content
    assert staff.post("/api/v1/notification-rules/", {"contact_method": made.json()["id"], "delay_minutes": 5},
                      format="json").status_code == 404
    entries = AuditEntry.objects.filter(tenant=world_a.tenant, action__startswith="contact_method")
    assert entries.count() == 2 and all("912345678" not in str(e.details) and "@" not in str(e.details)
                                        for e in entries)


def test_roster_api_preview_and_overrides(world_a, client_for):
    admin, viewer = client_for(world_a.admin), client_for(world_a.viewer)
    body = {"name": "Nights", "sites": [world_a.site.public_id], "handover_time": "09:00", "starts_on": "2027-10-18",
            "members": [world_a.staff.username, world_a.admin.username]}
    assert viewer.post("/api/v1/rosters/", body, format="json").status_code == 403
    created = admin.post("/api/v1/rosters/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["timezone"] == "Europe/Lisbon" and created.json()["member_list"] == body["members"]
    roster_id = created.json()["id"]
    preview = viewer.get(f"/api/v1/rosters/{roster_id}/preview/?start=2027-10-25T00:00:00Z&days=14")
    assert preview.status_code == 200
    assert [(s["user"], s["starts_at"]) for s in preview.json()][:3] == [
        (world_a.staff.username, "2027-10-25T00:00:00Z"), (world_a.admin.username, "2027-10-25T08:00:00Z"),
        (world_a.staff.username, "2027-11-01T09:00:00Z")]
    assert viewer.get(f"/api/v1/rosters/{roster_id}/preview/?days=999").status_code == 400
    bad = admin.post("/api/v1/rosters/", {**body, "members": ["nobody-here"]}, format="json")
    assert bad.status_code == 400
    override = admin.post("/api/v1/roster-overrides/", {"roster": roster_id, "user": world_a.owner.username,
                                                        "starts_at": "2027-10-29T20:00:00Z",
                                                        "ends_at": "2027-10-30T08:00:00Z"}, format="json")
    assert override.status_code == 201, override.content
    preview = viewer.get(f"/api/v1/rosters/{roster_id}/preview/?start=2027-10-29T19:00:00Z&days=1").json()
    assert [s["source"] for s in preview] == ["rotation", "override", "rotation"]


def test_maintenance_window_api_and_alert_snooze(world_a, client_for):
    staff, viewer = client_for(world_a.staff), client_for(world_a.viewer)
    now = timezone.now()
    body = {"site": world_a.site.public_id, "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(), "reason": "Wi-Fi upgrade", "kinds": ["offline"]}
    assert viewer.post("/api/v1/maintenance-windows/", body, format="json").status_code == 403
    created = staff.post("/api/v1/maintenance-windows/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["active"] is True
    backwards = staff.post("/api/v1/maintenance-windows/", {**body, "ends_at": now.isoformat()}, format="json")
    assert backwards.status_code == 400
    ended = staff.post(f"/api/v1/maintenance-windows/{created.json()['id']}/end/")
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert staff.delete(f"/api/v1/maintenance-windows/{created.json()['id']}/").status_code == 409

    from apps.alerts.services import alert_raise
    alert = alert_raise(tenant=world_a.tenant, kind="breach", dedup_key="b", severity="high", summary="breach",
                        source="rule", site=world_a.site).alert
    assert viewer.post(f"/api/v1/alerts/{alert.public_id}/snooze/", {"minutes": 30}, format="json").status_code == 403
    snoozed = staff.post(f"/api/v1/alerts/{alert.public_id}/snooze/", {"minutes": 30}, format="json")
    assert snoozed.status_code == 200 and snoozed.json()["snoozed"] is True
    assert snoozed.json()["timeline"][-1]["kind"] == "snoozed"
    for bad in ({}, {"minutes": 0}, {"minutes": 30, "until": now.isoformat()}, {"until": "yesterday"}):
        assert staff.post(f"/api/v1/alerts/{alert.public_id}/snooze/", bad, format="json").status_code == 400, bad


def test_personal_channels_are_never_listed(world_a, client_for, make_person):
    from apps.notifications.personal import personal_channel_ensure

    ana = make_person(world_a, "ana")
    method = ContactMethod.objects.filter(user=ana, kind="sms").get()
    first = personal_channel_ensure(method=method)
    method.address = "+351912345600"
    method.save()
    assert personal_channel_ensure(method=method) == first  # kept in step, one row
    channel = Channel.objects.get(pk=first)
    assert channel.personal and channel.target == "+351912345600" and channel.contact_method == method
    listed = client_for(world_a.admin).get("/api/v1/channels/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert channel.public_id not in {row["id"] for row in rows}


@pytest.mark.parametrize("role", ["admin", "staff", "viewer"])
def test_admin_pages_by_role(world_a, world_b, client, role, make_person):
    from apps.oncall.maintenance import maintenance_create
    from apps.oncall.rosters import roster_save
    from tests.support.actors import ACTOR

    user = getattr(world_a, role)
    make_person(world_a, "ana")
    roster = Roster.objects.create(tenant=world_a.tenant, name="A nights", timezone="Europe/Lisbon",
                                   handover_time=time(9), starts_on=date(2027, 10, 18))
    foreign = roster_save(tenant=world_b.tenant, actor=ACTOR, name="B nights", members=[],
                          handover_time=roster.handover_time, starts_on=roster.starts_on)
    maintenance_create(site=world_b.site, starts_at=timezone.now(), ends_at=timezone.now() + timedelta(hours=1),
                       reason="B works", actor=ACTOR)
    client.force_login(user)
    for page in ("contactmethod", "notificationrule", "roster", "rosteroverride", "maintenancewindow"):
        listing = client.get(f"/admin/oncall/{page}/")
        assert listing.status_code == 200, page
        assert b"B nights" not in listing.content and b"B works" not in listing.content
    assert client.get(f"/admin/oncall/roster/{roster.pk}/preview/").status_code == 200
    assert client.get(f"/admin/oncall/roster/{foreign.pk}/preview/").status_code == 404
    add_window = client.post("/admin/oncall/maintenancewindow/add/", {
        "site": world_a.site.pk, "starts_at_0": "2027-01-01", "starts_at_1": "10:00",
        "ends_at_0": "2027-01-01", "ends_at_1": "12:00", "reason": "Wi-Fi upgrade"})
    made = MaintenanceWindow.objects.filter(tenant=world_a.tenant).exists()
    assert made == (role in ("admin", "staff")), add_window.status_code
    add_own = client.post("/admin/oncall/contactmethod/add/", {
        "tenant": world_a.tenant.pk, "user": user.pk, "kind": "sms", "address": "+351912340000"})
    assert add_own.status_code == 302, add_own.context_data["adminform"].form.errors
    assert ContactMethod.objects.filter(user=user).count() == 1
    add_roster = client.post("/admin/oncall/roster/add/", {
        "tenant": world_a.tenant.pk, "name": "Days", "timezone": "", "handover_weekday": 0,
        "handover_time": "09:00", "starts_on": "2027-10-18", "sites": [world_a.site.pk],
        "member_usernames": "ana"})
    assert Roster.objects.filter(name="Days").exists() == (role == "admin"), add_roster.status_code


@pytest.mark.parametrize("role", ["admin", "staff", "viewer"])
def test_alert_admin_snooze_action_and_maintenance_column(world_a, client, role):
    from apps.alerts.models import Alert
    from apps.alerts.services import alert_raise

    alert = alert_raise(tenant=world_a.tenant, kind="breach", dedup_key="b", severity="high", summary="breach",
                        source="rule", site=world_a.site).alert
    client.force_login(getattr(world_a, role))
    response = client.post("/admin/alerts/alert/", {"action": "snooze_selected", "_selected_action": [alert.pk]})
    assert response.status_code in (200, 302)
    assert Alert.objects.get(pk=alert.pk).is_snoozed() == (role in ("admin", "staff"))
    if role != "viewer":
        assert b"snoozed" in client.get("/admin/alerts/alert/").content


def test_maintenance_and_override_admin_writes_are_audited(world_a, client):
    from apps.oncall.maintenance import maintenance_create
    from apps.oncall.models import RosterOverride
    from apps.oncall.rosters import override_create, roster_save
    from tests.support.actors import ACTOR

    client.force_login(world_a.admin)
    start = timezone.now() + timedelta(days=1)
    window = maintenance_create(site=world_a.site, starts_at=start, ends_at=start + timedelta(hours=2),
                                reason="Wi-Fi upgrade", actor=ACTOR)
    before = AuditEntry.objects.count()
    local = timezone.localtime(start)
    changed = client.post(f"/admin/oncall/maintenancewindow/{window.pk}/change/", {
        "starts_at_0": local.strftime("%Y-%m-%d"), "starts_at_1": local.strftime("%H:%M:%S"),
        "ends_at_0": (local + timedelta(hours=3)).strftime("%Y-%m-%d"),
        "ends_at_1": (local + timedelta(hours=3)).strftime("%H:%M:%S"), "reason": "Wi-Fi and cabling"})
    assert changed.status_code == 302, changed.context_data["adminform"].form.errors
    window.refresh_from_db()
    assert window.reason == "Wi-Fi and cabling" and AuditEntry.objects.count() > before
    before = AuditEntry.objects.count()
    assert client.post(f"/admin/oncall/maintenancewindow/{window.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not MaintenanceWindow.objects.filter(pk=window.pk).exists() and AuditEntry.objects.count() > before

    roster = roster_save(tenant=world_a.tenant, actor=ACTOR, name="Nights", members=[world_a.staff],
                         handover_time=time(9), starts_on=date(2027, 10, 18))
    override = override_create(roster=roster, user=world_a.owner, starts_at=start, ends_at=start + timedelta(hours=1),
                               actor=ACTOR)
    assert client.post(f"/admin/oncall/rosteroverride/{override.pk}/change/", {"reason": "x"}).status_code == 403
    before = AuditEntry.objects.count()
    assert client.post(f"/admin/oncall/rosteroverride/{override.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not RosterOverride.objects.exists() and AuditEntry.objects.count() > before
