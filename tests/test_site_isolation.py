"""The isolation walk again, one level down: a member limited to Lisbon, on every API route.

For every route that names an object, every method, and every role of a Lisbon-only
member, a Porto object (or a tenant-wide one) answers 404, or a refusal that is the same
for any id; Porto's rows come back unchanged. Every other API route is then read as them
and must not mention a Porto id or name. A new collection fails `test_every_collection_
has_a_porto_object` until it is added here, as in tests/test_tenant_isolation.py.
"""

from __future__ import annotations

import pytest
from django.urls import resolve

from apps.alerts.models import Alert
from apps.audit.models import AuditEntry
from apps.devices.api_keys import api_key_create
from apps.devices.models import Device, DeviceCommand, SetupToken
from apps.notifications.models import EscalationPolicy, Notification
from apps.oncall.models import (
    ContactMethod,
    MaintenanceWindow,
    NotificationRule,
    Roster,
    RosterMember,
    RosterOverride,
)
from apps.reports.exports import EXPORTS
from apps.reports.models import Report
from apps.tenancy.models import Membership, Role, Site
from tests.support.sites import ACTOR, porto_ids
from tests.test_tenant_isolation import SUPERUSER_ONLY, _api_routes, _collection, _concrete

pytestmark = pytest.mark.django_db

ROLES = (Role.OWNER, Role.ADMIN, Role.STAFF, Role.VIEWER)
# Tenant-wide rows: site-scoped members are refused these collections whatever the id.
TENANT_WIDE = {"channels", "escalation-policies", "api-keys", "audit"}


def _porto_objects(world) -> dict[str, str]:
    porto = world.objects["porto"]
    key = api_key_create(tenant=world.tenant, name="harbour", scopes=["read"], actor=ACTOR).record
    return {
        "alerts": porto["alert"].public_id,
        "devices": porto["device"].public_id,
        "setup-tokens": porto["token"].public_id,
        "notifications": porto["notification"].public_id,
        "reports": porto["report"].public_id,
        "iot": porto["gateway"].device.public_id,
        "sites": world.porto.public_id,
        "members": Membership.objects.get(tenant=world.tenant, user=world.owner).public_id,
        "channels": world.objects["channel"].public_id,
        "escalation-policies": EscalationPolicy.objects.filter(tenant=world.tenant).first().public_id,
        "api-keys": key.public_id,
        "audit": AuditEntry.objects.filter(tenant=world.tenant).order_by("-seq").first().public_id,
        # Personal rows of a Porto-only person: a site-scoped manager manages only their own.
        "contact-methods": porto["contact_method"].public_id,
        "notification-rules": porto["notification_rule"].public_id,
        "rosters": porto["roster"].public_id,
        "roster-overrides": porto["roster_override"].public_id,
        "maintenance-windows": porto["maintenance_window"].public_id,
        "commands": porto["command"].public_id,
        "invites": porto["invitation"].public_id,
    }


def _snapshot(world) -> tuple:
    porto = world.porto
    return (
        list(Device.objects.filter(site=porto).order_by("pk").values()),
        list(SetupToken.objects.filter(site=porto).values()),
        list(Alert.objects.filter(tenant=world.tenant).exclude(site=world.lisbon).order_by("pk").values()),
        list(Notification.objects.filter(alert__site=porto).values()),
        list(Report.objects.filter(site=porto).values("public_id", "status")),
        Site.objects.filter(pk=porto.pk).values().first(),
        list(Membership.objects.filter(tenant=world.tenant).exclude(user__username__startswith="lisbon-")
             .order_by("pk").values("pk", "role", "all_sites")),
        list(ContactMethod.objects.filter(user=world.porto_viewer).values()),
        list(NotificationRule.objects.filter(user=world.porto_viewer).values()),
        list(Roster.objects.filter(sites=porto).values()),
        list(RosterMember.objects.filter(roster__sites=porto).values()),
        list(RosterOverride.objects.filter(roster__sites=porto).values()),
        list(MaintenanceWindow.objects.filter(site=porto).values()),
        list(DeviceCommand.objects.filter(device__site=porto).values()),
    )


def test_every_collection_has_a_porto_object(harbour):
    collections = {_collection(route) for route in _api_routes()} - SUPERUSER_ONLY
    missing = collections - set(_porto_objects(harbour))
    assert not missing, f"add these collections to _porto_objects: {missing}"


def test_porto_ids_reveal_nothing_to_lisbon_members_on_any_route(harbour, client_for, settings):
    # Five methods on every route for every role: far past a person's per-minute limit, which
    # is not what this walk is about (tests/security covers the limits).
    settings.TOCSIN_RATE_LIMITS = {scope: "1000000/min" for scope in settings.TOCSIN_RATE_LIMITS}
    foreign = _porto_objects(harbour)
    before = _snapshot(harbour)
    routes = [route for route in _api_routes() if _collection(route) not in SUPERUSER_ONLY]
    for role in ROLES:
        client = client_for(harbour.lisbon_member(role))
        for route in routes:
            collection = _collection(route)
            path = _concrete(route, foreign[collection])
            assert resolve(path).kwargs.get("public_id") == foreign[collection], path
            for method in ("get", "patch", "put", "delete", "post"):
                response = getattr(client, method)(path, {"name": "hijacked", "reason": "x", "note": "x"},
                                                   format="json")
                assert response.status_code in (403, 404, 405), (role, method, path, response.status_code)
                if response.status_code == 403:
                    made_up = _concrete(route, foreign[collection][:-4] + "zzzz")
                    again = getattr(client, method)(made_up, {"name": "x"}, format="json")
                    assert again.status_code == 403, (role, method, path)
                assert b"Porto" not in response.content, (role, method, path)
    assert _snapshot(harbour) == before


def test_the_same_routes_answer_for_lisbon_objects(harbour, client_for):
    """The walk above proves something: Lisbon's own objects are found by the same people."""
    lisbon = harbour.objects["lisbon"]
    staff = client_for(harbour.lisbon_member(Role.STAFF))
    for path in (f"/api/v1/alerts/{lisbon['alert'].public_id}/", f"/api/v1/devices/{lisbon['device'].public_id}/",
                 f"/api/v1/notifications/{lisbon['notification'].public_id}/",
                 f"/api/v1/sites/{harbour.lisbon.public_id}/", f"/api/v1/reports/{lisbon['report'].public_id}/"):
        assert staff.get(path).status_code == 200, path
    acked = staff.post(f"/api/v1/alerts/{lisbon['alert'].public_id}/acknowledge/", {}, format="json")
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"


def _read_routes() -> list[str]:
    """Every API route without an object id, exports once per export."""
    paths = []
    for route in _api_routes_all():
        if "(?P<public_id>" in route or route.startswith(("api/schema", "api/docs")):
            continue
        if "(?P<name>" in route:
            paths += [_concrete(route.replace("(?P<name>[-a-zA-Z0-9_]+)", name), "") for name in EXPORTS]
            continue
        paths.append(_concrete(route, ""))
    return paths


def _api_routes_all() -> list[str]:
    from django.urls import URLPattern, URLResolver, get_resolver

    found: list[str] = []

    def walk(patterns, prefix: str):
        for entry in patterns:
            regex = entry.pattern.regex.pattern.lstrip("^").rstrip("$").replace("\\Z", "")
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + regex)
            elif isinstance(entry, URLPattern):
                found.append(prefix + regex)

    walk(get_resolver().url_patterns, "")
    return sorted({route for route in found if route.startswith("api/")})


def test_no_route_shows_a_lisbon_member_anything_of_porto(harbour, client_for, settings):
    settings.TOCSIN_RATE_LIMITS = {scope: "1000000/min" for scope in settings.TOCSIN_RATE_LIMITS}
    hidden = porto_ids(harbour)
    paths = _read_routes()
    assert "/api/v1/alerts/" in paths and "/api/alerts/recent" in paths and "/api/v1/exports/alerts.csv" in paths
    for role in ROLES:
        client = client_for(harbour.lisbon_member(role))
        for path in paths:
            for query in ({}, {"site": harbour.porto.public_id}):
                response = client.get(path, query)
                assert response.status_code < 500, (role, path, response.status_code)
                body = b"".join(response.streaming_content) if response.streaming else response.content
                leaked = [needle for needle in hidden if needle.encode() in body]
                assert not leaked and b"Porto" not in body and b"porto" not in body, (role, path, query, leaked)


def test_lists_hold_lisbon_and_nothing_else(harbour, client_for):
    lisbon = harbour.objects["lisbon"]
    staff = client_for(harbour.lisbon_member(Role.STAFF))
    expected = {"alerts": lisbon["alert"].public_id, "devices": lisbon["device"].public_id,
                "notifications": lisbon["notification"].public_id, "sites": harbour.lisbon.public_id}
    for collection, own in expected.items():
        body = staff.get(f"/api/v1/{collection}/").json()
        rows = body["results"] if isinstance(body, dict) else body
        assert own in {row["id"] for row in rows}, collection
        assert not {row["id"] for row in rows} & porto_ids(harbour), collection
    for export, own in (("alerts", lisbon["alert"].public_id), ("notifications", lisbon["notification"].public_id),
                        ("scans", harbour.lisbon.public_id)):
        response = staff.get(f"/api/v1/exports/{export}.csv")
        assert own.encode() in b"".join(response.streaming_content), export
    recent = staff.get("/api/alerts/recent").json()["alerts"]
    assert [alert["alertId"] for alert in recent] == [lisbon["alert"].public_id]
    for collection in TENANT_WIDE:
        assert client_for(harbour.lisbon_member(Role.OWNER)).get(f"/api/v1/{collection}/").status_code == 403
    # The whole-tenant owner still sees both cities.
    alerts = client_for(harbour.owner).get("/api/v1/alerts/").json()["results"]
    assert {harbour.objects["porto"]["alert"].public_id, lisbon["alert"].public_id} <= {a["id"] for a in alerts}


def test_lisbon_staff_cannot_act_on_porto_through_bodies_either(harbour, client_for):
    porto, lisbon = harbour.objects["porto"], harbour.objects["lisbon"]
    before = _snapshot(harbour)
    staff = client_for(harbour.lisbon_member(Role.STAFF))
    admin = client_for(harbour.lisbon_member(Role.ADMIN))
    bulk = staff.post("/api/v1/alerts/bulk-acknowledge/", {"ids": [porto["alert"].public_id]}, format="json")
    assert bulk.json()["results"] == [{"id": porto["alert"].public_id, "ok": False, "error": "not_found"}]
    assert staff.post("/api/v1/alerts/bulk-resolve/", {"ids": [harbour.objects["siteless"].public_id]},
                      format="json").json()["results"][0]["error"] == "not_found"
    assert staff.post("/api/alerts/acknowledge", {"alertId": porto["alert"].public_id, "acknowledgedBy": "desk"},
                      format="json").status_code == 404
    assert staff.post("/api/v1/events/", {"event_action": "trigger", "payload": {
        "summary": "x", "source": "x", "severity": "critical"}}, format="json").status_code == 403
    assert admin.post("/api/v1/setup-tokens/", {"site": harbour.porto.public_id}, format="json").status_code == 400
    assert admin.patch(f"/api/v1/devices/{lisbon['device'].public_id}/", {"site": harbour.porto.public_id},
                       format="json").status_code == 400
    assert admin.post("/api/v1/reports/", {"kind": "compliance", "site": harbour.porto.public_id,
                                           "since": "2026-11-01T00:00:00Z", "until": "2026-11-02T00:00:00Z"},
                      format="json").status_code == 404
    assert admin.post("/api/v1/reports/", {"kind": "compliance", "since": "2026-11-01T00:00:00Z",
                                           "until": "2026-11-02T00:00:00Z"}, format="json").status_code == 403
    assert admin.post("/api/v1/sites/", {"name": "Faro", "location_id": "FAO-1", "kind": "hotel"},
                      format="json").status_code == 403
    assert admin.post("/api/v1/iot/gateways/", {"plant": harbour.porto.public_id, "hardware_id": "x", "name": "x",
                                                "model": "x", "csr": ""}, format="json").status_code in (400, 404)
    for name in ("scans", "devices"):
        assert staff.get(f"/api/v1/analytics/{name}/", {"site": harbour.porto.public_id,
                                                         "since": "2026-11-01T00:00:00Z",
                                                         "until": "2026-11-02T00:00:00Z"}).status_code == 404
    assert staff.get("/api/v1/scans/", {"device": porto["device"].public_id}).status_code == 404
    assert staff.get("/api/v1/exports/audit.csv").status_code == 403
    assert _snapshot(harbour) == before


def test_lisbon_staff_gets_404_for_a_porto_alert_device_and_notification(harbour, client_for):
    porto = harbour.objects["porto"]
    staff = client_for(harbour.lisbon_member(Role.STAFF))
    for path in (f"/api/v1/alerts/{porto['alert'].public_id}/", f"/api/v1/devices/{porto['device'].public_id}/",
                 f"/api/v1/notifications/{porto['notification'].public_id}/"):
        assert staff.get(path).status_code == 404, path
    assert staff.post(f"/api/v1/alerts/{porto['alert'].public_id}/acknowledge/", {}, format="json").status_code == 404
    assert staff.post(f"/api/v1/devices/{porto['device'].public_id}/revoke/", {"reason": "x"},
                      format="json").status_code == 404
    assert staff.post(f"/api/v1/notifications/{porto['notification'].public_id}/replay/").status_code == 404
    assert Alert.objects.get(pk=porto["alert"].pk).status == "triggered"
    assert Device.objects.get(pk=porto["device"].pk).status == "active"
