"""Nothing lost, nothing sent twice beyond what was in flight: a worker killed mid-burst,
and a broker that is down while alerts are raised."""

from __future__ import annotations

import collections
import signal
import time

import pytest
from celery import current_app
from kombu import pools as kombu_pools

from apps.alerts.services import alert_raise
from apps.notifications.models import Notification
from apps.notifications.outbox import sweep_outbox
from tests.support.flows import wait_until
from tests.support.processes import RedisServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RECOVERY = {"TOCSIN_NOTIFY_STALE_SENDING_SECONDS": "3", "TOCSIN_NOTIFY_REENQUEUE_AFTER_SECONDS": "3"}


def _webhook_policy(world, make_channel, make_policy, receiver):
    channel = make_channel(world, "webhook", target=receiver.url("/tocsin"), secret=receiver.secret)
    make_policy(world, [(0, [channel])])


def _raise_many(world, count: int, prefix: str) -> None:
    for index in range(count):
        alert_raise(tenant=world.tenant, kind="breach", dedup_key=f"{prefix}-{index}", severity="critical",
                    summary=f"burst {index}", source="rule", site=world.site)


def _sweep_until_all_sent(total: int, settings, timeout: float = 90) -> None:
    settings.TOCSIN_NOTIFY_STALE_SENDING_SECONDS = 3
    settings.TOCSIN_NOTIFY_REENQUEUE_AFTER_SECONDS = 3
    deadline = time.monotonic() + timeout
    while Notification.objects.filter(status="sent").count() < total:
        assert time.monotonic() < deadline, Notification.objects.values("status").annotate(
            n=__import__("django.db.models", fromlist=["Count"]).Count("id"))
        sweep_outbox()
        time.sleep(1)


def test_sigkill_mid_burst_loses_nothing(world_a, make_channel, make_policy, webhook_receiver, settings,
                                         celery_worker_process, capsys):
    webhook_receiver.delay_seconds = 0.02
    _webhook_policy(world_a, make_channel, make_policy, webhook_receiver)
    _raise_many(world_a, 200, "burst")  # 200 deliveries queued in the broker
    first = celery_worker_process(env_overrides=RECOVERY)

    wait_until(lambda: len(webhook_receiver.messages) >= 40, timeout=60, what="40 deliveries before the kill")
    first.kill(signal.SIGKILL)
    delivered_at_kill = len(webhook_receiver.messages)
    in_flight = Notification.objects.filter(status="sending").count()

    celery_worker_process(env_overrides=RECOVERY)
    _sweep_until_all_sent(200, settings)

    per_alert = collections.Counter(m["json"]["alert_id"] for m in webhook_receiver.messages)
    duplicates = sum(per_alert.values()) - len(per_alert)
    with capsys.disabled():
        print(f"\n[sigkill burst] delivered before kill={delivered_at_kill} in flight at kill={in_flight} "
              f"distinct delivered={len(per_alert)} duplicates={duplicates}")
    assert len(per_alert) == 200
    assert duplicates <= in_flight


def test_broker_down_while_raising_then_sweeper_delivers(world_a, make_channel, make_policy, webhook_receiver,
                                                         settings, celery_worker_process, tmp_path):
    broker = RedisServerProcess(tmp_path).start()
    restarted = None
    previous_url = current_app.conf.broker_url

    def use_broker(url: str) -> None:
        """Point this process's publisher at another broker (test harness only)."""
        current_app.conf.broker_url = url
        kombu_pools.reset()  # kombu keeps producer pools per broker URL, process-wide
        current_app._pool = None
        current_app.amqp._producer_pool = None

    try:
        use_broker(broker.url)
        _webhook_policy(world_a, make_channel, make_policy, webhook_receiver)
        celery_worker_process(env_overrides={"CELERY_BROKER_URL": broker.url})
        broker.stop()

        _raise_many(world_a, 5, "outage")  # commits succeed; publishing fails and is logged
        assert Notification.objects.filter(status="pending", enqueued_at__isnull=True).count() == 5

        restarted = RedisServerProcess(tmp_path, port=broker.port).start()
        settings.TOCSIN_NOTIFY_REENQUEUE_AFTER_SECONDS = 0
        deadline = time.monotonic() + 60
        while Notification.objects.filter(status="sent").count() < 5:
            assert time.monotonic() < deadline, "the sweeper did not deliver what the outage held back"
            sweep_outbox()
            time.sleep(1)
        assert len({m["json"]["alert_id"] for m in webhook_receiver.messages}) == 5
    finally:
        use_broker(previous_url)
        for server in (broker, restarted):
            if server is not None:
                server.stop()
