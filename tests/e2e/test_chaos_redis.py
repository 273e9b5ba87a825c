"""Chaos: Redis (cache, throttle store, broker, pub/sub) down for 30 s under device load.

A private redis-server and a gunicorn web server started by the test; 20 device requests
per second (heartbeats and device alerts) before, during and after the outage. Every
request must succeed, fast: the circuit breaker makes a request pay no Redis wait once
the first failure is seen, and what could not be enqueued stays in the outbox for the
sweeper. Prints the figures.
"""

from __future__ import annotations

import time

import pytest

from apps.alerts.models import Alert
from apps.devices.device_tokens import issue_device_token
from apps.notifications.models import Notification
from tests.factories import DeviceFactory
from tests.support.load import DeviceLoad, percentile, summary
from tests.support.processes import RedisServerProcess, WebProcess

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True),
              pytest.mark.timeout(240)]

OUTAGE_SECONDS = 30
# The budget on an otherwise idle machine. On a shared 2-core CI box the requests' own CPU
# (an alert raise is ~35 ms of it) already pushes the p99 *before* the outage past it, so the
# test holds the outage to "no worse than before, or the budget", and no request to a
# second: before the breaker, each request waited on a Redis connect and latency grew
# ~0.3 s per second of outage.
P99_BUDGET_SECONDS = 0.100


def test_redis_outage_costs_device_requests_almost_nothing(world_a, make_channel, make_policy, webhook_receiver,
                                                            tmp_path, capsys):
    make_policy(world_a, [(0, [make_channel(world_a, "webhook", target=webhook_receiver.url("/chaos"),
                                            secret=webhook_receiver.secret)])])
    tokens = [issue_device_token(DeviceFactory(site=world_a.site))[0] for _ in range(4)]
    server = RedisServerProcess(tmp_path).start()
    web = WebProcess(tmp_path / "web.log", workers=2, env_overrides={
        "REDIS_URL": server.url, "CELERY_BROKER_URL": server.url}).start()
    load = DeviceLoad(web.url, tokens, rate=20)
    try:
        load.start()
        time.sleep(5)  # the baseline: the same load with Redis up
        server.stop()
        outage_started = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        outage_ended = time.monotonic()
        RedisServerProcess(tmp_path, port=server.port).start()
        time.sleep(4)
        outcomes = load.stop()
    finally:
        load.stop()
        web.stop()
        server.stop()

    before = [o for o in outcomes if o.started < outage_started]
    during = [o for o in outcomes if outage_started <= o.started < outage_ended]
    accepted_alerts = {o.dedup_key for o in outcomes if o.kind == "alert" and o.status == 201}
    stored = Alert.objects.filter(tenant=world_a.tenant, kind="tamper").count()
    p99 = percentile(sorted(o.seconds for o in during), 0.99)
    p99_before = percentile(sorted(o.seconds for o in before), 0.99)
    with capsys.disabled():
        print(f"\n[redis outage {OUTAGE_SECONDS}s] all: {summary(outcomes)}")
        print(f"[redis outage {OUTAGE_SECONDS}s] before: {summary(before)}")
        print(f"[redis outage {OUTAGE_SECONDS}s] during: {summary(during)}")
        print(f"[redis outage {OUTAGE_SECONDS}s] alerts accepted={len(accepted_alerts)} stored={stored} "
              f"lost={len(accepted_alerts) - stored} outbox rows={Notification.objects.count()}")
    assert len(during) >= OUTAGE_SECONDS * 15
    assert {o.status for o in outcomes} <= {200, 201, 202}, summary(outcomes)
    assert stored == len(accepted_alerts)
    assert p99 <= max(P99_BUDGET_SECONDS, 1.5 * p99_before), f"before: {summary(before)}; during: {summary(during)}"
    assert max(o.seconds for o in during) < 1.0, summary(during)
