"""Never silent, one lifecycle, one retry clock: the rules of paging, in-process.

The flows through a real worker are in tests/e2e/test_paging_lifecycle.py; these pin
the decisions (what is written, refused or marked) as a tenant admin and staff meet them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from prometheus_client import REGISTRY
from twilio.request_validator import RequestValidator

from apps.alerts.models import Alert
from apps.alerts.services import alert_acknowledge, alert_raise, alert_reopen, alert_resolve
from apps.audit.models import AuditEntry
from apps.audit.services import Actor
from apps.common.errors import ApplicationError
from apps.notifications import delivery
from apps.notifications.defaults import CATCH_ALL_NAME
from apps.notifications.escalation import escalation_tick
from apps.notifications.models import Channel, ChannelKind, EscalationPolicy, Notification
from apps.notifications.policies import policy_save
from apps.tenancy.models import Tenant
from apps.tenancy.services import tenant_create

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def _steps_form(channel_pks, *, delay=0, prefix="steps"):
    rows = {f"{prefix}-TOTAL_FORMS": len(channel_pks), f"{prefix}-INITIAL_FORMS": 0,
            f"{prefix}-MIN_NUM_FORMS": 1, f"{prefix}-MAX_NUM_FORMS": 1000}
    for index, pks in enumerate(channel_pks):
        rows[f"{prefix}-{index}-delay_minutes"] = delay + index
        rows[f"{prefix}-{index}-channels"] = pks
    return rows


def _policy_form(world, **extra):
    return {"tenant": world.tenant.pk, "name": "Night", "priority": 10, "repeat_times": 0,
            "repeat_after_minutes": 10, "enabled": "on", **extra}


# --- never silent ------------------------------------------------------------------------------


def test_a_policy_without_steps_is_refused_by_the_service_the_api_and_the_admin(world_a, make_channel, client_for,
                                                                                client):
    with pytest.raises(ApplicationError):
        policy_save(tenant=world_a.tenant, actor=ACTOR, name="empty", steps=[])
    api = client_for(world_a.admin).post("/api/v1/escalation-policies/", {"name": "empty", "steps": []},
                                         format="json")
    assert api.status_code == 400 and "steps" in api.json()["error"]["fields"]

    client.force_login(world_a.admin)
    page = client.post("/admin/notifications/escalationpolicy/add/", {**_policy_form(world_a), **_steps_form([])})
    assert page.status_code == 200  # the form again, with its error
    assert "without one it would page nobody" in page.content.decode()
    channel = make_channel(world_a, "email")
    no_channels = client.post("/admin/notifications/escalationpolicy/add/",
                              {**_policy_form(world_a), **_steps_form([[]])})
    assert no_channels.status_code == 200 and not EscalationPolicy.objects.filter(tenant=world_a.tenant).exists()
    assert client.post("/admin/notifications/escalationpolicy/add/",
                       {**_policy_form(world_a), **_steps_form([[channel.pk]])}).status_code == 302


def test_the_admin_gives_tenant_admins_steps_checkboxes_and_their_tenant(world_a, world_b, make_channel, client):
    own, foreign = make_channel(world_a, "email", name="Front desk"), make_channel(world_b, "email", name="Rival")
    client.force_login(world_a.admin)
    html = client.get("/admin/notifications/escalationpolicy/add/").content.decode()
    assert 'name="steps-TOTAL_FORMS"' in html and 'name="steps-0-channels"' in html
    assert 'type="checkbox" name="kinds" value="breach"' in html
    assert 'type="checkbox" name="severities" value="critical"' in html
    assert f'<option value="{world_a.tenant.pk}" selected>' in html
    assert own.name in html and foreign.name not in html

    client.post("/admin/notifications/escalationpolicy/add/",
                {**_policy_form(world_a, kinds=["breach", "tamper"]), **_steps_form([[own.pk]])})
    policy = EscalationPolicy.objects.get(tenant=world_a.tenant)
    assert policy.kinds == ["breach", "tamper"] and policy.steps.get().channels.get() == own
    assert AuditEntry.objects.filter(tenant=world_a.tenant, action="policy.saved").exists()
    # A foreign tenant's channel can't be smuggled into a step.
    smuggled = client.post("/admin/notifications/escalationpolicy/add/",
                           {**_policy_form(world_a), **_steps_form([[foreign.pk]])})
    assert smuggled.status_code == 200 and EscalationPolicy.objects.count() == 1


def test_staff_can_read_policies_in_the_admin_but_not_write_them(world_a, make_channel, make_policy, client):
    policy = make_policy(world_a, [(0, [make_channel(world_a)])])
    client.force_login(world_a.staff)
    assert client.get(f"/admin/notifications/escalationpolicy/{policy.pk}/change/").status_code == 200
    assert client.get("/admin/notifications/escalationpolicy/add/").status_code == 403
    posted = client.post(f"/admin/notifications/escalationpolicy/{policy.pk}/change/",
                         {**_policy_form(world_a, name="hijacked"), **_steps_form([[]])})
    assert posted.status_code == 403
    assert EscalationPolicy.objects.get(pk=policy.pk).name == "policy"


def test_a_new_tenant_has_a_catch_all_policy_paging_its_owners_and_admins(capsys):
    tenant = tenant_create(name="Harbour Hotels", vertical="hospitality")
    policy = EscalationPolicy.objects.get(tenant=tenant)
    assert policy.is_catch_all and policy.name == CATCH_ALL_NAME and not policy.kinds and not policy.severities
    assert policy.steps.get().channels.get().kind == ChannelKind.MANAGERS

    call_command("create_tenant", "Corner Stores", "--vertical", "retail")
    assert EscalationPolicy.objects.filter(tenant__slug="corner-stores", is_catch_all=True).count() == 1


def test_the_catch_all_emails_owners_and_admins_and_cannot_be_removed_while_last(client_for, settings, mailoutbox):
    from apps.tenancy.memberships import membership_set
    from tests.factories import SiteFactory, UserFactory

    settings.EMAIL_ENABLED = True
    tenant = tenant_create(name="Sunfield Solar", vertical="energy")
    owner = UserFactory(email="owner@sunfield.example")
    membership_set(tenant=tenant, user=owner, role="owner")
    membership_set(tenant=tenant, user=UserFactory(email="viewer@sunfield.example"), role="viewer")
    alert = alert_raise(tenant=tenant, kind="telemetry", dedup_key="inv-7", severity="high",
                        summary="inverter 7 output low", source="rule", site=SiteFactory(tenant=tenant)).alert
    (row,) = Notification.objects.filter(alert=alert)
    assert delivery.deliver(row.pk).status == "sent"
    assert mailoutbox[-1].to == ["owner@sunfield.example"]

    policy = EscalationPolicy.objects.get(tenant=tenant)
    client = client_for(owner)
    assert client.delete(f"/api/v1/escalation-policies/{policy.public_id}/").status_code == 409
    assert client.patch(f"/api/v1/escalation-policies/{policy.public_id}/", {"enabled": False},
                        format="json").status_code == 409
    renamed = client.patch(f"/api/v1/escalation-policies/{policy.public_id}/", {"name": "Everything else"},
                           format="json")
    assert renamed.status_code == 200 and renamed.json()["step_list"][0]["channels"]


def test_an_alert_that_pages_nobody_says_so(world_a, make_channel, make_policy, raise_alert, client, client_for):
    disabled = make_channel(world_a, "email")
    Channel.objects.filter(pk=disabled.pk).update(enabled=False)
    make_policy(world_a, [(0, [Channel.objects.get(pk=disabled.pk)])], kinds=["battery"])
    before = REGISTRY.get_sample_value("tocsin_alerts_unnotified_total",
                                       {"reason": "no escalation policy covers this alert"}) or 0

    unrouted = raise_alert(world_a, kind="breach")
    muted = raise_alert(world_a, key="battery-1", kind="battery", severity="warning")
    for alert, reason in ((unrouted, "no escalation policy covers this alert"),
                          (muted, "every channel of its policy is disabled")):
        alert.refresh_from_db()
        assert alert.unnotified_reason == reason and alert.nobody_notified
        assert alert.events.filter(kind="unnotified", note=reason).exists()
    assert REGISTRY.get_sample_value("tocsin_alerts_unnotified_total",
                                     {"reason": "no escalation policy covers this alert"}) == before + 1

    detail = client_for(world_a.viewer).get(f"/api/v1/alerts/{unrouted.public_id}/").json()
    assert detail["unnotified_reason"] and "unnotified" in [event["kind"] for event in detail["timeline"]]
    client.force_login(world_a.staff)
    assert "nobody was notified" in client.get("/admin/alerts/alert/").content.decode()
    board = client.get("/board/").content.decode()
    assert "no escalation policy covers this alert" in board  # in the snapshot the board renders as a badge


def test_every_delivery_failing_marks_the_alert(world_a, make_channel, make_policy, raise_alert, settings):
    settings.EMAIL_ENABLED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    settings.TOCSIN_NOTIFY_MAX_ATTEMPTS = 1
    make_policy(world_a, [(0, [make_channel(world_a, "email")])])
    alert = raise_alert(world_a)
    (row,) = Notification.objects.filter(alert=alert)
    assert delivery.deliver(row.pk).status == "dead"
    alert.refresh_from_db()
    assert alert.unnotified_reason == "every delivery of its pages failed"


def test_routing_preview_says_which_policy_pages_what(world_a, world_b, make_channel, make_policy, client_for,
                                                      client):
    breach = make_policy(world_a, [(0, [make_channel(world_a, "sms", name="Guard phone")])], kinds=["breach"],
                         name="Breaches")
    client_a = client_for(world_a.admin)
    entries = client_a.get(f"/api/v1/escalation-policies/routing-preview/?severity=critical"
                           f"&site={world_a.site.public_id}").json()
    by_kind = {entry["kind"]: entry for entry in entries}
    assert by_kind["breach"]["policy"] == breach.public_id
    assert by_kind["breach"]["first_step_channels"][0]["name"] == "Guard phone"
    assert by_kind["offline"]["pages_nobody"] and by_kind["offline"]["policy"] is None
    assert client_a.get(f"/api/v1/escalation-policies/routing-preview/?site={world_b.site.public_id}"
                        ).status_code == 400
    assert client_for(world_a.staff).get("/api/v1/escalation-policies/routing-preview/").status_code == 403

    client.force_login(world_a.admin)
    page = client.get("/admin/notifications/escalationpolicy/routing-preview/?severity=critical")
    html = page.content.decode()
    assert page.status_code == 200 and "Breaches" in html and "nobody" in html
    assert world_b.site.name not in html


# --- the API ---------------------------------------------------------------------------------------


def test_patch_with_only_steps_or_without_steps_keeps_the_rest(world_a, make_channel, make_policy, client_for):
    sms, email = make_channel(world_a, "sms"), make_channel(world_a, "email")
    policy = make_policy(world_a, [(0, [sms])], kinds=["breach"], name="Breaches")
    client = client_for(world_a.admin)
    url = f"/api/v1/escalation-policies/{policy.public_id}/"
    only_steps = client.patch(url, {"steps": [{"delay_minutes": 0, "channels": [email.public_id]}]}, format="json")
    assert only_steps.status_code == 200, only_steps.content
    assert only_steps.json()["name"] == "Breaches" and only_steps.json()["kinds"] == ["breach"]
    assert only_steps.json()["step_list"] == [{"order": 0, "delay_minutes": 0, "channels": [email.public_id],
                                              "users": [], "rosters": [], "site_roster": False, "site_roles": []}]
    no_steps = client.patch(url, {"priority": 5}, format="json")
    assert no_steps.status_code == 200 and no_steps.json()["step_list"][0]["channels"] == [email.public_id]


def test_a_channel_a_policy_pages_cannot_be_deleted(world_a, make_channel, make_policy, client_for):
    sms = make_channel(world_a, "sms")
    make_policy(world_a, [(0, [sms])])
    response = client_for(world_a.admin).delete(f"/api/v1/channels/{sms.public_id}/")
    assert response.status_code == 409 and Channel.objects.filter(pk=sms.pk).exists()


# --- one lifecycle -------------------------------------------------------------------------------


def test_acknowledgement_notices_are_written_with_the_acknowledgement(world_a, make_channel, make_policy,
                                                                      raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a)]), (5, [make_channel(world_a, "email")])],
                notify_on_acknowledge=True)
    alert = raise_alert(world_a)
    Notification.objects.filter(alert=alert).update(status="sent")
    alert_acknowledge(alert=alert, actor=ACTOR)  # no after-commit callbacks run here (TestCase transaction)
    assert Notification.objects.filter(alert=alert, purpose="ack", status="pending").count() == 1
    alert.refresh_from_db()
    assert alert.next_escalation_at is None


def test_reopen_starts_a_fresh_route_from_the_first_step(world_a, make_channel, make_policy, raise_alert):
    sms, email = make_channel(world_a, "sms"), make_channel(world_a, "email")
    policy = make_policy(world_a, [(0, [sms]), (5, [email])])
    alert = raise_alert(world_a)
    alert_resolve(alert=alert, actor=ACTOR)
    policy_save(tenant=world_a.tenant, actor=ACTOR, name="edited", policy=policy,
                steps=[{"delay_minutes": 0, "channels": [email]}])
    alert_reopen(alert=alert, actor=ACTOR)
    alert.refresh_from_db()
    assert alert.paging_cycle == 1 and alert.escalation_step == 1 and alert.policy_snapshot["name"] == "edited"
    assert set(Notification.objects.filter(alert=alert, cycle=1).values_list("channel_id", "status")) == {
        (email.pk, "pending")}


def test_a_duplicate_that_raises_severity_routes_to_its_new_policy(world_a, make_channel, make_policy):
    low, high = make_channel(world_a, "email", name="low"), make_channel(world_a, "sms", name="high")
    make_policy(world_a, [(0, [high])], severities=["critical"], name="critical", priority=1)
    make_policy(world_a, [(0, [low])], name="rest", priority=2)

    def raise_battery(severity):
        return alert_raise(tenant=world_a.tenant, kind="battery", dedup_key="bat", severity=severity,
                           summary="battery", source="rule", site=world_a.site).alert

    alert = raise_battery("warning")
    raise_battery("info")  # lower: the severity stays, nothing is re-routed
    raise_battery("critical")
    rows = Notification.objects.filter(alert=alert).order_by("cycle")
    assert [(row.cycle, row.channel_id, row.status) for row in rows] == [
        (0, low.pk, "cancelled"), (1, high.pk, "pending")]
    assert Alert.objects.get(pk=alert.pk).events.filter(kind="severity").count() == 1


def test_twilio_undelivered_moves_the_alert_to_its_next_step_at_once(world_a, make_channel, make_policy,
                                                                     raise_alert, client, settings):
    settings.TWILIO_AUTH_TOKEN = "twilio-auth-token-for-tests"
    sms, email = make_channel(world_a, "sms"), make_channel(world_a, "email")
    make_policy(world_a, [(0, [sms]), (15, [email])])
    alert = raise_alert(world_a)
    sid = "SM" + "c" * 32
    Notification.objects.filter(alert=alert).update(status="sent", provider="twilio", provider_message_id=sid)
    url = f"{settings.TOCSIN_PUBLIC_BASE_URL}/hooks/twilio/status/"
    params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    for _ in range(2):  # Twilio may repeat a callback: it escalates once
        assert client.post("/hooks/twilio/status/", params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 204
    assert Notification.objects.filter(alert=alert, step=1, channel=email).count() == 1
    alert.refresh_from_db()
    assert alert.escalation_step == 2 and alert.next_escalation_at is None
    assert alert.events.filter(kind="escalated", data__reason="sms undelivered").exists()


# --- one retry clock -----------------------------------------------------------------------------


def test_a_retry_moves_due_at_and_honours_retry_after(world_a, make_channel, make_policy, raise_alert,
                                                      webhook_receiver, django_capture_on_commit_callbacks,
                                                      monkeypatch):
    published = []
    monkeypatch.setattr("apps.notifications.outbox.enqueue",
                        lambda task, nid, countdown=None, queue=None: published.append((nid, countdown, queue)) or 1)
    make_policy(world_a, [(0, [make_channel(world_a, "webhook", target=webhook_receiver.url("/h"),
                                            secret=webhook_receiver.secret)])])
    alert = raise_alert(world_a)
    row = Notification.objects.get(alert=alert)
    webhook_receiver.fail_next(1, "status", status=429, retry_after=7)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = delivery.deliver(row.pk)
    row.refresh_from_db()
    assert outcome.status == "retry" and 7 <= outcome.retry_in <= 7.01
    assert row.status == "pending" and 6.5 <= (row.due_at - timezone.now()).total_seconds() <= 7.1
    nid, countdown, queue = published[-1]
    assert nid == row.pk and queue == "retry" and 6 <= countdown <= 7.1


def test_an_outcome_is_not_written_over_a_newer_claim(world_a, make_channel, make_policy, raise_alert):
    make_policy(world_a, [(0, [make_channel(world_a)])])
    row = Notification.objects.get(alert=raise_alert(world_a))
    claimed = delivery._claim(row.pk, timezone.now())
    # Meanwhile the sweeper decided the worker was lost and another attempt claimed the row.
    Notification.objects.filter(pk=row.pk).update(status="sending", attempts=2)
    delivery._finish(claimed, "failed", "console", error="late answer")
    row.refresh_from_db()
    assert row.status == "sending" and row.attempts == 2 and row.last_error == ""
    assert not row.alert.events.filter(kind="notified").exists()


def test_one_broken_alert_does_not_hold_back_the_escalation_tick(world_a, make_channel, make_policy, raise_alert,
                                                                 monkeypatch):
    make_policy(world_a, [(0, [make_channel(world_a)]), (5, [make_channel(world_a, "email")])])
    broken, fine = raise_alert(world_a, key="a"), raise_alert(world_a, key="b")
    real_write = __import__("apps.notifications.escalation", fromlist=["_write_step"])._write_step

    def write_step(alert, *args, **kwargs):
        if alert.pk == broken.pk:
            raise RuntimeError("boom")
        return real_write(alert, *args, **kwargs)

    monkeypatch.setattr("apps.notifications.escalation._write_step", write_step)
    assert escalation_tick(now=timezone.now() + timedelta(minutes=6)) == 1
    assert Notification.objects.filter(alert=fine, step=1).exists()
    assert not Notification.objects.filter(alert=broken, step=1).exists()


def test_the_migration_gives_existing_tenants_a_catch_all(world_a):
    """Tenants made before this release (as factories make them: without the service) get one too."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("apps.notifications.migrations.0003_catch_all_policy_for_every_tenant")
    assert not EscalationPolicy.objects.filter(tenant=world_a.tenant).exists()
    migration.add_catch_all_policies(apps, None)
    migration.add_catch_all_policies(apps, None)  # idempotent
    policy = EscalationPolicy.objects.get(tenant=world_a.tenant)
    assert policy.is_catch_all and policy.steps.get().channels.get().kind == ChannelKind.MANAGERS
    assert Tenant.objects.count() == 1


def test_routing_follows_every_change_made_through_the_services(world_a, make_channel, make_policy, raise_alert,
                                                               client_for):
    """Policies are kept per process between raises; a change must reach the very next raise."""
    sms, email = make_channel(world_a, "sms"), make_channel(world_a, "email")
    policy = make_policy(world_a, [(0, [sms])])
    first = raise_alert(world_a, key="one")
    assert set(Notification.objects.filter(alert=first).values_list("channel_id", flat=True)) == {sms.pk}
    client = client_for(world_a.admin)
    client.patch(f"/api/v1/escalation-policies/{policy.public_id}/",
                 {"steps": [{"delay_minutes": 0, "channels": [email.public_id]}]}, format="json")
    second = raise_alert(world_a, key="two")
    assert set(Notification.objects.filter(alert=second).values_list("channel_id", flat=True)) == {email.pk}
    client.patch(f"/api/v1/channels/{email.public_id}/", {"enabled": False}, format="json")
    third = raise_alert(world_a, key="three")
    third.refresh_from_db()
    assert third.unnotified_reason == "every channel of its policy is disabled"


def test_outage_grouping_is_tuned_per_site_and_can_be_turned_off(world_a, make_channel, make_policy, client_for):
    from tests.factories import DeviceFactory

    client = client_for(world_a.admin)
    url = f"/api/v1/sites/{world_a.site.public_id}/"
    assert client.patch(url, {"outage_threshold": -1}, format="json").status_code == 400
    assert client.patch(url, {"outage_window_seconds": 5}, format="json").status_code == 400
    tuned = client.patch(url, {"outage_threshold": 3, "outage_window_seconds": 300}, format="json")
    assert tuned.status_code == 200 and tuned.json()["outage_threshold"] == 3
    make_policy(world_a, [(0, [make_channel(world_a)])])

    def offline(count):
        site = type(world_a.site).objects.get(pk=world_a.site.pk)  # as each report reads it
        for _ in range(count):
            device = DeviceFactory(site=site)
            alert_raise(tenant=world_a.tenant, kind="offline", dedup_key=f"offline:{device.pk}", severity="high",
                        summary="offline", source="rule", site=site, device=device)

    offline(3)
    group = Alert.objects.get(is_group=True)
    assert Alert.objects.filter(group=group).count() == 3 and "3 devices offline" in group.summary
    alert_resolve(alert=group, actor=ACTOR)
    assert client.patch(url, {"outage_threshold": 0}, format="json").status_code == 200
    offline(5)
    assert Alert.objects.filter(is_group=True).count() == 1  # off: no new outage


def test_channel_send_test_and_quiet_hours_in_the_admin_go_through_the_services(world_a, make_channel, client):
    channel = make_channel(world_a, "sms", name="Guard phone")
    client.force_login(world_a.admin)
    sent = client.post("/admin/notifications/channel/",
                       {"action": "send_test_selected", "_selected_action": [channel.pk]}, follow=True)
    assert "Guard phone: test sent through console" in sent.content.decode()
    assert AuditEntry.objects.filter(action="channel.tested", target_id=channel.public_id).exists()
    saved = client.post("/admin/notifications/quiethours/add/",
                        {"site": world_a.site.pk, "start": "22:00", "end": "07:00", "enabled": "on"})
    assert saved.status_code == 302, saved.content.decode()[:500]
    assert AuditEntry.objects.filter(action="quiet_hours.saved", target_id=world_a.site.public_id).exists()


def test_the_admin_deletes_policies_through_the_service_and_never_the_last_one(world_a, make_channel, make_policy,
                                                                               client):
    channel = make_channel(world_a)
    spare, last = make_policy(world_a, [(0, [channel])], name="spare"), make_policy(world_a, [(0, [channel])])
    client.force_login(world_a.admin)
    assert client.post(f"/admin/notifications/escalationpolicy/{spare.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not EscalationPolicy.objects.filter(pk=spare.pk).exists()
    assert AuditEntry.objects.filter(action="policy.deleted", target_id=spare.public_id).exists()
    assert client.post(f"/admin/notifications/escalationpolicy/{last.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/notifications/channel/{channel.pk}/delete/", {"post": "yes"}).status_code == 403
    assert EscalationPolicy.objects.filter(pk=last.pk).exists() and Channel.objects.filter(pk=channel.pk).exists()
