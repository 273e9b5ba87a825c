"""A force-flush sent from the live board (real browser) makes the real agent flush and acknowledge.

The agent holds its scans for a big batch; staff press "Flush now" on its tile; the command
goes out in the agent's next heartbeat answer, the agent sends its outbox and acknowledges,
and the tile says "flush: acked". The ORM is not used while the browser runs (see
test_board_browser.py); the agent is watched through its own status API.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from apps.devices.models import Device, DeviceCommand
from apps.ingest.models import RuleSet, Scan
from tests.e2e.test_fleet_agent import _barcodes, _status
from tests.factories import SiteFactory
from tests.realtime.test_board_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _sign_in
from tests.support.fleet_agent import enrol_agent
from tests.support.processes import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_flush_from_the_board_makes_the_real_agent_flush_and_acknowledge(
        live_server, own_stream_server, settings, world_a, issue_setup_token, tmp_path):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip("Debian's chromium is not installed: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.support.agent import AgentProcess

    settings.TOCSIN_STREAM_PUBLIC_URL = own_stream_server.url
    settings.TOCSIN_DEVICE_DEFAULTS = {**settings.TOCSIN_DEVICE_DEFAULTS, "batch_size": 500,
                                       "batch_timeout_seconds": 3600}
    store = SiteFactory(tenant=world_a.tenant, kind="store", location_id="STORE-BOARD")
    RuleSet.objects.create(tenant=store.tenant, site=store, heartbeat_interval_seconds=1, underage_age=21)
    port = free_port()
    config = enrol_agent(tmp_path=tmp_path, api_url=live_server.url, site=store, hardware_id="pi-board-01",
                         setup_token=issue_setup_token(store), kind="scanner", status_port=port,
                         scanner_input="stdin", heartbeat_interval_seconds=1)
    device = Device.objects.get(hardware_id="pi-board-01")
    agent = AgentProcess(["run", "--config", str(config)], tmp_path / "agent.log", stdin=subprocess.PIPE)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _until(lambda: _status(port).get("batch_size") == 500, 30, "the agent running")
        agent.write(_barcodes(5))
        _until(lambda: _status(port).get("pending") == 5, 15, "5 scans held for a batch")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            board = _sign_in(browser, live_server.url, world_a.staff, viewport={"width": 1280, "height": 800})
            tile = board.locator(f'[data-device-id="{device.public_id}"]')
            tile.locator('button[data-command="flush"]').click()
            tile.locator(".command-status", has_text="flush: acked").wait_for(timeout=20000)
            board.screenshot(path=str(ARTIFACTS / "board-flush-acked.png"), full_page=True)
            assert _status(port).get("pending") == 0
            browser.close()
    finally:
        agent.stop()
    assert Scan.objects.filter(device=device).count() == 5
    command = DeviceCommand.objects.get(device=device, name="flush")
    assert command.status == "acked" and command.result["acknowledged"] >= 5
    assert command.created_by_label == world_a.staff.username
