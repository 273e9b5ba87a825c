"""Alerts to people through a real worker, real SDKs and local provider stand-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client

from apps.alerts.models import Alert
from apps.alerts.services import alert_acknowledge
from apps.audit.services import Actor
from apps.notifications.delivery import replay
from apps.notifications.escalation import escalation_tick
from apps.notifications.models import Notification
from tests.factories import DEFAULT_PASSWORD
from tests.support.flows import FAST_RETRIES, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _let_time_pass(alert, minutes: float) -> None:
    """As if the alert had been raised `minutes` earlier: the tick then finds its steps due."""
    shift = timedelta(minutes=minutes)
    Alert.objects.filter(pk=alert.pk).update(created_at=F("created_at") - shift,
                                             next_escalation_at=F("next_escalation_at") - shift)


def _rows(alert):
    return list(Notification.objects.filter(alert=alert).order_by("step", "id"))


def _settled(alert, count: int):
    rows = _rows(alert)
    return len(rows) == count and all(r.status in ("sent", "failed", "dead", "cancelled") for r in rows) and rows


def test_breach_pages_sms_and_slack_once_then_escalates_to_email(
        world_a, make_channel, make_policy, raise_alert, real_providers, celery_worker_process,
        twilio_standin, slack_standin, smtp_standin):
    sms, slack, email = make_channel(world_a, "sms"), make_channel(world_a, "slack"), make_channel(world_a, "email")
    make_policy(world_a, [(0, [sms, slack]), (5, [email])], kinds=["breach"])
    celery_worker_process(env_overrides=real_providers)

    alert = raise_alert(world_a)
    assert len(twilio_standin.wait_for(1)) == 1 and len(slack_standin.wait_for(1)) == 1
    wait_until(lambda: _settled(alert, 2), what="both pages recorded")
    assert smtp_standin.messages == []

    _let_time_pass(alert, 5.1)
    assert escalation_tick() == 1
    assert smtp_standin.wait_for(1)[0]["subject"].startswith("[Tocsin] CRITICAL")
    wait_until(lambda: _settled(alert, 3), what="email recorded")
    assert len(twilio_standin.messages) == 1 and len(slack_standin.messages) == 1  # nothing sent twice


def test_acknowledging_before_the_next_step_means_it_never_arrives(
        world_a, make_channel, make_policy, raise_alert, real_providers, celery_worker_process,
        twilio_standin, smtp_standin):
    sms, email = make_channel(world_a, "sms"), make_channel(world_a, "email")
    make_policy(world_a, [(0, [sms]), (5, [email])], notify_on_acknowledge=False)
    celery_worker_process(env_overrides=real_providers)
    alert = raise_alert(world_a)
    twilio_standin.wait_for(1)
    alert_acknowledge(alert=alert, actor=Actor(type="user", id="1", label="Ana"))
    _let_time_pass(alert, 6)
    assert escalation_tick() == 0
    wait_until(lambda: _settled(alert, 1), what="page recorded")
    assert smtp_standin.messages == [] and not Notification.objects.filter(alert=alert, step=1).exists()


def test_two_transient_failures_then_delivered_once(
        world_a, make_channel, make_policy, raise_alert, real_providers, celery_worker_process, twilio_standin):
    make_policy(world_a, [(0, [make_channel(world_a, "sms")])])
    twilio_standin.fail_next(1, "server_error", status=503)
    twilio_standin.fail_next(1, "rate_limit", retry_after=1)
    celery_worker_process(env_overrides={**real_providers, **FAST_RETRIES})
    alert = raise_alert(world_a)
    (row,) = wait_until(lambda: _settled(alert, 1), timeout=30, what="delivery after retries")
    assert row.status == "sent" and row.attempts == 3
    assert len(twilio_standin.messages) == 1 and len(twilio_standin.request_log) == 3


def test_permanent_error_fails_at_once_with_the_code(
        world_a, make_channel, make_policy, raise_alert, real_providers, celery_worker_process, twilio_standin):
    make_policy(world_a, [(0, [make_channel(world_a, "sms")])])
    twilio_standin.fail_next(1, "error", status=400, code=21211)
    celery_worker_process(env_overrides=real_providers)
    alert = raise_alert(world_a)
    (row,) = wait_until(lambda: _settled(alert, 1), what="permanent failure recorded")
    assert (row.status, row.error_code, row.attempts) == ("failed", "21211", 1)
    assert len(twilio_standin.request_log) == 1


def test_exhausted_retries_go_dead_show_in_admin_and_replay_delivers(
        world_a, make_channel, make_policy, raise_alert, real_providers, celery_worker_process, slack_standin):
    make_policy(world_a, [(0, [make_channel(world_a, "slack")])])
    slack_standin.fail_always("server_error", status=500)
    celery_worker_process(env_overrides={**real_providers, **FAST_RETRIES, "TOCSIN_NOTIFY_MAX_ATTEMPTS": "3"})
    alert = raise_alert(world_a)
    (row,) = wait_until(lambda: _settled(alert, 1), timeout=30, what="delivery given up")
    assert row.status == "dead" and row.attempts == 3 and row.dead_at

    admin = Client()
    assert admin.login(username=world_a.admin.username, password=DEFAULT_PASSWORD)
    page = admin.get("/admin/notifications/notification/?status__exact=dead").content.decode()
    assert row.public_id in page or str(row.alert) in page

    slack_standin.clear_failures()
    replay(row)
    wait_until(lambda: Notification.objects.get(pk=row.pk).status == "sent", what="replayed delivery")
    assert len(slack_standin.messages) == 1
