"""Stopping beat, then every worker, pages the operator tenant through a real provider
stand-in (a signed webhook), and /readyz names the part that stopped. Real beat, worker
and watchdog processes; thresholds scaled down from 60 s to a few seconds so the test is
bounded (the logic is the same)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.alerts.models import Alert
from tests.support.flows import wait_until
from tests.support.processes import beat_process, watchdog_process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

FAST = {"TOCSIN_HEARTBEAT_SECONDS": "1", "TOCSIN_BEAT_STALE_SECONDS": "6", "TOCSIN_WORKER_STALE_SECONDS": "4",
        "TOCSIN_OUTBOX_BACKLOG_SECONDS": "120", "TOCSIN_WATCHDOG_INTERVAL_SECONDS": "1"}


def _fast_schedule() -> None:
    """The watched periodic tasks every 2 s instead of 10 s / 30 s."""
    call_command("setup_periodic_tasks")
    every_two, _ = IntervalSchedule.objects.get_or_create(every=2, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task__in=["tocsin.notify.escalation_tick", "tocsin.alerts.offline_sweep"]).update(
        interval=every_two)
    PeriodicTask.objects.exclude(task__in=["tocsin.notify.escalation_tick", "tocsin.alerts.offline_sweep"]).update(
        enabled=False)


def _summaries(receiver) -> list[str]:
    return [m["json"].get("summary", "") for m in receiver.messages]


def test_beat_then_workers_stopped_page_the_operator_and_readyz_names_them(
        world_b, make_channel, make_policy, webhook_receiver, celery_worker_process, tmp_path, client, settings,
        capsys):
    for key, value in FAST.items():
        setattr(settings, key, float(value))
    make_policy(world_b, [(0, [make_channel(world_b, "webhook", target=webhook_receiver.url("/ops"),
                                            secret=webhook_receiver.secret)])])
    _fast_schedule()
    env = {**FAST, "TOCSIN_OPERATOR_TENANT": world_b.tenant.slug}
    worker = celery_worker_process(env_overrides=env)
    beat = beat_process(tmp_path / "beat.log", **env).start(ready="beat: Starting")
    watchdog = watchdog_process(tmp_path / "watchdog.log", **env).start(ready="watchdog started")
    try:
        wait_until(lambda: client.get("/readyz").status_code == 200, timeout=30, what="ready with beat and worker")

        beat.stop()
        wait_until(lambda: any("beat" in s for s in _summaries(webhook_receiver)), timeout=40,
                   what="the operator paged for beat")
        body = client.get("/readyz").json()
        assert "beat" in body["failed"], body
        beat_page = next(s for s in _summaries(webhook_receiver) if "beat" in s)

        beat = beat_process(tmp_path / "beat2.log", **env).start(ready="beat: Starting")
        wait_until(lambda: not Alert.objects.filter(tenant=world_b.tenant, status="triggered").exists(),
                   timeout=40, what="the platform alerts resolved once beat runs again")

        worker.stop()
        wait_until(lambda: any("no worker is consuming" in s for s in _summaries(webhook_receiver)), timeout=40,
                   what="the operator paged for the workers")
        body = client.get("/readyz").json()
        assert "workers" in body["failed"] and "beat" not in body["failed"], body
        worker_page = next(s for s in _summaries(webhook_receiver) if "no worker is consuming" in s)
    finally:
        watchdog.stop()
        beat.stop()
    with capsys.disabled():
        print(f"\n[watchdog] beat stopped → page: {beat_page!r}")
        print(f"[watchdog] workers stopped → page: {worker_page!r}")
