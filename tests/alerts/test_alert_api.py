"""People's alert API: filters, timeline, lifecycle, bulk actions; and the events API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.alerts.models import Alert
from apps.alerts.services import alert_raise
from apps.audit.models import AuditEntry
from apps.audit.services import Actor
from apps.devices.api_keys import api_key_create

pytestmark = pytest.mark.django_db


def _raise(world, key="k1", kind="breach", severity="critical", **kwargs):
    return alert_raise(tenant=world.tenant, kind=kind, dedup_key=key, severity=severity, summary=f"{kind} {key}",
                       source="rule", site=world.site, **kwargs).alert


def test_list_filters_and_detail_timeline(world_a, client_for):
    breach = _raise(world_a, "b1")
    _raise(world_a, "b1")  # duplicate
    battery = _raise(world_a, "bat", kind="battery", severity="warning")
    client = client_for(world_a.viewer)
    listed = client.get("/api/v1/alerts/").json()["results"]
    assert {a["id"] for a in listed} == {breach.public_id, battery.public_id}
    assert [a["id"] for a in client.get("/api/v1/alerts/?kind=battery").json()["results"]] == [battery.public_id]
    assert [a["id"] for a in client.get("/api/v1/alerts/?severity=critical").json()["results"]] == [
        breach.public_id]
    assert client.get(f"/api/v1/alerts/?site={world_a.site.public_id}&open=true").json()["results"]
    detail = client.get(f"/api/v1/alerts/{breach.public_id}/").json()
    assert detail["count"] == 2
    assert [e["kind"] for e in detail["timeline"]] == ["raised", "unnotified", "duplicate"]
    assert client.get("/api/v1/alerts/?status=exploded").status_code == 400


def test_acknowledge_resolve_reopen_with_notes(world_a, client_for):
    alert = _raise(world_a)
    staff = client_for(world_a.staff)
    acked = staff.post(f"/api/v1/alerts/{alert.public_id}/acknowledge/", {"note": "on my way"}, format="json")
    assert acked.status_code == 200
    body = acked.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by_label"] == world_a.staff.username
    assert body["timeline"][-1]["note"] == "on my way"
    assert staff.post(f"/api/v1/alerts/{alert.public_id}/acknowledge/", {}, format="json").status_code == 200
    resolved = staff.post(f"/api/v1/alerts/{alert.public_id}/resolve/", {"note": "guest back"}, format="json")
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolution"] == "manual"
    assert staff.post(f"/api/v1/alerts/{alert.public_id}/acknowledge/", {}, format="json").status_code == 409
    reopened = staff.post(f"/api/v1/alerts/{alert.public_id}/reopen/", {"note": "again"}, format="json")
    assert reopened.json()["status"] == "triggered"
    kinds = [e["kind"] for e in reopened.json()["timeline"]]
    # This tenant has no policy: each route says it notified nobody.
    assert kinds == ["raised", "unnotified", "acknowledged", "resolved", "reopened", "unnotified"]
    actions = set(AuditEntry.objects.filter(target_id=alert.public_id).values_list("action", flat=True))
    assert actions == {"alert.raised", "alert.acknowledged", "alert.resolved", "alert.reopened"}


def test_reopen_refused_while_a_newer_alert_with_the_key_is_open(world_a, client_for):
    old = _raise(world_a, "same")
    client = client_for(world_a.staff)
    client.post(f"/api/v1/alerts/{old.public_id}/resolve/", {}, format="json")
    _raise(world_a, "same")
    response = client.post(f"/api/v1/alerts/{old.public_id}/reopen/", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "duplicate_open_alert"


def test_viewers_read_but_cannot_act(world_a, client_for):
    alert = _raise(world_a)
    assert client_for(world_a.viewer).post(f"/api/v1/alerts/{alert.public_id}/acknowledge/", {},
                                           format="json").status_code == 403


def test_notes_require_text(world_a, client_for):
    alert = _raise(world_a)
    client = client_for(world_a.staff)
    assert client.post(f"/api/v1/alerts/{alert.public_id}/notes/", {}, format="json").status_code == 400
    added = client.post(f"/api/v1/alerts/{alert.public_id}/notes/", {"note": "called security"}, format="json")
    assert added.status_code == 201 and added.json()["timeline"][-1]["kind"] == "note"


def test_bulk_acknowledge_and_resolve(world_a, world_b, client_for):
    mine = [_raise(world_a, f"k{i}") for i in range(3)]
    foreign = _raise(world_b, "theirs")
    client = client_for(world_a.staff)
    ids = [a.public_id for a in mine] + [foreign.public_id]
    results = client.post("/api/v1/alerts/bulk-acknowledge/", {"ids": ids, "note": "shift start"},
                          format="json").json()["results"]
    assert [r["ok"] for r in results] == [True, True, True, False]
    assert results[-1]["error"] == "not_found"
    foreign.refresh_from_db()
    assert foreign.status == "triggered"
    client.post("/api/v1/alerts/bulk-resolve/", {"ids": ids[:3]}, format="json")
    assert set(Alert.objects.filter(tenant=world_a.tenant).values_list("status", flat=True)) == {"resolved"}


def _events_client(world, scopes=("write_events",)):
    issued = api_key_create(tenant=world.tenant, name="monitor", scopes=list(scopes), actor=Actor.system("t"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.key}")
    return client


def test_events_api_trigger_acknowledge_resolve(world_a):
    client = _events_client(world_a)
    trigger = {"event_action": "trigger", "dedup_key": "disk-full-db1",
               "payload": {"summary": "Disk full on db1", "severity": "error", "source": "nagios",
                           "site": world_a.site.location_id, "custom_details": {"free": "0%"}}}
    response = client.post("/api/v1/events/", trigger, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "success"
    client.post("/api/v1/events/", trigger, format="json")
    alert = Alert.objects.get()
    assert alert.count == 2 and alert.severity == "high" and alert.site == world_a.site
    client.post("/api/v1/events/", {"event_action": "acknowledge", "dedup_key": "disk-full-db1"}, format="json")
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by_label == "monitor"
    client.post("/api/v1/events/", {"event_action": "resolve", "dedup_key": "disk-full-db1"}, format="json")
    alert.refresh_from_db()
    assert alert.status == "resolved"
    missing = client.post("/api/v1/events/", {"event_action": "resolve", "dedup_key": "nope"}, format="json")
    assert missing.status_code == 404


def test_events_api_validation_and_scope(world_a, world_b):
    client = _events_client(world_a)
    bad = client.post("/api/v1/events/", {"event_action": "trigger"}, format="json")
    assert bad.status_code == 400 and "payload" in bad.json()["error"]["fields"]
    foreign_site = client.post("/api/v1/events/", {"event_action": "trigger", "payload": {
        "summary": "x", "severity": "info", "source": "s", "site": world_b.site.location_id}}, format="json")
    assert foreign_site.status_code == 404
    read_only = _events_client(world_a, scopes=("read",))
    assert read_only.post("/api/v1/events/", {"event_action": "trigger", "payload": {
        "summary": "x", "severity": "info", "source": "s"}}, format="json").status_code == 403
