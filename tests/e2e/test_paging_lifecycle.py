"""Paging people can trust, through a real worker with the production retry settings:
reopen pages again, every acknowledgement is told, a raised severity is re-routed,
transient provider errors are retried in seconds, a power cut pages once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts.models import Alert
from apps.alerts.services import alert_acknowledge, alert_raise, alert_reopen, alert_resolve
from apps.audit.services import Actor
from apps.ingest.services.sweeps import offline_sweep
from apps.notifications.models import Notification
from apps.notifications.outbox import sweep_outbox
from tests.factories import DeviceFactory
from tests.support.flows import wait_until
from tests.support.processes import ROOT, child_environment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ACTOR = Actor.system("test")


def _webhook(world, make_channel, receiver, name="webhook"):
    return make_channel(world, "webhook", target=receiver.url(f"/{name}"), secret=receiver.secret, name=name)


def _pages(receiver, alert, purpose="page"):
    return [m for m in receiver.messages
            if m["json"]["alert_id"] == alert.public_id and m["json"].get("purpose") == purpose]


def test_reopened_alert_pages_again_and_second_acknowledgement_is_told(
        world_a, make_channel, make_policy, raise_alert, webhook_receiver, celery_worker_process):
    channel = _webhook(world_a, make_channel, webhook_receiver)
    make_policy(world_a, [(0, [channel])], notify_on_acknowledge=True)
    celery_worker_process()

    alert = raise_alert(world_a)
    wait_until(lambda: len(_pages(webhook_receiver, alert)) == 1, what="first page")
    alert_acknowledge(alert=alert, actor=ACTOR)
    wait_until(lambda: len(_pages(webhook_receiver, alert, "ack")) == 1, what="first acknowledgement notice")
    alert_resolve(alert=alert, actor=ACTOR)
    alert_reopen(alert=alert, actor=ACTOR)
    wait_until(lambda: len(_pages(webhook_receiver, alert)) == 2, what="the reopened alert paged again")
    alert_acknowledge(alert=alert, actor=ACTOR)
    wait_until(lambda: len(_pages(webhook_receiver, alert, "ack")) == 2, what="second acknowledgement notice")
    alert.refresh_from_db()
    assert alert.paging_cycle == 1
    assert set(Notification.objects.filter(alert=alert).values_list("cycle", "purpose", "status")) == {
        (0, "page", "sent"), (0, "ack", "sent"), (1, "page", "sent"), (1, "ack", "sent")}


def test_warning_duplicate_that_becomes_critical_reaches_the_critical_policy(
        world_a, make_channel, make_policy, webhook_receiver, celery_worker_process):
    warnings = _webhook(world_a, make_channel, webhook_receiver, "warnings")
    critical = _webhook(world_a, make_channel, webhook_receiver, "critical")
    make_policy(world_a, [(0, [critical])], name="critical", severities=["critical"], priority=10)
    make_policy(world_a, [(0, [warnings])], name="the rest", priority=50)
    celery_worker_process()

    def battery(level: int, severity: str):
        return alert_raise(tenant=world_a.tenant, kind="battery", dedup_key="battery-room-101", severity=severity,
                           summary=f"battery at {level} %", source="rule", site=world_a.site).alert

    alert = battery(19, "warning")
    wait_until(lambda: len(webhook_receiver.messages) == 1, what="the warning page")
    assert webhook_receiver.messages[0]["path"] == "/warnings"
    battery(5, "critical")
    wait_until(lambda: len(webhook_receiver.messages) == 2, what="the critical page")
    assert webhook_receiver.messages[1]["path"] == "/critical"
    assert webhook_receiver.messages[1]["json"]["severity"] == "critical"
    alert.refresh_from_db()
    assert alert.policy_snapshot["name"] == "critical" and alert.paging_cycle == 1
    assert alert.events.filter(kind="severity").exists()
    battery(4, "critical")  # the same severity again: no new route
    time.sleep(1)
    assert len(webhook_receiver.messages) == 2


@pytest.mark.parametrize(("failure", "low", "high"), [
    ({"status": 503}, 0.5, 5.0),
    ({"status": 429, "retry_after": 7}, 7.0, 9.0),
])
def test_transient_provider_errors_are_retried_in_seconds(
        failure, low, high, world_a, make_channel, make_policy, raise_alert, webhook_receiver, settings,
        celery_worker_process):
    """Production retry settings (2 s base backoff): nothing here is shortened, and the sweeper never runs."""
    assert settings.TOCSIN_NOTIFY_RETRY_BASE_SECONDS == 2 and settings.TOCSIN_NOTIFY_REENQUEUE_AFTER_SECONDS == 60
    make_policy(world_a, [(0, [_webhook(world_a, make_channel, webhook_receiver)])])
    celery_worker_process()
    webhook_receiver.fail_next(1, "status", **failure)

    alert = raise_alert(world_a)
    first = wait_until(lambda: webhook_receiver.request_log[:1], what="the first attempt")[0]
    (page,) = webhook_receiver.wait_for(1, timeout=15)
    row = wait_until(lambda: Notification.objects.filter(alert=alert, status="sent").first(), what="sent")
    assert row.attempts == 2
    waited = page["at"] - first["at"]
    assert low <= waited <= high, f"retried after {waited:.1f}s"


def test_policy_made_in_the_admin_by_a_tenant_admin_pages(world_a, make_channel, webhook_receiver,
                                                          celery_worker_process, client):
    channel = _webhook(world_a, make_channel, webhook_receiver)
    client.force_login(world_a.admin)
    response = client.post("/admin/notifications/escalationpolicy/add/", {
        "tenant": world_a.tenant.pk, "name": "Breaches", "priority": 10, "kinds": ["breach"],
        "severities": ["critical"], "repeat_times": 0, "repeat_after_minutes": 10, "notify_on_acknowledge": "on",
        "enabled": "on",
        "steps-TOTAL_FORMS": 1, "steps-INITIAL_FORMS": 0, "steps-MIN_NUM_FORMS": 1, "steps-MAX_NUM_FORMS": 1000,
        "steps-0-delay_minutes": 0, "steps-0-channels": [channel.pk],
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    celery_worker_process()
    alert = alert_raise(tenant=world_a.tenant, kind="breach", dedup_key="door-305", severity="critical",
                        summary="Room 305 door forced", source="rule", site=world_a.site).alert
    (page,) = webhook_receiver.wait_for(1)
    assert page["json"]["alert_id"] == alert.public_id


def _ack_then_die(alert_public_id: str) -> subprocess.CompletedProcess:
    """Acknowledge in another process that is killed the instant the transaction commits,
    before any after-commit work (publishing, live events) can run."""
    code = (
        "import django, os; django.setup()\n"
        "from django.db import transaction\n"
        "from apps.alerts.models import Alert\n"
        "from apps.alerts.services import alert_acknowledge\n"
        "from apps.audit.services import Actor\n"
        "transaction.on_commit = lambda *a, **k: None\n"  # nothing after commit gets a chance
        f"alert = Alert.objects.get(public_id={alert_public_id!r})\n"
        "with transaction.atomic():\n"
        "    alert_acknowledge(alert=alert, actor=Actor.system('night guard'))\n"
        "os.kill(os.getpid(), 9)\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_environment(), capture_output=True,
                          timeout=60, check=False)


def test_killing_the_process_right_after_an_acknowledgement_loses_no_notice(
        world_a, make_channel, make_policy, raise_alert, webhook_receiver, settings, celery_worker_process):
    make_policy(world_a, [(0, [_webhook(world_a, make_channel, webhook_receiver)])], notify_on_acknowledge=True)
    celery_worker_process()
    alert = raise_alert(world_a)
    wait_until(lambda: len(_pages(webhook_receiver, alert)) == 1, what="the page")

    result = _ack_then_die(alert.public_id)
    assert result.returncode == -9, result.stderr.decode()[-2000:]
    notice = Notification.objects.get(alert=alert, purpose="ack")
    assert notice.status == "pending"  # committed with the acknowledgement, never published

    settings.TOCSIN_NOTIFY_REENQUEUE_AFTER_SECONDS = 0  # the sweeper's next round, now
    sweep_outbox()
    wait_until(lambda: len(_pages(webhook_receiver, alert, "ack")) == 1, what="the notice, after the crash")


def test_twenty_tablets_offline_within_a_minute_page_one_outage_once_per_channel(
        world_a, make_channel, make_policy, webhook_receiver, celery_worker_process, client_for):
    hook = _webhook(world_a, make_channel, webhook_receiver, "hook")
    other = _webhook(world_a, make_channel, webhook_receiver, "other")
    make_policy(world_a, [(0, [hook, other])])
    now = timezone.now()
    for index in range(20):  # silent since some time in the last minute, past the offline threshold
        DeviceFactory(site=world_a.site, last_seen_at=now - timedelta(minutes=10, seconds=index * 3))
    celery_worker_process()

    flagged = offline_sweep()
    for _ in range(5):  # a device locked at that moment is left for the next sweep (SKIP LOCKED), as beat would
        if flagged == 20:
            break
        time.sleep(0.5)
        flagged += offline_sweep()
    assert flagged == 20
    group = wait_until(lambda: Alert.objects.filter(is_group=True).first(), what="the outage alert")
    pages = wait_until(lambda: webhook_receiver.messages if len(webhook_receiver.messages) >= 2 else None,
                       what="the outage pages")
    time.sleep(2)
    assert sorted(m["path"] for m in webhook_receiver.messages) == ["/hook", "/other"]
    assert {m["json"]["alert_id"] for m in pages} == {group.public_id}
    assert "20 devices offline" in group.summary or "20 devices offline" in Alert.objects.get(pk=group.pk).summary
    members = Alert.objects.filter(group=group)
    assert members.count() == 20
    # What the first members held back was cancelled when the outage opened: nothing left to send.
    assert not Notification.objects.filter(alert__in=members, status__in=["pending", "sending", "sent"]).exists()

    response = client_for(world_a.staff).post(f"/api/v1/alerts/{group.public_id}/acknowledge/", {}, format="json")
    assert response.status_code == 200
    assert set(members.values_list("status", flat=True)) == {"acknowledged"}


def test_a_failing_live_event_publisher_cannot_fail_an_acknowledgement(world_a, raise_alert, client_for,
                                                                      monkeypatch):
    from apps.alerts import extension_points

    alert = raise_alert(world_a)

    def broken_receiver(sender, **kwargs):
        raise RuntimeError("publisher down")

    extension_points.alert_changed.connect(broken_receiver, dispatch_uid="test.broken")
    monkeypatch.setattr("apps.realtime.receivers.publish", broken_receiver)
    try:
        response = client_for(world_a.staff).post(f"/api/v1/alerts/{alert.public_id}/acknowledge/", {},
                                                  format="json")
    finally:
        extension_points.alert_changed.disconnect(dispatch_uid="test.broken")
    assert response.status_code == 200, json.dumps(response.json())
    assert Alert.objects.get(pk=alert.pk).status == "acknowledged"
