"""The command line and a running agent, as real subprocesses against the stand-in server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from agent_tools.synthetic_licences import SyntheticLicence
from device_agent.cli import enrolment_input, enrolment_label
from device_agent.config import AgentConfig
from device_agent.outbox import SCAN, NewItem, Outbox
from tests.device_agent.standin_server import StandinServer
from tests.support.agent import (
    REPO_ROOT,
    AgentProcess,
    agent_env,
    free_port,
    get_json,
    wait_for,
    write_config,
)

ADULT = SyntheticLicence("ZEBULON", "QUINCEY", date(1990, 3, 4), date(2099, 1, 1), "D8765432")
MINOR = SyntheticLicence("YOUNG", "PAT", date.today() - timedelta(days=17 * 365), date(2099, 1, 1),
                         "Y1234567")


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "device_agent", *args], capture_output=True,
                          text=True, env=env or agent_env(), cwd=str(REPO_ROOT), timeout=60)


def log_messages(stderr: str) -> list[str]:
    return [json.loads(line)["msg"] for line in stderr.splitlines() if line.startswith("{")]


@pytest.fixture
def config_path(tmp_path: Path, standin: StandinServer) -> Path:
    return write_config(tmp_path / "config.json", api_base_url=standin.url,
                        state_dir=str(tmp_path / "state"), status_port=free_port(),
                        location_id="loc-1", heartbeat_interval_seconds=3600,
                        request_timeout_seconds=2, shutdown_flush_seconds=2)


def test_enrolment_input_from_qr_arguments_or_environment() -> None:
    config = AgentConfig(location_id="loc-config")
    qr = json.dumps({"setup_token": "tok", "location_id": "loc-qr"})
    assert enrolment_input(None, None, qr, {}, config) == ("tok", "loc-qr")
    assert enrolment_input("arg", None, None, {"TOCSIN_AGENT_QR": qr}, config) == (
        "arg", "loc-config")
    assert enrolment_input(None, None, None, {"TOCSIN_AGENT_SETUP_TOKEN": "env"}, config) == (
        "env", "loc-config")
    assert enrolment_input(None, None, None, {}, config) is None
    with pytest.raises(ValueError, match="not JSON"):
        enrolment_input(None, None, "{oops", {}, config)
    with pytest.raises(ValueError, match="location id"):
        enrolment_input("tok", None, None, {}, AgentConfig())


def test_enroll_with_the_qr_json_then_status(config_path: Path, standin: StandinServer) -> None:
    token = standin.state.issue_setup_token("loc-1")
    done = run_cli("enroll", "--config", str(config_path), "--qr",
                   json.dumps({"setup_token": token, "location_id": "loc-1"}))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["device_id"] == "dev-1"
    assert token not in done.stderr, "setup tokens are never logged"
    assert (config_path.parent / "state" / "site.json").exists()
    status = json.loads(run_cli("status", "--config", str(config_path)).stdout)
    assert status["registered"] is True and status["running"] is False
    assert status["device_id"] == "dev-1" and status["pending"] == 0


def test_the_devices_place_comes_from_the_argument_the_qr_or_the_config() -> None:
    qr = json.dumps({"setup_token": "tok", "location_id": "loc", "location_label": "Room 306"})
    config = AgentConfig(location_label="Room 307")
    assert enrolment_label("Room 305", qr, {}, config) == "Room 305"
    assert enrolment_label(None, qr, {}, config) == "Room 306"
    assert enrolment_label(None, None, {"TOCSIN_AGENT_QR": qr}, AgentConfig()) == "Room 306"
    assert enrolment_label(None, "{oops", {}, config) == "Room 307"
    assert enrolment_label(None, None, {}, AgentConfig()) is None


def test_enroll_sends_the_qrs_location_label(config_path: Path, standin: StandinServer) -> None:
    token = standin.state.issue_setup_token("loc-1")
    done = run_cli("enroll", "--config", str(config_path), "--qr",
                   json.dumps({"setup_token": token, "location_id": "loc-1",
                               "location_label": "Room 305"}))
    assert done.returncode == 0, done.stderr
    assert standin.state.location_labels == ["Room 305"]


def test_enroll_failures_have_exit_codes(config_path: Path, tmp_path: Path) -> None:
    refused = run_cli("enroll", "--config", str(config_path), "--setup-token", "wrong")
    assert refused.returncode == 3 and "enrolment refused" in log_messages(refused.stderr)
    offline = write_config(tmp_path / "offline.json", state_dir=str(tmp_path / "s2"),
                           api_base_url=f"http://127.0.0.1:{free_port()}", location_id="loc-1")
    unreachable = run_cli("enroll", "--config", str(offline), "--setup-token", "t")
    assert unreachable.returncode == 4
    assert run_cli("enroll", "--config", str(config_path)).returncode == 2


def test_flush_without_a_running_agent_sends_the_queue(config_path: Path,
                                                       standin: StandinServer) -> None:
    env = agent_env(TOCSIN_AGENT_SETUP_TOKEN=standin.state.issue_setup_token("loc-1"))
    assert run_cli("enroll", "--config", str(config_path), env=env).returncode == 0
    scan_id = str(uuid.uuid4())
    outbox = Outbox(str(config_path.parent / "state" / "outbox.sqlite3"))
    outbox.put(NewItem(SCAN, scan_id, time.time(), {
        "scan_id": scan_id, "scanned_at": "2024-01-01T00:00:00Z", "birth_year": 1990, "age": 34,
        "is_underage": False, "is_valid": True, "document_expired": False}))
    outbox.close()
    flushed = run_cli("flush", "--config", str(config_path))
    assert flushed.returncode == 0, flushed.stderr
    assert json.loads(flushed.stdout)["acknowledged"] == 1
    assert list(standin.state.scans) == [scan_id]


def start(tmp_path: Path, config_path: Path, processes: list, env: dict | None = None,
          name: str = "agent") -> tuple[AgentProcess, str]:
    process = AgentProcess(["run", "--config", str(config_path)], tmp_path / f"{name}.log",
                           stdin=subprocess.PIPE, env=env)
    processes.append(process)
    port = json.loads(config_path.read_text())["status_port"]
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _status(base), timeout=15)
    return process, base


def _status(base: str) -> dict | None:
    try:
        return get_json(base + "/api/status")
    except OSError:
        return None


def test_run_enrols_from_the_environment_and_stops_on_sigterm_with_a_flush(
        tmp_path: Path, config_path: Path, standin: StandinServer, agent_processes) -> None:
    standin.state.site_config.update(batch_size=500, batch_timeout_seconds=3600)
    env = agent_env(TOCSIN_AGENT_SETUP_TOKEN=standin.state.issue_setup_token("loc-1"))
    agent, base = start(tmp_path, config_path, agent_processes, env=env)
    wait_for(lambda: _status(base)["registered"], timeout=15)
    agent.write(ADULT.barcode_text() * 3)
    wait_for(lambda: _status(base)["queued_by_kind"].get("scan") == 3, timeout=15)
    assert standin.state.scans == {} and standin.state.alerts == []
    started = time.monotonic()
    assert agent.terminate() == 0
    assert time.monotonic() - started < 10
    assert len(standin.state.scans) == 3, "the held batch was flushed on SIGTERM"
    assert "shutdown flush finished" in [line["msg"] for line in agent.log_lines()]


def test_sigterm_flush_is_bounded_when_the_server_hangs(
        tmp_path: Path, config_path: Path, standin: StandinServer, agent_processes) -> None:
    standin.state.site_config.update(batch_size=500, batch_timeout_seconds=3600)
    env = agent_env(TOCSIN_AGENT_SETUP_TOKEN=standin.state.issue_setup_token("loc-1"))
    agent, base = start(tmp_path, config_path, agent_processes, env=env)
    wait_for(lambda: _status(base)["registered"], timeout=15)
    agent.write(ADULT.barcode_text())
    wait_for(lambda: _status(base)["queued_by_kind"].get("scan") == 1, timeout=15)
    standin.state.fail("/api/v1/scans/batch/", 503, times=5, delay=30)
    started = time.monotonic()
    assert agent.terminate() == 0
    assert time.monotonic() - started < 8, "shutdown_flush_seconds=2 plus one request timeout"
    status = json.loads(run_cli("status", "--config", str(config_path)).stdout)
    assert status["queued_by_kind"] == {"scan": 1}, "kept for the next start"


def test_trouble_is_logged_clearly_and_the_agent_keeps_running(
        tmp_path: Path, standin: StandinServer, agent_processes) -> None:
    """Bad config, missing sensors, a malformed barcode, 500/429/timeout answers."""
    config_path = write_config(
        tmp_path / "config.json", api_base_url=standin.url, state_dir=str(tmp_path / "state"),
        status_port=free_port(), location_id="loc-1", heartbeat_interval_seconds=1,
        health_check_interval_seconds=1, request_timeout_seconds=1, batchsize=3,
        cpu_temp_threshold="hot")
    standin.state.site_config.update(heartbeat_interval_seconds=1)
    env = agent_env(TOCSIN_AGENT_SETUP_TOKEN=standin.state.issue_setup_token("loc-1"))
    standin.state.fail("/api/v1/heartbeats/", 500, times=1)
    standin.state.fail("/api/v1/heartbeats/", 429, times=1, retry_after=1)
    standin.state.fail("/api/v1/heartbeats/", 503, times=1, delay=2)
    agent, base = start(tmp_path, config_path, agent_processes, env=env)
    agent.write("this is not a licence")
    wait_for(lambda: len(standin.state.heartbeats) >= 2, timeout=30)
    agent.write(ADULT.barcode_text())
    wait_for(lambda: _status(base)["queued_by_kind"].get("scan") == 1, timeout=10)
    status = _status(base)
    assert len(status["config_problems"]) == 2 and status["status"] == "active"
    assert agent.terminate() == 0
    lines = agent.log_lines()
    problems = [line["problem"] for line in lines if line["msg"] == "configuration problem"]
    assert any("unknown key 'batchsize' (did you mean 'batch_size'?)" in p for p in problems)
    assert any("cpu_temp_threshold must be a number" in p for p in problems)
    errors = " ".join(line.get("error", "") for line in lines
                      if line["msg"] in ("send failed; will retry",
                                         "server unreachable; working offline, items stay queued"))
    assert "500" in errors and "429" in errors and "timed out" in errors
    assert any(line["msg"] == "barcode could not be read; scan not recorded" for line in lines)
    assert any(line["msg"] == "sensor source unavailable; reporting unknown" for line in lines)


def test_a_revoked_device_stops_sending_and_says_so(
        tmp_path: Path, config_path: Path, standin: StandinServer, agent_processes) -> None:
    env = agent_env(TOCSIN_AGENT_SETUP_TOKEN=standin.state.issue_setup_token("loc-1"))
    agent, base = start(tmp_path, config_path, agent_processes, env=env)
    wait_for(lambda: standin.state.heartbeats, timeout=15)
    standin.state.revoke("dev-1")
    agent.write(MINOR.barcode_text())  # its underage alert is sent at once
    wait_for(lambda: _status(base)["status"] == "revoked", timeout=15)
    status = _status(base)
    assert status["registered"] is False
    assert agent.terminate() == 0
    assert any(line["msg"].startswith("device revoked by the server") for line in agent.log_lines())
    assert standin.state.scans == {}


def test_enroll_and_status_go_through_a_running_agent(
        tmp_path: Path, config_path: Path, standin: StandinServer, agent_processes) -> None:
    agent, base = start(tmp_path, config_path, agent_processes)
    assert _status(base)["status"] == "unregistered"
    done = run_cli("enroll", "--config", str(config_path), "--setup-token",
                   standin.state.issue_setup_token("loc-1"))
    assert done.returncode == 0, done.stderr
    wait_for(lambda: standin.state.heartbeats, timeout=15)  # the running agent got going
    status = json.loads(run_cli("status", "--config", str(config_path)).stdout)
    assert status["running"] is True and status["device_id"] == "dev-1"
    refused = run_cli("enroll", "--config", str(config_path), "--setup-token", "wrong")
    assert refused.returncode == 3
    assert agent.terminate() == 0


def test_config_works_before_or_after_the_subcommand() -> None:
    from device_agent.cli import build_parser

    for argv in (["--config", "/x.json", "status"], ["status", "--config", "/x.json"],
                 ["--log-level", "DEBUG", "--config", "/x.json", "status"],
                 ["--config", "/y.json", "status", "--config", "/x.json"]):
        assert build_parser().parse_args(argv).config == "/x.json", argv
    assert build_parser().parse_args(["status"]).config is None
    assert build_parser().parse_args(["--log-level", "ERROR", "run"]).log_level == "ERROR"


def test_config_before_the_subcommand_is_used_by_a_real_run(config_path: Path,
                                                             tmp_path: Path) -> None:
    result = run_cli("--config", str(config_path), "status")
    assert "/var/lib/tocsin-agent" not in result.stdout + result.stderr
    assert str(tmp_path / "state") in result.stdout + result.stderr


def test_every_state_file_is_0600(tmp_path: Path) -> None:
    import os
    import stat

    os.umask(0o022)
    path = tmp_path / "outbox.sqlite3"
    item = NewItem(kind=SCAN, item_id="i-1", occurred_at=time.time(), payload={"n": 1})
    Outbox(str(path)).put(item)
    for name in os.listdir(tmp_path):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    path.chmod(0o644)
    Outbox(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
