"""Whole flows across real processes: a Celery worker on the test database and broker.
The helpers the tests call (``wait_until``, ``FAST_RETRIES``) are in tests/support/flows.py."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings


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
