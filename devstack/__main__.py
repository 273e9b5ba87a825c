"""`python -m devstack run|test|env|stop`: what `make run`, `make test` and `make stop` do.

run   find or start PostgreSQL and Redis, migrate, install the periodic tasks, seed the
      demo tenants, then run web, stream, worker, beat, the watchdog and Flower in the
      foreground: a crashed child is restarted with backoff; Ctrl-C stops every child
      and the embedded servers this run started.
test  find or start the same servers, then ruff, import-linter and the pytest suite (it
      ends with the 25 slowest tests), in a namespace of its own (database, Redis key
      prefixes, Celery queues) per checkout and run, so two runs at once on one machine
      never see each other's data or tasks.
env   print the resolved DATABASE_URL / REDIS_URL as shell exports.
stop  stop the embedded PostgreSQL and Redis under var/ (whoever started them).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from devstack import mosquitto, processes, services
from devstack.services import ROOT, ServiceError, ensure_postgres, ensure_redis, log

SLOWEST_TESTS_SHOWN = 25


def _prepare_environment(*, db_name: str, redis_db: int) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = ensure_postgres(db_name)
    env["REDIS_URL"] = ensure_redis(redis_db)
    env.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def command_run(_args) -> int:
    try:
        env = _prepare_environment(db_name="tocsin", redis_db=0)
        # The demo fleet enrols 30 devices from this one address; production keeps 20/hour per IP.
        env.setdefault("RATE_LIMIT_ENROLL", "1000/hour")
        # seed_demo creates this tenant; the watchdog pages it when the platform stops.
        env.setdefault("TOCSIN_OPERATOR_TENANT", "tocsin-ops")
        _manage(env, "migrate", "--noinput", "-v", "0")
        _manage(env, "collectstatic", "--noinput", "-v", "0")
        _manage(env, "setup_periodic_tasks")
        _manage(env, "seed_demo")
        mosquitto.prepare_run(env)
        return processes.run_foreground(env)
    finally:
        services.stop_started()


def _checkout_id() -> str:
    import hashlib

    return hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]


def _run_namespace() -> str:
    """One name per checkout and run: its database, Redis key prefixes and Celery queues."""
    return f"tocsin_{_checkout_id()}_{os.getpid()}"


def _isolate_run(env: dict[str, str], namespace: str) -> None:
    """Every Redis key of this run (cache, throttles, event streams, broker queues and
    fanout channels) under the run's own prefix, on whichever Redis database is used."""
    env["CACHE_KEY_PREFIX"] = f"{namespace}-cache"
    env["TOCSIN_REALTIME_PREFIX"] = f"{namespace}-rt"
    env["CELERY_BROKER_KEY_PREFIX"] = f"{namespace}-celery:"


def _ensure_debian_package(*, command: str, package: str, purpose: str) -> None:
    """Install a Debian package a test needs when its command is missing (CI machines start
    without it). Without root or apt that test skips, saying why."""
    import shutil

    if shutil.which(command):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log(f"{command} is missing and cannot be installed here; {purpose} will be skipped")
        return
    log(f"installing {package} for {purpose} (apt-get)")
    quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
    result = subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False, **quiet)
    if result.returncode != 0:
        log(f"could not install {package}; {purpose} will be skipped")


def ensure_chromium() -> None:
    """The browser test drives Debian's chromium through Playwright."""
    _ensure_debian_package(command="chromium", package="chromium", purpose="the browser test")


def ensure_pdftoppm() -> None:
    """The report tests render PDF pages to PNG with poppler's pdftoppm."""
    _ensure_debian_package(command="pdftoppm", package="poppler-utils", purpose="rendering report pages")


def command_test(args) -> int:
    namespace = _run_namespace()
    env: dict[str, str] | None = None
    try:
        env = _prepare_environment(db_name=namespace, redis_db=15)
        if not os.environ.get("DATABASE_URL"):
            services.drop_stale_run_databases(env["DATABASE_URL"], prefix=f"tocsin_{_checkout_id()}_")
        _isolate_run(env, namespace)
        return _run_checks(env, args)
    finally:
        if env is not None:
            services.forget_run(env, namespace=namespace, drop_databases=not os.environ.get("DATABASE_URL"))
        services.stop_started()


def _run_checks(env: dict[str, str], args) -> int:
    ensure_chromium()
    ensure_pdftoppm()
    mosquitto.ensure_mosquitto()
    steps = [
        ("ruff", [sys.executable, "-m", "ruff", "check", "."]),
        ("import-linter", [os.path.join(os.path.dirname(sys.executable), "lint-imports")]),
        # --create-db: a schema left by an older checkout must never be reused.
        # --durations: the slowest tests, so what a test costs stays in view.
        ("pytest", [sys.executable, "-m", "pytest", "--create-db", f"--durations={SLOWEST_TESTS_SHOWN}",
                    *args.pytest_args]),
    ]
    for name, argv in steps:
        log(f"running {name}")
        result = subprocess.run(argv, cwd=ROOT, env=env)
        if result.returncode != 0:
            log(f"{name} failed (exit {result.returncode})")
            return result.returncode
    return 0


def command_stop(_args) -> int:
    services.stop_embedded()
    return 0


def command_env(_args) -> int:
    env = _prepare_environment(db_name="tocsin", redis_db=0)
    for key in ("DATABASE_URL", "REDIS_URL"):
        print(f"export {key}='{env[key]}'")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run").set_defaults(handler=command_run)
    test = sub.add_parser("test")
    test.add_argument("pytest_args", nargs="*")
    test.set_defaults(handler=command_test)
    sub.add_parser("env").set_defaults(handler=command_env)
    sub.add_parser("stop").set_defaults(handler=command_stop)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ServiceError as exc:
        log(f"error: {exc}")
        return 2
    except subprocess.CalledProcessError as exc:
        log(f"error: {' '.join(map(str, exc.cmd))} exited with {exc.returncode}")
        return exc.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
