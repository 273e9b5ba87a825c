"""Walks every API route that names an object and calls it with another tenant's id.

A person (every role) or an API key of tenant A must get 404 (or a refusal that reveals
nothing, 403/405 identical for any id) for tenant B's objects, and B's data must come back
unchanged. A new route with an object id fails this test until it is added to
`FOREIGN_OBJECTS`, so isolation is never assumed for a route nobody thought about.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from apps.alerts.models import Alert
from apps.alerts.services import alert_raise
from apps.audit.models import AuditEntry
from apps.audit.services import Actor, audit_record
from apps.devices.api_keys import api_key_create
from apps.devices.models import ApiKey, Device, SetupToken
from apps.devices.setup_tokens import setup_token_create
from apps.iot.models import Gateway
from apps.notifications.models import Channel, EscalationPolicy, Notification
from apps.notifications.policies import policy_save
from apps.notifications.services import channel_create
from apps.reports.models import Report
from apps.tenancy.accounts import member_invite
from apps.tenancy.models import Invitation, Membership
from tests.factories import DeviceFactory

pytestmark = pytest.mark.django_db

SUPERUSER_ONLY = {"tenants"}


def _api_routes() -> list[str]:
    """Regexes of every URL under /api/ with a `public_id` in it."""
    found: list[str] = []

    def walk(patterns, prefix: str):
        for entry in patterns:
            regex = entry.pattern.regex.pattern.lstrip("^").rstrip("$").replace("\\Z", "")
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + regex)
            elif isinstance(entry, URLPattern) and "public_id" in regex:
                found.append(prefix + regex)

    walk(get_resolver().url_patterns, "")
    return sorted({route for route in found if route.startswith("api/")})


def _collection(route: str) -> str:
    return route.removeprefix("api/v1/").split("/")[0]


def _foreign_objects(world_b) -> dict[str, str]:
    """One object of tenant B per collection, by the collection's URL name."""
    device = DeviceFactory(site=world_b.site)
    token = setup_token_create(site=world_b.site, actor=Actor.system("t")).record
    key = api_key_create(tenant=world_b.tenant, name="b", scopes=["read"], actor=Actor.system("t")).record
    entry = audit_record(tenant=world_b.tenant, actor=Actor.system("t"), action="test.entry")
    alert = alert_raise(tenant=world_b.tenant, kind="breach", dedup_key="b-only", severity="critical",
                        summary="B's breach", source="rule", site=world_b.site).alert
    channel = channel_create(tenant=world_b.tenant, name="B security", kind="sms", target="+351912345678",
                             actor=Actor.system("t"))
    policy = policy_save(tenant=world_b.tenant, actor=Actor.system("t"), name="B policy",
                         steps=[{"delay_minutes": 0, "channels": [channel]}])
    notification = Notification.objects.create(tenant=world_b.tenant, alert=alert, channel=channel,
                                               due_at=alert.created_at)
    report = Report.objects.create(tenant=world_b.tenant, kind="compliance", period_start=alert.created_at,
                                   period_end=alert.created_at, status="ready", content=b"%PDF B's report")
    gateway = Gateway.objects.create(tenant=world_b.tenant, site=world_b.site, identity="gw.b.tocsin",
                                     device=DeviceFactory(site=world_b.site, kind="gateway"), status="active")
    invited = member_invite(tenant=world_b.tenant, email="b-invitee@example.com", role="viewer").invitation
    return {
        "members": Membership.objects.get(tenant=world_b.tenant, user=world_b.staff).public_id,
        "invites": invited.public_id,
        "reports": report.public_id,
        "iot": gateway.device.public_id,
        "channels": channel.public_id,
        "escalation-policies": policy.public_id,
        "notifications": notification.public_id,
        "alerts": alert.public_id,
        "sites": world_b.site.public_id,
        "devices": device.public_id,
        "setup-tokens": token.public_id,
        "api-keys": key.public_id,
        "audit": entry.public_id,
    }


def _snapshot(world_b) -> tuple:
    return (
        list(Device.objects.filter(tenant=world_b.tenant).values()),
        list(SetupToken.objects.filter(tenant=world_b.tenant).values()),
        list(ApiKey.objects.filter(tenant=world_b.tenant).values()),
        AuditEntry.objects.filter(tenant=world_b.tenant).count(),
        list(Alert.objects.filter(tenant=world_b.tenant).values()),
        list(Channel.objects.filter(tenant=world_b.tenant).values()),
        list(EscalationPolicy.objects.filter(tenant=world_b.tenant).values()),
        list(Notification.objects.filter(tenant=world_b.tenant).values()),
        world_b.site.__class__.objects.filter(pk=world_b.site.pk).values().first(),
        list(Report.objects.filter(tenant=world_b.tenant).values("public_id", "status")),
        list(Membership.everyone.filter(tenant=world_b.tenant).values("public_id", "role", "is_active", "all_sites")),
        list(Invitation.objects.filter(tenant=world_b.tenant).values("public_id", "used_at", "revoked_at")),
    )


def _concrete(route: str, public_id: str) -> str:
    path = re.sub(r"\(\?P<public_id>[^)]*\)", public_id, route)
    path = re.sub(r"\(\?P<format>[^)]*\)", "json", path).replace("\\.", ".")
    return "/" + path.replace("\\", "")


def test_every_object_route_is_covered(world_b):
    collections = {_collection(route) for route in _api_routes()} - SUPERUSER_ONLY
    assert collections, "no routes found: the walk below would prove nothing"
    missing = collections - set(_foreign_objects(world_b))
    assert not missing, f"add these collections to _foreign_objects: {missing}"


def _callers(world_a, client_for):
    callers = {role: client_for(getattr(world_a, role)) for role in ("owner", "admin", "staff", "viewer")}
    issued = api_key_create(tenant=world_a.tenant, name="a", scopes=["read", "write_events"],
                            actor=Actor.system("t"), tier=1000)
    integration = APIClient()
    integration.credentials(HTTP_X_API_KEY=issued.key)
    callers["api_key"] = integration
    return callers


def test_foreign_ids_reveal_nothing_on_any_route(world_a, world_b, client_for):
    foreign = _foreign_objects(world_b)
    before = _snapshot(world_b)
    routes = [route for route in _api_routes() if _collection(route) not in SUPERUSER_ONLY]
    for caller_name, client in _callers(world_a, client_for).items():
        for route in routes:
            path = _concrete(route, foreign[_collection(route)])
            assert resolve(path).kwargs.get("public_id") == foreign[_collection(route)], path
            for method in ("get", "patch", "put", "delete", "post"):
                response = getattr(client, method)(path, {"name": "hijacked", "reason": "x"}, format="json")
                assert response.status_code in (403, 404, 405), (caller_name, method, path, response.status_code)
                if response.status_code == 403:
                    # A refusal must not depend on the id: the same call on a made-up id says the same.
                    made_up = _concrete(route, foreign[_collection(route)][:-4] + "zzzz")
                    again = getattr(client, method)(made_up, {"name": "x"}, format="json")
                    assert again.status_code == 403, (caller_name, method, path)
                assert world_b.tenant.name.encode() not in response.content
    assert _snapshot(world_b) == before


def test_lists_never_include_foreign_rows(world_a, world_b, client_for):
    _foreign_objects(world_b)
    for caller_name, client in _callers(world_a, client_for).items():
        for collection in ("sites", "devices", "setup-tokens", "api-keys", "audit", "alerts", "channels",
                           "escalation-policies", "notifications", "members", "invites"):
            response = client.get(f"/api/v1/{collection}/")
            if response.status_code != 200:
                assert response.status_code == 403, (caller_name, collection)
                continue
            body = response.json()
            rows = body["results"] if isinstance(body, dict) else body
            assert all(row.get("id") not in _all_ids(world_b) for row in rows), (caller_name, collection)


def _all_ids(world) -> set[str]:
    ids = {world.site.public_id}
    for model in (Device, SetupToken, ApiKey, AuditEntry, Alert, Channel, EscalationPolicy, Notification, Invitation):
        ids |= set(model.objects.filter(tenant=world.tenant).values_list("public_id", flat=True))
    ids |= set(Membership.everyone.filter(tenant=world.tenant).values_list("public_id", flat=True))
    return ids


def test_devices_of_one_tenant_cannot_reach_anything_of_another(world_a, world_b, device_client):
    """Device endpoints act only on the calling device; ids in bodies are namespaced by it."""
    _, client = device_client(world_a.site)
    foreign = _foreign_objects(world_b)
    before = _snapshot(world_b)
    me = client.get("/api/v1/devices/me/").json()
    assert me["tenant"]["id"] == world_a.tenant.public_id
    client.post("/api/v1/device-alerts/", {"kind": "custom", "dedup_key": "b-only",
                                           "occurred_at": "2026-11-21T10:00:00Z"}, format="json")
    assert _snapshot(world_b) == before
    for collection, public_id in foreign.items():
        assert client.get(f"/api/v1/{collection}/{public_id}/").status_code in (401, 403, 404)
