"""Fixtures for the device agent's tests: a stand-in server, configs, agent subprocesses.

These tests need no Django. Run them alone with the command in device_agent/README.md
(``--confcutdir=tests/device_agent`` keeps the server's conftest out). The plain helpers
they use are in tests/support/agent.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from device_agent.config import AgentConfig
from tests.device_agent.standin_server import StandinServer, StandinState
from tests.support.agent import AgentProcess


@pytest.fixture
def standin() -> Iterator[StandinServer]:
    server = StandinServer(StandinState()).start()
    yield server
    server.stop()


@pytest.fixture
def make_config(tmp_path: Path, standin: StandinServer) -> Callable[..., AgentConfig]:
    """An AgentConfig pointing at the stand-in, with its state under tmp_path."""

    def build(**overrides: Any) -> AgentConfig:
        values: dict[str, Any] = {
            "api_base_url": standin.url,
            "state_dir": str(tmp_path / "state"),
            "status_port": 0,
            "request_timeout_seconds": 2.0,
            "location_id": "loc-1",
            "hardware_id": "hw-test-1",
        }
        values.update(overrides)
        return AgentConfig(**values)

    return build


@pytest.fixture
def agent_processes() -> Iterator[list[AgentProcess]]:
    """Register AgentProcess objects here so they are killed whatever the test does."""
    processes: list[AgentProcess] = []
    yield processes
    for process in processes:
        process.stop()
