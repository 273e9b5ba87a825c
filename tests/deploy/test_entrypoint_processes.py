"""The image's processes started the way docker/entrypoint.sh starts them, on this machine:
Flower refuses to start without credentials (and in production with the published
example), and once started refuses unauthenticated requests; gunicorn's own error pages
are JSON."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import ROOT, child_environment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
BIN = os.path.dirname(sys.executable)
CREDENTIALS = "ops:correct-horse-battery-staple"
PRODUCTION = {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": "p" * 60, "DJANGO_ALLOWED_HOSTS": "localhost",
              "TOCSIN_ENCRYPTION_KEYS": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
              "TOCSIN_AUDIT_KEYS": "k1:" + "a7" * 32}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(**overrides: str) -> dict[str, str]:
    env = child_environment(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **overrides)
    for name in [name for name in env if name.startswith("FLOWER_") and name not in overrides]:
        del env[name]
    return env


def _example_credentials() -> str:
    return re.search(r"^FLOWER_BASIC_AUTH=(\S+)", (ROOT / ".env.example").read_text(), re.MULTILINE).group(1)


def _get(url: str, *, credentials: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if credentials:
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class _Process:
    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path):
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.log_path = log_path
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_until(self, check, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exited {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(self.log_path.read_text()[-3000:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()


@pytest.fixture
def started(tmp_path):
    processes: list[_Process] = []

    def _start(argv: list[str], env: dict[str, str]) -> _Process:
        process = _Process(argv, env, tmp_path / f"process-{len(processes)}.log")
        processes.append(process)
        return process

    yield _start
    for process in processes:
        process.stop()


# --- Flower ------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [
    {},
    {"FLOWER_BASIC_AUTH": ""},
    {"FLOWER_BASIC_AUTH": "admin"},
    {"FLOWER_BASIC_AUTH": "admin:"},
    {"DJANGO_ENV": "production"},
])
def test_flower_does_not_start_without_credentials(overrides):
    result = subprocess.run(["sh", str(ENTRYPOINT), "flower"], cwd=ROOT, env=_env(**overrides),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 64 and "FLOWER_BASIC_AUTH" in result.stderr


@pytest.mark.parametrize("value", ["{example}", "ops:a-long-unique-password,{example}"])
def test_flower_does_not_start_in_production_with_the_published_example(value):
    credentials = value.format(example=_example_credentials())
    result = subprocess.run(["sh", str(ENTRYPOINT), "flower"], cwd=ROOT,
                            env=_env(DJANGO_ENV="production", FLOWER_BASIC_AUTH=credentials),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 64 and "example" in result.stderr


def test_flower_as_compose_runs_it_refuses_unauthenticated_requests(started):
    port = _free_port()
    flower = started(["sh", str(ENTRYPOINT), "flower"],
                     _env(**PRODUCTION, FLOWER_BASIC_AUTH=CREDENTIALS, FLOWER_ADDRESS="127.0.0.1",
                          FLOWER_PORT=str(port), FLOWER_URL_PREFIX="flower"))
    base = f"http://127.0.0.1:{port}/flower"
    flower.wait_until(lambda: _get(f"{base}/healthcheck")[0] == 200)
    for path in ("/", "/workers", "/tasks", "/api/workers", "/api/tasks", "/broker"):
        status, body = _get(f"{base}{path}")
        assert status == 401, (path, status)
        assert _get(f"{base}{path}", credentials="ops:wrong")[0] == 401
    assert _get(f"{base}/", credentials=_example_credentials())[0] == 401
    assert _get(f"{base}/workers", credentials=CREDENTIALS)[0] == 200
    status, body = _get(f"{base}/metrics")
    assert status == 200 and b"flower_" in body, body[:300]
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
    assert listening and all("127.0.0.1:" in line for line in listening.splitlines()), listening


# --- gunicorn ----------------------------------------------------------------------------------

def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_gunicorns_own_errors_are_json(started):
    port = _free_port()
    web = started([os.path.join(BIN, "gunicorn"), "tocsin.wsgi:application", "--bind", f"127.0.0.1:{port}",
                   "--config", "docker/gunicorn.conf.py", "--workers", "1", "--worker-class", "sync"], _env())
    web.wait_until(lambda: _get(f"http://127.0.0.1:{port}/healthz")[0] == 200)
    huge = _raw(port, b"GET /api/v1/alerts/ HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    head, _, body = huge.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ") and b"Content-Type: application/json" in head, head
    assert body == b'{"error": {"code": "request_header_fields_too_large", ' \
                   b'"message": "Request Header Fields Too Large.", "fields": null}}'
    long_line = _raw(port, b"GET /api/v1/" + b"x" * 5000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert long_line.startswith(b"HTTP/1.1 414 ") and b'"code": "uri_too_long"' in long_line
    garbage = _raw(port, b"NOT-HTTP\r\n\r\n")
    assert garbage.startswith(b"HTTP/1.1 400 ") and b"application/json" in garbage and b"NOT-HTTP" not in garbage
    assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
