"""Configuration: file, environment, and problems reported instead of ignored or fatal."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from device_agent.config import AgentConfig, load_config
from device_agent.site_config import EffectiveSettings, SiteConfigStore, site_config_from_me
from tests.support.agent import FakeSession


def test_defaults_when_the_default_file_is_absent(tmp_path: Path) -> None:
    loaded = load_config(None, env={"TOCSIN_AGENT_CONFIG": str(tmp_path / "none.json")})
    assert loaded.problems == (f"{tmp_path / 'none.json'}: config file not found; using defaults",)
    assert loaded.config == AgentConfig()
    assert loaded.config.batch_size == 10 and loaded.config.batch_timeout_seconds == 300


def test_file_values_and_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"batch_size": 25, "kind": "tablet", "offline_queue": False,
                                "api_base_url": "https://tocsin.example"}))
    loaded = load_config(str(path), env={"TOCSIN_AGENT_BATCH_SIZE": "40",
                                         "TOCSIN_AGENT_HEALTH_MONITORING": "off",
                                         "TOCSIN_AGENT_SETUP_TOKEN": "not-a-config-key"})
    assert loaded.problems == ()
    config = loaded.config
    assert (config.batch_size, config.kind, config.offline_queue) == (40, "tablet", False)
    assert config.health_monitoring is False
    assert config.api_base_url == "https://tocsin.example"


def test_unknown_keys_and_wrong_types_are_reported_and_fall_back(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"batchsize": 5, "batch_size": "10", "kind": "toaster",
                                "batch_upload": 1, "status_port": 70000, "location_id": None}))
    loaded = load_config(str(path), env={"TOCSIN_AGENT_RETRY_ATTEMPTS": "many",
                                         "TOCSIN_AGENT_COLOUR": "blue"})
    problems = "\n".join(loaded.problems)
    assert "unknown key 'batchsize' (did you mean 'batch_size'?)" in problems
    assert "batch_size must be an integer, got str '10'" in problems
    assert "kind must be one of scanner, tablet, gateway, got 'toaster'" in problems
    assert "batch_upload must be a boolean, got int 1" in problems
    assert "status_port must be between 0 and 65535" in problems
    assert "TOCSIN_AGENT_RETRY_ATTEMPTS must be an integer, got 'many'" in problems
    assert "unknown key 'TOCSIN_AGENT_COLOUR'" in problems
    assert len(loaded.problems) == 7
    assert loaded.config == AgentConfig()


def test_malformed_json_is_reported_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"batch_size": 10,\n "kind": }')
    loaded = load_config(str(path), env={})
    assert len(loaded.problems) == 1
    assert "invalid JSON at line 2 column" in loaded.problems[0]
    assert loaded.config == AgentConfig()


def test_a_gateway_without_a_source_is_a_problem(tmp_path: Path) -> None:
    loaded = load_config(str(tmp_path / "absent.json"), env={"TOCSIN_AGENT_KIND": "gateway"})
    assert any("telemetry_command nor telemetry_file" in p for p in loaded.problems)


def test_the_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "device_agent/deploy/config.example.json"
    loaded = load_config(str(example), env={})
    assert loaded.problems == ()
    keys = {f.name for f in dataclasses.fields(AgentConfig)}
    assert set(json.loads(example.read_text())) <= keys


def test_server_config_overrides_local_values_where_it_speaks(tmp_path: Path) -> None:
    site = SiteConfigStore(str(tmp_path))
    settings = EffectiveSettings(AgentConfig(batch_size=7, heartbeat_interval_seconds=15), site)
    assert settings.batch_size == 7 and settings.heartbeat_interval_seconds == 15
    me = {"config": {
        "batch_size": 50, "batch_timeout_seconds": 30, "underage_age": 18,
        "heartbeat_interval_seconds": "soon", "allowed_bssids": ["AA:BB:CC:DD:EE:FF"],
        "scan_hash_key": "zz"}}
    config, problems = site_config_from_me(me)
    assert problems == (
        "devices/me config.heartbeat_interval_seconds has an unusable value; ignored",
        "devices/me config.scan_hash_key is not hex; ignored",
    )
    site.refresh(FakeSession(me))
    assert SiteConfigStore(str(tmp_path)).config == config, "cached for the next start"
    assert settings.batch_size == 50
    assert settings.batch_timeout_seconds == 30
    assert settings.heartbeat_interval_seconds == 15
    assert config.allowed_bssids == ("aa:bb:cc:dd:ee:ff",)
    assert settings.send_policy().batch_size == 50
