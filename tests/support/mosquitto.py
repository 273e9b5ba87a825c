"""A private Mosquitto 2 for tests: on a free port, with the config Tocsin generates."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class PrivateBroker:
    def __init__(self, directory: Path, port: int | None = None):
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = directory / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        from apps.iot.broker import write_broker_files

        return write_broker_files(directory=self.directory, port=self.port)

    def start(self, *, write: bool = True) -> PrivateBroker:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        config = self.write_config() if write else self.directory / "mosquitto.conf"
        log = open(self.log_path, "ab")  # noqa: SIM115  (closed with the process)
        self.process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=log)
        (self.directory / "mosquitto.pid").write_text(str(self.process.pid))
        deadline = time.monotonic() + 10
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        return self

    def reload(self) -> None:
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class BridgeProcess:
    """`manage.py mqtt_bridge` as a child process on the test database and broker."""

    def __init__(self, log_path: Path, broker: PrivateBroker, *, client_id: str = "test-bridge-1",
                 shared: bool = True):
        self.shared = shared
        self.log_path = log_path
        self.broker = broker
        self.client_id = client_id
        self.process: subprocess.Popen | None = None

    def start(self) -> BridgeProcess:
        import sys

        from tests.support.processes import ROOT, child_environment

        env = child_environment(MQTT_URL=self.broker.url, MQTT_BROKER_DIR=str(self.broker.directory),
                                LOG_LEVEL="INFO")
        self._log = open(self.log_path, "ab")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen([sys.executable, "manage.py", "mqtt_bridge", "--client-id", self.client_id,
                                         "--shared", "yes" if self.shared else "no"],
                                        cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
