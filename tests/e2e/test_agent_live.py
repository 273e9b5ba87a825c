"""The real device agent against a live Tocsin server: enrolment from the QR JSON,
heartbeats, batched scans, an immediate underage alert, and revocation."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import date

import pytest

from agent_tools.synthetic_licences import random_licence
from apps.alerts.models import Alert
from apps.audit.services import Actor
from apps.devices.models import Device
from apps.devices.services import device_revoke
from apps.ingest.models import HealthSample, RuleSet, Scan
from tests.factories import SiteFactory
from tests.support.agent import REPO_ROOT, AgentProcess, agent_env, get_json, write_config
from tests.support.flows import wait_until
from tests.support.processes import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def store(world_a):
    return SiteFactory(tenant=world_a.tenant, kind="store", location_id="STORE-LIVE")


def _config(tmp_path, live_server, store, status_port):
    return write_config(tmp_path / "agent.json", api_base_url=live_server.url, kind="scanner",
                        device_model="pi-4b", location_id=store.location_id, state_dir=str(tmp_path / "state"),
                        status_port=status_port, batch_size=3, batch_timeout_seconds=1,
                        heartbeat_interval_seconds=1, scanner_input="stdin", hardware_id="pi-live-0001")


def test_agent_enrols_reports_and_stops_when_revoked(live_server, store, issue_setup_token, tmp_path, settings):
    # The server's word wins over the agent's file: tell it to batch and beat quickly.
    settings.TOCSIN_DEVICE_DEFAULTS = {**settings.TOCSIN_DEVICE_DEFAULTS, "batch_size": 3,
                                       "batch_timeout_seconds": 1}
    RuleSet.objects.create(tenant=store.tenant, site=store, heartbeat_interval_seconds=1, underage_age=21)
    qr = json.dumps({"setup_token": issue_setup_token(store, max_uses=2), "location_id": store.location_id,
                     "location_label": "Till 2"})
    status_port = free_port()
    config = _config(tmp_path, live_server, store, status_port)
    enrolled = subprocess.run([sys.executable, "-m", "device_agent", "enroll", "--config", str(config), "--qr", qr],
                              cwd=REPO_ROOT, env=agent_env(), capture_output=True, text=True, timeout=60)
    assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
    device = Device.objects.get(hardware_id="pi-live-0001")
    assert device.status == "active" and device.site == store
    assert device.location_label == "Till 2"  # the QR's place, sent by the agent

    agent = AgentProcess(["run", "--config", str(config)], tmp_path / "agent.log", stdin=subprocess.PIPE)
    try:
        rng, today = random.Random(7), date.today()
        adults = [random_licence(rng, today) for _ in range(3)]
        minor = random_licence(rng, today, underage=True)
        agent.write("".join(card.barcode_text() for card in adults))
        wait_until(lambda: Scan.objects.filter(device=device).count() == 3, timeout=30, what="3 scans in a batch")
        agent.write(minor.barcode_text())
        alert = wait_until(lambda: Alert.objects.filter(device=device, kind="underage").first(), timeout=15,
                           what="the immediate underage alert")
        assert alert.severity == "critical" and alert.source == "device"
        wait_until(lambda: HealthSample.objects.filter(device=device).exists(), timeout=30, what="a heartbeat")
        # Nothing personal reached the server: the scans carry only the reduced record.
        stored = Scan.objects.filter(device=device).values()[0]
        assert {adults[0].family_name, adults[0].document_number}.isdisjoint(map(str, stored.values()))

        device_revoke(device=device, actor=Actor.system("test"), reason="stolen")
        status = wait_until(lambda: _status_if(status_port, "revoked"), timeout=40, what="the agent noticing")
        assert status["registered"] is False
        assert any("revoked" in json.dumps(line).lower() for line in agent.log_lines())
    finally:
        agent.stop()


def _status_if(port: int, wanted: str):
    try:
        status = get_json(f"http://127.0.0.1:{port}/api/status")
    except OSError:
        return None
    return status if status.get("status") == wanted else None
