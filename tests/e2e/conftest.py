"""Whole flows across real processes: a Celery worker on the test database and broker."""

from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings

from tests.notifications.conftest import make_channel, make_policy, raise_alert, real_providers  # noqa: F401

FAST_RETRIES = {"TOCSIN_NOTIFY_RETRY_BASE_SECONDS": "0.2", "TOCSIN_NOTIFY_RETRY_MAX_SECONDS": "1"}


@pytest.fixture(autouse=True)
def _empty_test_queues():
    """Messages left in the test broker by earlier tests name rows that no longer exist.
    Only this run's keys go (its broker key prefix, set per run by `make test`): another run
    on the same Redis database keeps its queues."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    prefix = settings.CELERY_BROKER_KEY_PREFIX
    if not prefix:
        client.flushdb()
        return
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout}s")
