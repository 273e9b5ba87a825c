"""The broker transport keeps one Redis client per pool, and sends what the stock one sends
(a real Redis; every key under this test's own prefix)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import redis
from celery import current_app
from django.conf import settings
from kombu import Connection, Exchange, Queue

from apps.common.broker_transport import Channel, Transport


@pytest.fixture
def prefix():
    prefix = f"test-transport-{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def _connection(prefix: str) -> Connection:
    return Connection(settings.CELERY_BROKER_URL, transport=settings.CELERY_BROKER_TRANSPORT,
                      transport_options={"global_keyprefix": prefix})


def test_the_platform_publishes_through_it():
    with current_app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
        assert isinstance(connection.default_channel, Channel)


def test_a_channel_builds_one_client_and_every_message_still_arrives(prefix):
    queue = Queue("transport-check", Exchange("transport-check"), routing_key="transport-check")
    with _connection(prefix) as connection:
        channel = connection.default_channel
        producer = connection.Producer(channel)
        for number in range(20):
            producer.publish({"n": number}, exchange=queue.exchange, routing_key="transport-check",
                             declare=[queue])
        client = channel._create_client()
        assert channel._create_client() is client
        assert redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(f"{prefix}transport-check") == 20
        received = []
        with connection.Consumer(queue, callbacks=[lambda body, message: (received.append(body["n"]),
                                                                          message.ack())]):
            while len(received) < 20:
                connection.drain_events(timeout=2)
        assert sorted(received) == list(range(20))


def test_after_a_fork_the_client_is_built_on_the_new_pool(prefix):
    with _connection(prefix) as connection:
        channel = connection.default_channel
        before = channel._create_client()
        channel._after_fork()  # what kombu runs in a forked child: the parent's pool is dropped
        after = channel._create_client()
        assert after is not before
        assert after.connection_pool is channel.pool is not before.connection_pool
        assert after.ping()


def test_a_tls_broker_url_keeps_kombus_own_transport():
    script = ("import django, os; os.environ['CELERY_BROKER_URL'] = 'rediss://127.0.0.1:6380/0'; django.setup(); "
              "from django.conf import settings; print(getattr(settings, 'CELERY_BROKER_TRANSPORT', None))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "tocsin.settings"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "None"
