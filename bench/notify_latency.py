"""Alert-to-notification latency and delivery throughput, against a real worker.

    .venv/bin/python bench/notify_latency.py [--rate 50] [--duration 20] [--burst 2000] [--storm 2000]

Starts its own stack on 127.0.0.1: a dedicated database (`tocsin_bench_notify`, migrated
here), a signed-webhook receiver standing in for the provider, and `celery -A workers
worker --concurrency 2`. Phase 1 raises critical alerts at a steady rate for a fixed time
and prints p50/p99/max from the commit of each alert to the receiver getting its request.
Phase 2 queues a burst of deliveries with the worker stopped, starts it, and prints
deliveries per second. Phase 3 (`--storm N`, 0 to skip) queues N non-critical deliveries
with the worker stopped, starts it, raises 20 critical alerts while it drains them, and
prints the critical ones' commit → provider latency. Between them, the floor: the same
worker draining as many no-op tasks, measured in the same run, so a figure taken on a busy
machine still says how far deliveries are from what Celery itself does there. Each phase
counts what was lost or delivered twice. Not a test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "tocsin_bench_notify"


def _prepare_database() -> None:
    from devstack.services import ensure_postgres, ensure_redis

    base = ensure_postgres(DB_NAME)
    _recreate(base)
    os.environ["DATABASE_URL"] = base
    os.environ.setdefault("REDIS_URL", ensure_redis(9).rsplit("/", 1)[0] + "/9")
    # A run's own broker keys: a message left by an earlier run (a retry due later) must not
    # reach this run's worker, nor this run's rows an earlier worker.
    os.environ["CELERY_BROKER_KEY_PREFIX"] = f"bench-notify-{os.getpid()}-{int(time.time())}:"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tocsin.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The webhook stand-in listens on 127.0.0.1, which deliveries refuse unless allowed.
    os.environ.setdefault("TOCSIN_ALLOW_PRIVATE_TARGETS", "true")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _recreate(url: str) -> None:
    """Every run starts from an empty database: rows an earlier run left pending (retries of a
    receiver long gone) would otherwise be delivered, and fail, in the middle of this one."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop {name!r}: only a database with 'bench' in its name is recreated")
    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def _world(receiver_url: str, secret: str):
    from apps.audit.services import Actor
    from apps.notifications.channels import channel_create
    from apps.notifications.policies import policy_save
    from apps.tenancy.models import Site, Tenant

    stamp = int(time.time())
    tenant = Tenant.objects.create(name=f"Bench {stamp}", slug=f"bench-{stamp}", vertical="hospitality")
    site = Site.objects.create(tenant=tenant, name="Bench hotel", location_id="BENCH", kind="hotel")
    channel = channel_create(tenant=tenant, name="hook", kind="webhook", target=receiver_url, secret=secret,
                             actor=Actor.system("bench"))
    policy_save(tenant=tenant, actor=Actor.system("bench"), name="all", steps=[{"delay_minutes": 0,
                                                                               "channels": [channel]}])
    return tenant, site


def _raise(tenant, site, key: str, severity: str = "critical"):
    from apps.alerts.services import alert_raise

    return alert_raise(tenant=tenant, kind="breach", dedup_key=key, severity=severity, summary=f"bench {key}",
                       source="rule", site=site).alert


def _print_tail(messages: list[dict], committed: dict[str, float], started_wall: float) -> None:
    """Where the slowest 1 % sat in the run: a warm-up, a pause at one moment, or spread out."""
    timed = sorted(((m["at"] - committed[m["json"]["alert_id"]]) * 1000, committed[m["json"]["alert_id"]])
                   for m in messages if m["json"]["alert_id"] in committed)
    worst = timed[-max(1, len(timed) // 100):]
    moments = sorted({round(at - started_wall, 1) for _, at in worst})
    print(f"  slowest 1 % ({len(worst)}, from {worst[0][0]:.0f} ms) committed at run seconds: "
          f"{', '.join(f'{m:.1f}' for m in moments[:12])}")


def _accounting(messages: list[dict], expected: int) -> str:
    per_alert: dict[str, int] = {}
    for message in messages:
        per_alert[message["json"]["alert_id"]] = per_alert.get(message["json"]["alert_id"], 0) + 1
    twice = sum(count - 1 for count in per_alert.values())
    return f"lost {max(0, expected - len(per_alert))}, sent twice {twice}"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="alerts per second in phase 1")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of phase 1")
    parser.add_argument("--burst", type=int, default=2000, help="deliveries queued for phase 2")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--storm", type=int, default=2000, help="non-critical deliveries queued in phase 3 (0: skip)")
    args = parser.parse_args()
    if args.rate <= 0 or args.duration <= 0 or not 0 < args.burst <= 20000:
        parser.error("rate and duration must be positive; burst between 1 and 20000")

    _prepare_database()
    from django.conf import settings
    from django.db import connection

    from tests.support.processes import WorkerProcess
    from tests.support.standins import WebhookReceiver

    receiver = WebhookReceiver()
    receiver.keep_alive = True  # as a real endpoint answers; the provider reuses its connection
    receiver.start()
    tenant, site = _world(receiver.url("/bench"), receiver.secret)
    log_dir = ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {"LOG_LEVEL": "INFO", "DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": settings.REDIS_URL,
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
           "CELERY_BROKER_KEY_PREFIX": os.environ["CELERY_BROKER_KEY_PREFIX"]}
    print(f"cores={os.cpu_count()} worker concurrency={args.concurrency} provider=webhook stand-in on 127.0.0.1")

    worker = WorkerProcess(log_dir / "notify-worker.log", concurrency=args.concurrency, env_overrides=env)
    os.environ.update(env)
    try:
        worker.start(timeout=60)
        committed: dict[str, float] = {}

        def raise_one(key: str) -> None:
            # Alerts arrive from concurrent requests in production; a small pool plays them.
            try:
                alert = _raise(tenant, site, key)
                committed[alert.public_id] = time.time()
            finally:
                connection.close()

        interval, started, started_wall = 1.0 / args.rate, time.monotonic(), time.time()
        sent = 0
        with ThreadPoolExecutor(max_workers=6) as pool:
            while time.monotonic() - started < args.duration:
                pool.submit(raise_one, f"steady-{sent}")
                sent += 1
                pause = started + sent * interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
        achieved = sent / (time.monotonic() - started)
        receiver.wait_for(sent, timeout=120)
        latencies = [(m["at"] - committed[m["json"]["alert_id"]]) * 1000 for m in receiver.messages
                     if m["json"]["alert_id"] in committed]
        _print_tail(receiver.messages, committed, started_wall)
        print(f"phase 1: {sent} alerts at {achieved:.1f}/s over {args.duration:.0f}s; commit -> provider: "
              f"p50 {statistics.median(latencies):.0f} ms, p99 {_percentile(latencies, 0.99):.0f} ms, "
              f"max {max(latencies):.0f} ms; {_accounting(receiver.messages, sent)}")
    finally:
        worker.stop()

    receiver.reset()
    for index in range(args.burst):
        _raise(tenant, site, f"burst-{index}")
    connection.close()
    time.sleep(1)
    stray = len(receiver.messages)
    receiver.reset()
    worker = WorkerProcess(log_dir / "notify-worker-burst.log", concurrency=args.concurrency, env_overrides=env)
    try:
        worker.start(timeout=60)
        began = time.monotonic()
        receiver.wait_for(args.burst, timeout=600)
        elapsed = time.monotonic() - began
        print(f"phase 2: {args.burst} queued deliveries drained in {elapsed:.1f}s = {args.burst / elapsed:.0f} "
              f"deliveries/s from worker ready ({stray} stray deliveries before the start were discarded); "
              f"{_accounting(receiver.messages, args.burst)}")
    finally:
        worker.stop()
    _floor(args, env, log_dir)
    if args.storm:
        _storm(args, tenant, site, receiver, env, log_dir)
    receiver.stop()
    return 0


def _floor(args, env, log_dir) -> None:
    """The same worker draining as many no-op tasks (`tocsin.housekeeping.ping`: the house
    decorator, the signals, acks_late, one log line): the rate no delivery can beat here."""
    from tests.support.processes import WorkerProcess
    from workers.app import app

    for _ in range(args.burst):
        app.send_task("tocsin.housekeeping.ping")
    (log_dir / "notify-worker-floor.log").unlink(missing_ok=True)  # the count is read from this run's log
    worker = WorkerProcess(log_dir / "notify-worker-floor.log", concurrency=args.concurrency, env_overrides=env)
    try:
        worker.start(timeout=60)
        began = time.monotonic()
        deadline = began + 300
        while worker.read_log().count("ping received") < args.burst and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.monotonic() - began
        done = worker.read_log().count("ping received")
        print(f"floor: {done} no-op tasks drained by the same worker in {elapsed:.1f}s = {done / elapsed:.0f}/s "
              f"(deliveries can't go faster than this on this machine, now)")
    finally:
        worker.stop()


def _storm(args, tenant, site, receiver, env, log_dir) -> None:
    """Critical pages must not wait behind a queue of lesser ones."""
    from django.db import connection

    from tests.support.processes import WorkerProcess

    receiver.reset()
    for index in range(args.storm):
        _raise(tenant, site, f"storm-{index}", severity="warning")
    connection.close()
    worker = WorkerProcess(log_dir / "notify-worker-storm.log", concurrency=args.concurrency, env_overrides=env)
    try:
        worker.start(timeout=60)
        time.sleep(0.5)  # the worker is busy with the queue
        committed: dict[str, float] = {}
        for index in range(20):
            alert = _raise(tenant, site, f"storm-critical-{index}")
            committed[alert.public_id] = time.time()
            time.sleep(0.05)
        connection.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len({m["json"]["alert_id"] for m in receiver.messages
                                                   if m["json"]["alert_id"] in committed}) < 20:
            time.sleep(0.05)
        critical = [m for m in receiver.messages if m["json"]["alert_id"] in committed]
        latencies = [(m["at"] - committed[m["json"]["alert_id"]]) * 1000 for m in critical]
        drained = sum(1 for m in receiver.messages if m["json"]["alert_id"] not in committed)
        print(f"phase 3: 20 critical alerts raised behind {args.storm} queued warnings ({drained} of them delivered "
              f"by then); critical commit -> provider: p50 {statistics.median(latencies):.0f} ms, "
              f"p99 {_percentile(latencies, 0.99):.0f} ms, max {max(latencies):.0f} ms; "
              f"{_accounting(critical, 20)}")
    finally:
        worker.stop()


if __name__ == "__main__":
    sys.exit(main())
