"""Walks every API route that names an object and calls it with another tenant's id.

A person (every role) or an API key of tenant A must get 404 (or a refusal that reveals
nothing, 403/405 identical for any id) for tenant B's objects, and B's data must come back
unchanged. A new route with an object id fails this test until it is added to
`FOREIGN_OBJECTS`, so isolation is never assumed for a route nobody thought about.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from apps.alerts.models import Alert
from apps.alerts.services import alert_raise
from apps.audit.models import AuditEntry
from apps.audit.services import Actor, audit_record
from apps.devices.api_keys import api_key_create
from apps.devices.commands import command_send
from apps.devices.models import ApiKey, Device, DeviceCommand, SetupToken
from apps.devices.setup_tokens import setup_token_create
from apps.iot.models import Gateway
from apps.notifications.channels import channel_create
from apps.notifications.models import Channel, EscalationPolicy, Notification
from apps.notifications.policies import policy_save
from apps.oncall.contacts import contact_method_create, notification_rule_create
from apps.oncall.maintenance import maintenance_create
from apps.oncall.models import ContactMethod, MaintenanceWindow, NotificationRule, Roster, RosterOverride
from apps.oncall.rosters import override_create, roster_save
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
    actor = Actor.system("t")
    method = contact_method_create(tenant=world_b.tenant, user=world_b.staff, kind="sms", address="+351912345699",
                                   actor=actor)
    rule = notification_rule_create(method=method, delay_minutes=0, actor=actor)
    roster = roster_save(tenant=world_b.tenant, actor=actor, name="B nights", members=[world_b.staff],
                         handover_time=time(9), starts_on=date(2026, 1, 5), sites=[world_b.site])
    override = override_create(roster=roster, user=world_b.owner, starts_at=alert.created_at,
                               ends_at=alert.created_at + timedelta(hours=2), actor=actor)
    window = maintenance_create(site=world_b.site, starts_at=alert.created_at + timedelta(days=1),
                                ends_at=alert.created_at + timedelta(days=2), reason="B's works", actor=actor)
    invited = member_invite(tenant=world_b.tenant, email="b-invitee@example.com", role="viewer").invitation
    [command] = command_send(tenant=world_b.tenant, actor=Actor.system("t"), name="flush", device=device)
    return {
        "commands": command.public_id,
        "members": Membership.objects.get(tenant=world_b.tenant, user=world_b.staff).public_id,
        "invites": invited.public_id,
        "contact-methods": method.public_id,
        "notification-rules": rule.public_id,
        "rosters": roster.public_id,
        "roster-overrides": override.public_id,
        "maintenance-windows": window.public_id,
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
        list(Membership.objects.filter(tenant=world_b.tenant).order_by("pk").values("pk", "role", "all_sites")),
        list(Report.objects.filter(tenant=world_b.tenant).values("public_id", "status")),
        list(ContactMethod.objects.filter(tenant=world_b.tenant).values()),
        list(NotificationRule.objects.filter(tenant=world_b.tenant).values()),
        list(Roster.objects.filter(tenant=world_b.tenant).values()),
        list(RosterOverride.objects.filter(tenant=world_b.tenant).values()),
        list(MaintenanceWindow.objects.filter(tenant=world_b.tenant).values()),
        list(DeviceCommand.objects.filter(tenant=world_b.tenant).values()),
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


def test_foreign_ids_reveal_nothing_on_any_route(world_a, world_b, client_for, settings):
    # Five methods on every route for every caller: far past a person's per-minute limit, which
    # is not what this walk is about (tests/security covers the limits).
    settings.TOCSIN_RATE_LIMITS = {scope: "1000000/min" for scope in settings.TOCSIN_RATE_LIMITS}
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
                           "escalation-policies", "notifications", "members", "invites", "contact-methods",
                           "notification-rules", "rosters", "roster-overrides", "maintenance-windows",
                           "commands"):
            response = client.get(f"/api/v1/{collection}/")
            if response.status_code != 200:
                assert response.status_code == 403, (caller_name, collection)
                continue
            body = response.json()
            rows = body["results"] if isinstance(body, dict) else body
            assert all(row.get("id") not in _all_ids(world_b) for row in rows), (caller_name, collection)


def _all_ids(world) -> set[str]:
    ids = {world.site.public_id}
    for model in (Device, SetupToken, ApiKey, AuditEntry, Alert, Channel, EscalationPolicy, Notification,
                  Invitation, ContactMethod, NotificationRule, Roster, RosterOverride, MaintenanceWindow,
                  DeviceCommand):
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
    # The device's own command and shadow routes reach only the calling device.
    ack = client.post(f"/api/v1/devices/me/commands/{foreign['commands']}/ack/", {"status": "ok"}, format="json")
    assert ack.status_code == 404
    assert client.get("/api/v1/devices/me/commands/").json() == []
    client.patch("/api/v1/devices/me/shadow/", {"reported": {"b_only": 1}}, format="json")
    assert _snapshot(world_b) == before


def test_answers_to_pages_from_another_tenant_change_nothing(world_a, world_b, client, settings):
    """SMS replies, voice key presses, Slack presses and email links (apps.responses) act only
    within the tenant of the person answering: tenant A's people, naming tenant B's alert by
    its code, its id or a link minted for A, change nothing in B."""
    import json
    import time as clock
    from urllib.parse import urlencode

    from django.core import signing
    from slack_sdk.signature import SignatureVerifier
    from twilio.request_validator import RequestValidator

    from apps.alerts.reply_codes import alert_reply_code
    from apps.notifications.action_links import SALT

    settings.TWILIO_AUTH_TOKEN, settings.SLACK_SIGNING_SECRET = "t" * 32, "s" * 32
    alert = alert_raise(tenant=world_b.tenant, kind="breach", dedup_key="b-door", severity="critical",
                        summary="door", source="rule", site=world_b.site).alert
    code = alert_reply_code(alert=alert)
    number, slack_id = "+351912345688", "U0AAAAAAA1"
    for kind, address in (("sms", number), ("slack", slack_id)):
        ContactMethod.objects.create(tenant=world_a.tenant, user=world_a.owner, kind=kind, address=address)

    def twilio(path, params):
        url = f"{settings.TOCSIN_PUBLIC_BASE_URL.rstrip('/')}{path}"
        signature = RequestValidator("t" * 32).compute_signature(url, params)
        return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)

    sms = twilio("/hooks/twilio/inbound/", {"MessageSid": "SM1", "From": number, "Body": f"1 {code}"})
    assert sms.status_code == 200 and b"Nothing was changed" in sms.content
    voice = twilio(f"/hooks/twilio/voice/{alert.public_id}/gather/", {"CallSid": "CA1", "To": number, "Digits": "1"})
    assert voice.status_code == 200 and b"Nothing was changed" in voice.content

    payload = json.dumps({"type": "block_actions", "user": {"id": slack_id},
                          "actions": [{"action_id": "tocsin_resolve", "value": alert.public_id}]})
    body, stamp = urlencode({"payload": payload}).encode(), str(int(clock.time()))
    pressed = client.generic("POST", "/hooks/slack/interactivity/", body,
                             content_type="application/x-www-form-urlencoded", HTTP_X_SLACK_REQUEST_TIMESTAMP=stamp,
                             HTTP_X_SLACK_SIGNATURE=SignatureVerifier("s" * 32).generate_signature(
                                 timestamp=stamp, body=body))
    assert pressed.status_code == 200

    token = signing.dumps({"a": alert.public_id, "u": world_a.owner.pk, "t": world_a.tenant.pk,
                           "x": "resolve", "n": "n1"}, salt=SALT, compress=True)
    assert client.post(f"/respond/email/{token}/").status_code == 404
    alert.refresh_from_db()
    assert alert.status == "triggered" and not alert.events.exclude(kind__in=["raised", "unnotified"]).exists()
