"""The request id of a device's HTTP request is in the worker's log line for the delivery
that request caused: one id follows the work from the API into Celery."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from tests.support.flows import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_request_id_reaches_the_delivery_task(world_a, device_client, make_channel, make_policy,
                                              celery_worker_process):
    make_policy(world_a, [(0, [make_channel(world_a, "sms")])])  # console provider: logs the delivery
    worker = celery_worker_process()
    _, client = device_client(world_a.site, kind="tablet")
    response = client.post("/api/v1/device-alerts/", {"kind": "breach", "occurred_at": timezone.now().isoformat()},
                           format="json", HTTP_X_REQUEST_ID="req-from-tablet-0042")
    assert response.status_code == 201 and response["X-Request-ID"] == "req-from-tablet-0042"

    def delivery_lines():
        lines = [json.loads(line) for line in worker.read_log().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("message") == "console delivery"]

    (line,) = wait_until(delivery_lines, timeout=30, what="the console delivery log line")
    assert line["request_id"] == "req-from-tablet-0042"
    assert "+351" not in json.dumps(line)  # the phone number is not logged
