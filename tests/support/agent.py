"""Plain helpers for the device agent's tests: ports, polling, JSON over loopback HTTP, configs
and real agent subprocesses.

Django-free, like the agent: the agent's tests run without the server's conftest (see
device_agent/README.md), and the end-to-end tests against a live Tocsin use the same pieces.
Fixtures built on these are in tests/device_agent/conftest.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from device_agent.config import AgentConfig, LoadedConfig
from tests.support.lifetime import die_with_parent

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll until ``condition()`` is truthy; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def get_json(url: str, timeout: float = 2.0) -> Any:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as answer:
        return json.loads(answer.read())


def post_json(url: str, body: Any, timeout: float = 10.0) -> tuple[int, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(  # noqa: S310 (the tests' own loopback URLs)
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    try:
        with opener.open(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as answer:
        return answer.code, json.loads(answer.read())


class FakeSession:
    """Answers ``fetch_me`` like DeviceSession, for tests about the site config, not HTTP."""

    def __init__(self, me: dict) -> None:
        self.me = me

    def fetch_me(self, timeout: float | None = None) -> dict:
        return self.me


def loaded(config: AgentConfig) -> LoadedConfig:
    return LoadedConfig(config=config)


def write_config(path: Path, **values: Any) -> Path:
    path.write_text(json.dumps(values))
    return path


def agent_env(**extra: str) -> dict[str, str]:
    """The environment for an agent subprocess: this checkout first, no stray agent config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_AGENT_")}
    paths = [str(REPO_ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra)
    return env


class AgentProcess:
    """A real ``python -m device_agent`` subprocess (or another ``module`` of this checkout,
    such as the fleet simulator), always killed at the end of the test."""

    def __init__(self, args: list[str], log_path: Path, stdin: int | None = subprocess.DEVNULL,
                 env: dict[str, str] | None = None, module: str = "device_agent") -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=stdin, stdout=self._log, stderr=self._log, env=env or agent_env(),
            cwd=str(REPO_ROOT), preexec_fn=die_with_parent,
        )

    def write(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode("latin-1"))
        self.process.stdin.flush()

    def terminate(self, timeout: float = 20.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        self.kill()
        if self.process.stdin:
            self.process.stdin.close()
        self._log.close()

    def log_lines(self) -> list[dict]:
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                lines.append({"msg": raw})
        return lines
