"""The real agent enrolled against a live Tocsin, for the shadow/command/backlog/clock tests.

`enrol_agent` runs `python -m device_agent enroll` and returns the config path; `AgentProcess`
(tests/support/agent.py) runs it. `FaultyProxy` sits between agent and server and
answers 503 on the paths a test names (the server's scan ingest is down, heartbeats still
pass): the far side of a network boundary, so it is the one thing stood in. `skewed_clock_env`
starts the agent with its wall clock off by a given number of seconds, as on a Pi without
a real-time clock (a `sitecustomize` on the agent's path shifts `time.time`; the agent's own
code is untouched).
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.agent import REPO_ROOT, agent_env, write_config


def enrol_agent(*, tmp_path: Path, api_url: str, site, setup_token: str, hardware_id: str, env=None,
                **config) -> Path:
    path = write_config(tmp_path / "agent.json", api_base_url=api_url, device_model="pi-4b",
                        location_id=site.location_id, state_dir=str(tmp_path / "state"),
                        hardware_id=hardware_id, **config)
    qr = json.dumps({"setup_token": setup_token, "location_id": site.location_id})
    done = subprocess.run([sys.executable, "-m", "device_agent", "enroll", "--config", str(path), "--qr", qr],
                          cwd=REPO_ROOT, env=env or agent_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return path


def skewed_clock_env(tmp_path: Path, offset_seconds: float) -> dict[str, str]:
    hook = tmp_path / "skewed-clock"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(
        "import time as _time\n"
        f"_OFFSET = {float(offset_seconds)!r}\n"
        "_real = _time.time\n"
        "_time.time = lambda: _real() + _OFFSET\n")
    env = agent_env()
    env["PYTHONPATH"] = f"{hook}:{env['PYTHONPATH']}"
    return env


class FaultyProxy:
    """HTTP forwarder to `upstream`; paths in `failing` answer 503 with Retry-After: 1."""

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.failing: set[str] = set()
        self.forwarded: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.split("?")[0] in proxy.failing:
                    payload = json.dumps({"error": {"code": "unavailable", "message": "ingest down"}}).encode()
                    self.send_response(503)
                    self.send_header("Retry-After", "1")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                proxy.forwarded.append(self.path)
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream_conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = upstream_conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream_conn.close()

            do_GET = do_POST = do_PATCH = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
