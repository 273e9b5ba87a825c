"""The platform watching itself: heartbeats, /readyz, check_platform and the watchdog's
operator alert through the normal alert engine (a real webhook stand-in receives it)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.alerts.models import Alert
from apps.notifications.models import Notification
from apps.operations.models import Heartbeat
from apps.operations.services import Watchdog, heartbeat_forget, heartbeat_record

pytestmark = pytest.mark.django_db

ESCALATION = "tocsin.notify.escalation_tick"
OFFLINE = "tocsin.alerts.offline_sweep"


def _all_beating(at=None):
    heartbeat_record(name="beat", kind="beat", at=at)
    heartbeat_record(name="worker:w1@test", kind="worker", details={"queues": ["critical"]}, at=at)
    for task in (ESCALATION, OFFLINE):
        heartbeat_record(name=f"task:{task}", kind="task", at=at)


def test_heartbeats_are_one_row_each_however_often_they_beat():
    for _ in range(3):
        heartbeat_record(name="beat", kind="beat")
    assert Heartbeat.objects.filter(name="beat").count() == 1
    heartbeat_record(name="worker:w1@test", kind="worker")
    heartbeat_forget(name="worker:w1@test")
    assert not Heartbeat.objects.filter(name="worker:w1@test").exists()


def test_readyz_is_ready_when_beat_and_a_worker_beat(client):
    _all_beating()
    body = client.get("/readyz").json()
    assert body["failed"] == [] and body["warnings"] == []
    assert body["checks"]["workers"]["workers"] == ["w1@test"]


def test_readyz_names_stale_beat_missing_workers_and_an_outbox_backlog(client, world_a, make_channel, make_policy,
                                                                       raise_alert):
    old = timezone.now() - timedelta(seconds=90)
    _all_beating(at=old)
    make_policy(world_a, [(0, [make_channel(world_a)])])
    raise_alert(world_a)
    Notification.objects.update(due_at=timezone.now() - timedelta(minutes=3))
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["beat", "workers", "outbox"]
    assert body["checks"]["beat"]["error"] == "beat last seen 90 s ago"
    assert body["checks"]["workers"]["error"] == "no worker is consuming"
    assert body["checks"]["outbox"]["seconds"] >= 180
    assert body["checks"]["database"]["ok"] is True


def test_dead_letters_are_named_without_failing_readiness(client, world_a, make_channel, make_policy, raise_alert):
    _all_beating()
    make_policy(world_a, [(0, [make_channel(world_a)])])
    raise_alert(world_a)
    Notification.objects.update(status="dead", dead_at=timezone.now())
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["warnings"] == ["dead_letters"]
    assert response.json()["checks"]["dead_letters"]["dead_last_24h"] == 1


def test_check_platform_prints_each_check_and_exits_1_when_not_ready(capsys):
    _all_beating()
    call_command("check_platform")
    assert "ok   beat" in capsys.readouterr().out
    Heartbeat.objects.filter(name="beat").delete()
    with pytest.raises(CommandError) as failed:
        call_command("check_platform")
    assert failed.value.returncode == 1 and "beat" in str(failed.value)
    assert "FAIL beat          beat has never sent a heartbeat" in capsys.readouterr().out


@pytest.fixture
def operator(world_b, settings, make_channel, make_policy, webhook_receiver):
    """world_b stands for the operator tenant, paged through a webhook (a real stand-in)."""
    settings.TOCSIN_OPERATOR_TENANT = world_b.tenant.slug
    make_policy(world_b, [(0, [make_channel(world_b, "webhook", target=webhook_receiver.url("/ops"),
                                            secret=webhook_receiver.secret)])])
    return world_b


def test_watchdog_pages_the_operator_when_the_escalation_tick_stops_and_resolves_when_back(
        operator, webhook_receiver, django_capture_on_commit_callbacks):
    started = timezone.now() - timedelta(minutes=5)
    _all_beating(at=timezone.now() - timedelta(seconds=75))
    heartbeat_record(name="worker:w1@test", kind="worker")
    watchdog = Watchdog(started_at=started)
    with django_capture_on_commit_callbacks(execute=False):
        problems = watchdog.run_once()
    assert {p.dedup_key for p in problems} == {f"platform:task:{ESCALATION}", f"platform:task:{OFFLINE}"}
    alert = Alert.objects.get(tenant=operator.tenant, dedup_key=f"platform:task:{ESCALATION}")
    assert alert.severity == "critical" and alert.status == "triggered"
    assert "has not run for 75 s (beat last seen 75 s ago)" in alert.summary
    # Delivered by the watchdog itself, not by a worker (every worker may be the thing that stopped).
    messages = webhook_receiver.wait_for(2, timeout=10)
    assert {m["json"]["alert_id"] for m in messages} == set(
        Alert.objects.filter(tenant=operator.tenant).values_list("public_id", flat=True))

    _all_beating()
    with django_capture_on_commit_callbacks(execute=False):
        assert watchdog.run_once() == []
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolution == "restored"


def test_watchdog_measures_never_run_tasks_from_its_own_start(operator):
    heartbeat_record(name="beat", kind="beat")
    assert Watchdog().run_once() == []
    assert not Alert.objects.filter(tenant=operator.tenant).exists()


def test_watchdog_without_an_operator_tenant_logs_at_critical(settings, caplog):
    settings.TOCSIN_OPERATOR_TENANT = ""
    problems = Watchdog(started_at=timezone.now() - timedelta(minutes=5)).run_once()
    assert len(problems) == 2
    assert any(r.levelname == "CRITICAL" and "no operator tenant" in r.getMessage() for r in caplog.records)


def test_readyz_and_check_platform_run_only_the_checks_named(client, capsys):
    heartbeat_record(name="beat", kind="beat")
    body = client.get("/readyz?checks=database,beat").json()
    assert set(body["checks"]) == {"database", "beat"} and body["failed"] == []
    assert client.get("/readyz?checks=nope").status_code == 400
    call_command("check_platform", "--check", "beat")
    assert "beat" in capsys.readouterr().out
    with pytest.raises(CommandError, match="unknown check"):
        call_command("check_platform", "--check", "nope")


def test_metrics_show_the_platforms_own_health(client):
    _all_beating(at=timezone.now() - timedelta(seconds=30))
    text = client.get("/metrics").content.decode()
    assert "tocsin_workers_consuming 1.0" in text
    assert 'tocsin_periodic_task_age_seconds{task="tocsin.notify.escalation_tick"}' in text
    beat_age = float(re.search(r"^tocsin_beat_heartbeat_age_seconds (\S+)$", text, re.MULTILINE).group(1))
    assert 29 <= beat_age <= 60
