"""A task started while serving a request logs that request's id (real worker)."""

from __future__ import annotations

import json

import pytest

from apps.common.queueing import enqueue
from apps.common.request_context import reset_request_id, set_request_id

pytestmark = pytest.mark.e2e


def test_request_id_follows_the_work_into_the_task(celery_worker_process):
    worker = celery_worker_process(concurrency=1)
    token = set_request_id("req-trace-0123456789")
    try:
        assert enqueue("tocsin.housekeeping.ping")
    finally:
        reset_request_id(token)

    worker.wait_for_log("ping received")
    lines = [json.loads(line) for line in worker.read_log().splitlines() if line.startswith("{")]
    ping_lines = [line for line in lines if line.get("message") == "ping received"]
    assert ping_lines and ping_lines[0]["request_id"] == "req-trace-0123456789"
