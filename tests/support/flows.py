"""Helpers for whole flows across real processes (tests/e2e): polling for what a worker or a
server does, and retry settings short enough for a test to see a retry happen."""

from __future__ import annotations

import time

FAST_RETRIES = {"TOCSIN_NOTIFY_RETRY_BASE_SECONDS": "0.2", "TOCSIN_NOTIFY_RETRY_MAX_SECONDS": "1"}


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout}s")
