"""Chaos: under `make run` (python -m devstack run, its supervisor and every child, on the
test database and this run's Redis namespace), the Celery worker's main process is killed
with SIGKILL while devices report. Device requests keep succeeding, the supervisor logs
the crash and restarts the worker, and the new worker consumes again. Prints the figures.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time

import pytest

from apps.devices.device_tokens import issue_device_token
from apps.operations.models import Heartbeat
from tests.factories import DeviceFactory
from tests.support.flows import wait_until
from tests.support.load import DeviceLoad, summary
from tests.support.processes import ManagedProcess, child_environment, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def _worker_pids(text: str) -> list[int]:
    return [int(pid) for pid in re.findall(r"\[devstack\] worker started \(pid (\d+)\)", text)]


def test_killing_the_worker_under_make_run_restarts_it_and_devices_never_notice(world_a, tmp_path, capsys):
    tokens = [issue_device_token(DeviceFactory(site=world_a.site))[0] for _ in range(4)]
    web_port = free_port()
    env = child_environment(TOCSIN_WEB_PORT=str(web_port), TOCSIN_STREAM_PORT=str(free_port()),
                            TOCSIN_FLOWER_PORT=str(free_port()), TOCSIN_FLEET_DEVICES="0", WEB_CONCURRENCY="2",
                            TOCSIN_HEARTBEAT_SECONDS="1", LOG_FORMAT="plain")
    stack = ManagedProcess([sys.executable, "-m", "devstack", "run"], tmp_path / "make-run.log", env=env)
    stack.start(ready="worker started", timeout=180)
    load = None
    try:
        stack.wait_for_log(" ready.", timeout=90)  # celery's "celery@host ready."
        load = DeviceLoad(f"http://127.0.0.1:{web_port}", tokens, rate=20).start()
        time.sleep(3)
        (first_pid,) = _worker_pids(stack.read_log())
        os.kill(first_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        stack.wait_for_log("[devstack] worker exited with", timeout=20)
        text = stack.wait_for_log("[devstack] worker started", count=2, timeout=30)
        restarted_in = time.monotonic() - killed_at
        stack.wait_for_log(" ready.", count=2, timeout=90)
        consuming_again = time.monotonic() - killed_at
        wait_until(lambda: Heartbeat.objects.filter(kind="worker").exists(), timeout=20, what="worker heartbeat")
        time.sleep(2)
        outcomes = load.stop()
    finally:
        if load:
            load.stop()
        stack.stop(signal.SIGINT, timeout=60)
    second_pid = _worker_pids(text)[1]
    after_kill = [o for o in outcomes if o.started >= killed_at]
    refused = [o for o in outcomes if o.status not in (200, 201, 202)]
    with capsys.disabled():
        print(f"\n[worker SIGKILL under make run] all: {summary(outcomes)}")
        print(f"[worker SIGKILL under make run] after the kill: {summary(after_kill)}; succeeded="
              f"{len(after_kill) - len([o for o in refused if o.started >= killed_at])} refused={len(refused)}; "
              f"worker restarted in {restarted_in:.1f} s, consuming again after {consuming_again:.1f} s")
    assert second_pid != first_pid
    assert not refused, summary(refused)
    assert len(after_kill) > 40
    log = stack.read_log()
    assert "stopping every process" in log
    assert "web exited" not in log and "beat exited" not in log  # nothing else stopped with it
