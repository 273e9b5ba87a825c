"""The stream process, started for real (uvicorn) on the test Redis, and clients for it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.realtime.sse import SSEClient
from tests.support.lifetime import die_with_parent
from tests.support.processes import ROOT, child_environment

# One prefix per test session: streams, channel and tickets of this run are its own, even
# on a Redis shared with `make run` or another checkout's tests.
SESSION_PREFIX = f"tocsin-test-rt-{uuid.uuid4().hex[:8]}"
KEEPALIVE_SECONDS = 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StreamServer:
    """`uvicorn tocsin.asgi:application`, as `make run` and compose start it."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> StreamServer:
        uvicorn = os.path.join(os.path.dirname(sys.executable), "uvicorn")
        env = child_environment(TOCSIN_REALTIME_PREFIX=SESSION_PREFIX,
                                TOCSIN_STREAM_KEEPALIVE_SECONDS=str(KEEPALIVE_SECONDS))
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [uvicorn, "tocsin.asgi:application", "--host", "127.0.0.1", "--port", str(self.port),
             "--no-access-log", "--timeout-graceful-shutdown", "2"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"stream process exited:\n{self.read_log()[-3000:]}")
            if self.health().get("status") == "ok":
                return self
            time.sleep(0.1)
        raise TimeoutError(f"stream process not ready:\n{self.read_log()[-3000:]}")

    def health(self) -> dict:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return json.loads(response.read())
        except OSError:
            return {}

    def read_log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_records(self) -> list[dict]:
        return [json.loads(line) for line in self.read_log().splitlines() if line.startswith("{")]

    def connect(self, ticket: str | None, **kwargs) -> SSEClient:
        return SSEClient("127.0.0.1", self.port, ticket=ticket, **kwargs).open()

    def stop(self) -> None:
        """Ends every client's connection, as a crash or a deploy would (on the same port after)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="session")
def stream_server(tmp_path_factory, django_db_setup):
    server = StreamServer(tmp_path_factory.mktemp("stream") / "stream.log").start()
    yield server
    server.stop()


@pytest.fixture
def own_stream_server(tmp_path):
    """A stream process of the test's own, for tests that stop and restart it."""
    server = StreamServer(tmp_path / "stream.log").start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _session_prefix(settings):
    settings.TOCSIN_REALTIME_PREFIX = SESSION_PREFIX


@pytest.fixture
def ticket_for():
    """`ticket_for(user, tenant=None)` → a fresh ticket obtained through the API."""

    def _ticket(user, tenant=None) -> str:
        client = APIClient()
        client.force_authenticate(user=user)
        headers = {"HTTP_X_TENANT": tenant.public_id} if tenant is not None else {}
        response = client.post("/api/v1/stream/ticket/", **headers)
        assert response.status_code == 201, response.content
        return response.json()["ticket"]

    return _ticket
