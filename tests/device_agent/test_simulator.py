"""The fleet simulator: waits for the server, enrols stable devices, stops promptly."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from agent_tools.fleet import FleetCounters, SetupEntry, hardware_id_for, load_setup_entries
from agent_tools.simulated_device import SimulatedDevice
from tests.device_agent.standin_server import StandinServer, StandinState
from tests.support.agent import AgentProcess, free_port, wait_for

SIMULATOR = "agent_tools.simulator"  # run with -m, as `make run` starts the demo fleet


def tokens_file(tmp_path: Path, state: StandinState) -> Path:
    entries = [
        {"setup_token": state.issue_setup_token("hotel-1"), "location_id": "hotel-1",
         "site_kind": "hotel", "tenant": "acme"},
        {"setup_token": state.issue_setup_token("store-1"), "location_id": "store-1",
         "site_kind": "store", "tenant": "acme"},
        {"setup_token": state.issue_setup_token("plant-1"), "location_id": "plant-1",
         "site_kind": "plant", "tenant": "sunco"},
    ]
    path = tmp_path / "setup_tokens.json"
    path.write_text(json.dumps(entries))
    return path


def test_setup_entries_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps([{"setup_token": "t", "location_id": "l", "site_kind": "zoo"}]))
    with pytest.raises(ValueError, match="unknown site_kind 'zoo'"):
        load_setup_entries(str(path))
    path.write_text(json.dumps([{"setup_token": "t", "location_id": "l", "site_kind": "hotel"}]))
    [entry] = load_setup_entries(str(path))
    assert entry.device_kind == "tablet"
    assert hardware_id_for(entry, 2) == "sim-l-002"


def test_the_fleet_waits_for_the_server_reports_and_restarts_as_the_same_devices(
        tmp_path: Path, agent_processes) -> None:
    state = StandinState()
    state.site_config.update(batch_size=1)  # the site's config wins: send every item at once
    port = free_port()
    args = ["--server", f"http://127.0.0.1:{port}", "--setup-tokens",
            str(tokens_file(tmp_path, state)), "--devices", "6", "--state-dir",
            str(tmp_path / "sim")]
    fleet = AgentProcess(args, tmp_path / "first.log", module=SIMULATOR)
    agent_processes.append(fleet)
    # The server is not up yet: the fleet says so and keeps trying (waited for, not slept on:
    # a loaded machine can take more than a second to start the agent).
    def retrying() -> bool:
        return any(line["msg"] == "server not reachable yet; retrying"
                   for line in fleet.log_lines())

    wait_for(retrying, timeout=20)
    server = StandinServer(state, port=port).start()
    try:
        wait_for(lambda: len(state.devices) == 6, timeout=20)
        kinds = Counter(device["kind"] for device in state.devices.values())
        assert kinds == {"tablet": 2, "scanner": 2, "gateway": 2}
        wait_for(lambda: len({h["device_id"] for h in state.heartbeats}) == 6, timeout=20)
        wait_for(lambda: state.scans and state.telemetry, timeout=30)
        started = time.monotonic()
        assert fleet.terminate() == 0
        assert time.monotonic() - started < 10
        assert any(line["msg"] == "server not reachable yet; retrying"
                   for line in fleet.log_lines())

        again = AgentProcess([*args, "--duration", "3"], tmp_path / "second.log", module=SIMULATOR)
        agent_processes.append(again)
        assert again.process.wait(20) == 0
        assert len(state.devices) == 6, "the same hardware ids: no new devices"
        assert state.renewals >= 6, "known devices renew with their key instead of enrolling"
    finally:
        server.stop()


def test_a_device_the_server_forgot_enrols_again_with_its_setup_token(tmp_path: Path) -> None:
    def run_once(state: StandinState) -> None:
        server = StandinServer(state).start()
        stop = threading.Event()
        entry = SetupEntry(state.issue_setup_token("store-9"), "store-9", "store")
        device = SimulatedDevice(server=server.url, entry=entry, index=0,
                                 state_root=str(tmp_path), stop=stop, counters=FleetCounters())
        device.start()
        try:
            wait_for(lambda: state.heartbeats, timeout=15)
        finally:
            stop.set()
            device.join(10)
            server.stop()

    first, after_reset = StandinState(), StandinState()
    run_once(first)
    run_once(after_reset)  # a fresh server database: the old device id means nothing there
    assert [d["hardware_id"] for d in after_reset.devices.values()] == ["sim-store-9-000"]
    assert (first.devices["dev-1"]["public_key"]
            == after_reset.devices["dev-1"]["public_key"]), "same key, same hardware id"
