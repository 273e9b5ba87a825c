"""The Redis circuit breaker: a down server costs one short wait, then nothing, until a
probe sees it answer again (a private redis-server, stopped and restarted by the test)."""

from __future__ import annotations

import time

import pytest
import redis

from apps.common import queueing
from apps.common.redis_guard import CircuitOpenError, breaker_for, reset_breakers
from tests.support.processes import RedisServerProcess


@pytest.fixture(autouse=True)
def _fresh_breakers(settings):
    settings.TOCSIN_REDIS_PROBE_INTERVAL_SECONDS = 0.1
    reset_breakers()
    yield
    reset_breakers()


def _ping_through(breaker, url: str) -> None:
    with breaker.guard():
        redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.5).ping()


def test_a_down_server_opens_the_breaker_and_a_probe_closes_it_when_it_is_back(tmp_path):
    server = RedisServerProcess(tmp_path).start()
    breaker = breaker_for(server.url)
    _ping_through(breaker, server.url)
    server.stop()

    with pytest.raises(redis.ConnectionError):
        _ping_through(breaker, server.url)
    assert breaker.is_open
    started = time.perf_counter()
    for _ in range(100):
        with pytest.raises(CircuitOpenError):
            _ping_through(breaker, server.url)
    assert time.perf_counter() - started < 0.05  # 100 refused uses, no waiting at all

    RedisServerProcess(tmp_path, port=server.port).start()
    deadline = time.monotonic() + 5
    while breaker.is_open and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not breaker.is_open
    _ping_through(breaker, server.url)


def test_a_script_error_is_not_an_outage(settings):
    breaker = breaker_for(settings.REDIS_URL)
    with pytest.raises(redis.ResponseError), breaker.guard():
        redis.Redis.from_url(settings.REDIS_URL).execute_command("NO-SUCH-COMMAND")
    assert not breaker.is_open


def test_enqueue_while_the_broker_circuit_is_open_returns_false_at_once(settings):
    settings.TOCSIN_REDIS_PROBE_INTERVAL_SECONDS = 30  # the probe must not close it during the test
    from celery import current_app

    breaker_for(current_app.conf.broker_url).record_failure(ConnectionRefusedError())
    started = time.perf_counter()
    for _ in range(50):
        assert queueing.enqueue("tocsin.notify.sweep_outbox") is False
    assert (time.perf_counter() - started) / 50 < 0.002


def test_while_the_cache_circuit_is_open_limits_keep_their_split_and_answer_fast(settings, world_a,
                                                                                  device_client):
    """Report limits fail open, credential limits fail closed (503): both without waiting."""
    settings.TOCSIN_REDIS_PROBE_INTERVAL_SECONDS = 30
    breaker_for(settings.CACHES["default"]["LOCATION"]).record_failure(ConnectionRefusedError())
    from django.utils import timezone
    from rest_framework.test import APIClient

    _, device = device_client(world_a.site)
    started = time.perf_counter()
    reported = device.post("/api/v1/heartbeats/", {"sent_at": timezone.now().isoformat()}, format="json")
    enrol = APIClient().post("/api/v1/devices/enroll/", {}, format="json")
    elapsed = time.perf_counter() - started
    assert reported.status_code == 202
    assert enrol.status_code == 503 and enrol.headers["Retry-After"]
    assert elapsed < 1.0
