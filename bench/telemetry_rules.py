"""The telemetry part of ingest, in process: what one bridge batch costs to store and judge.

    python bench/telemetry_rules.py                      # default thresholds only, then with plant rules
    python bench/telemetry_rules.py --batches 200 --messages 50 --metrics 10 --plants 4

Recreates a dedicated database (``tocsin_bench_telemetry``), migrates it, makes ``--plants``
plants with a gateway each and calls ``telemetry_ingest_many`` the way the MQTT bridge does:
``--messages`` messages per batch (one inverter each, eight inverters per plant), each with
``--metrics`` readings. Prints milliseconds per batch (p50/p99), microseconds per reading
and the database's statements per batch, first with the plants' default thresholds, then
with an anomaly rule and a sibling rule on power_ac (``--with-rules``, on by default; the
plant rules appeared with issue 19, so an older tree runs with ``--no-with-rules``). A benchmark,
not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_telemetry"
METRICS = ("power_ac", "voltage_dc", "current_dc", "power_dc", "voltage_ac", "current_ac", "frequency",
           "energy_today", "energy_total", "efficiency", "irradiance", "temperature")


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if "bench" not in name:
        raise SystemExit("refusing to recreate a database whose name lacks 'bench'")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def make_batches(devices, batches: int, messages: int, metrics: int, start: datetime):
    from apps.ingest.services.telemetry import TelemetryBatch

    out = []
    for number in range(batches):
        ts = start + timedelta(seconds=10 * number)
        per_device: dict = {}
        for index in range(messages):
            device = devices[index % len(devices)]
            inverter = f"inv-{(index // len(devices)) % 8}"
            per_device.setdefault(device.pk, (device, []))[1].extend(
                {"message_id": uuid.uuid4(), "ts": ts, "inverter": inverter, "metric": metric,
                 "value": 100.0 + (index * 7 + number) % 50, "unit": ""} for metric in METRICS[:metrics])
        out.append([TelemetryBatch(device=device, readings=readings) for device, readings in per_device.values()])
    return out


def run(devices, args, label: str, start: datetime) -> None:
    from django.db import connection, reset_queries

    from apps.ingest.services.telemetry import telemetry_ingest_many

    timings, statements = [], []
    batches = make_batches(devices, args.batches, args.messages, args.metrics, start)
    for batch in batches:
        reset_queries()
        began = time.perf_counter()
        telemetry_ingest_many(batches=batch)
        timings.append((time.perf_counter() - began) * 1000)
        statements.append(len(connection.queries))
    readings = args.messages * args.metrics
    timings.sort()
    print(f"{label:28} p50 {statistics.median(timings):6.1f} ms   p99 {timings[int(len(timings) * 0.99) - 1]:6.1f} ms"
          f"   {statistics.mean(timings) * 1000 / readings:6.1f} µs/reading   "
          f"{statistics.mean(statements):4.1f} statements/batch")


def add_rules(sites) -> None:
    from apps.ingest.models import AnomalyRule, SiblingRule
    from apps.ingest.site_rules import forget_site_rules

    for site in sites:
        AnomalyRule.objects.create(tenant=site.tenant, site=site, metric="power_ac", min_samples=3)
        SiblingRule.objects.create(tenant=site.tenant, site=site, metric="power_ac", window="always")
        forget_site_rules(site.pk)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--plants", type=int, default=4)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--messages", type=int, default=50, help="messages per batch, one inverter each")
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--with-rules", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    os.environ.update({"DATABASE_URL": args.database_url, "DJANGO_SETTINGS_MODULE": "tocsin.settings",
                       "LOG_LEVEL": "WARNING", "DEBUG": "false"})
    recreate_database(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO_ROOT, check=True)
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = True  # counts statements (connection.queries); the timings include that bookkeeping
    from apps.devices.models import Device
    from apps.tenancy.services import site_create, tenant_create

    tenant = tenant_create(name="Bench Solar", vertical="energy", slug="bench-telemetry")
    sites = [site_create(tenant=tenant, name=f"Plant {n}", location_id=f"P{n}", kind="plant")
             for n in range(args.plants)]
    devices = [Device.objects.create(tenant=tenant, site=site, hardware_id=f"gw-{n}", kind="gateway", status="active",
                                     public_key="") for n, site in enumerate(sites)]
    print(f"{args.batches} batches of {args.messages} messages x {args.metrics} readings, {args.plants} plants\n")
    start = datetime(2026, 6, 1, 10, tzinfo=UTC)
    run(devices, args, "default thresholds", start)
    if args.with_rules:
        add_rules(sites)
        run(devices, args, "+ anomaly and sibling rules", start + timedelta(days=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
