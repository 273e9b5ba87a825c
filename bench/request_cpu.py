"""CPU per request in process: the request path without gunicorn, sockets or the load generator.

    python bench/ingest.py --scenarios heartbeats --duration 2   # once: seeds tocsin_bench_ingest
    python bench/request_cpu.py [--report heartbeat|event|device-alert] [--requests 3000] [--profile]

Sends reports through Django's WSGI handler (the test client), after 300 to warm up, and
prints CPU milliseconds per request (process clock) and wall milliseconds:

- ``heartbeat``: from 16 of the bench database's enrolled tablets;
- ``event``: new alerts through the events API (`POST /api/v1/events/`), each trigger a new
  key at the bench's hotel, with the bench tenant's API key (a fresh one, made here);
- ``device-alert``: new alerts raised by those tablets (`POST /api/v1/device-alerts/`).

Steadier than the gunicorn figures on a shared machine, so it is the one to compare two
trees with (run them alternately). `--profile` prints cProfile's cumulative table. A
benchmark, not a test: nothing is asserted. New alerts are left open in the bench database
(`bench/ingest.py` recreates it on its next run).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_ingest"
HEARTBEAT = ('{"sent_at":"%s","battery":{"level":80,"charging":false},"link":{"wifi_bssid":"aa:bb:cc:dd:ee:01",'
             '"rssi":-60},"health":{"cpu_percent":12.5,"memory_used_mb":512,"memory_total_mb":2048,'
             '"temperature_c":45.0},"uptime_s":3600,"error_count":0,"firmware":"1.4.2"}')
RUN = uuid.uuid4().hex[:8]  # every run's alert keys are new


def _tablet_tokens() -> list[str]:
    from apps.devices.device_tokens import issue_device_token
    from apps.devices.models import Device

    tokens = [issue_device_token(device)[0]
              for device in Device.objects.filter(kind="tablet", status="active").order_by("pk")[:16]]
    if not tokens:
        raise SystemExit("no enrolled tablets: run bench/ingest.py once first (it seeds the database)")
    return tokens


def _events_key() -> tuple[str, str]:
    """A fresh unlimited API key of the bench tenant, and its hotel's location id."""
    from apps.audit.services import Actor
    from apps.devices.api_keys import api_key_create
    from apps.devices.models import ApiKey
    from apps.tenancy.models import Site

    hotel = Site.objects.filter(kind="hotel", tenant__slug__startswith="bench-").order_by("-pk").first()
    if hotel is None:
        raise SystemExit("no bench tenant: run bench/ingest.py once first (it seeds the database)")
    issued = api_key_create(tenant=hotel.tenant, name=f"cpu {RUN}", scopes=["write_events"],
                            actor=Actor.system("bench"))
    ApiKey.objects.filter(pk=issued.record.pk).update(tier=1_000_000)
    return issued.key, hotel.location_id


def _sender(report: str):
    """(path, body for request i, Authorization for request i, the answer expected)."""
    if report == "event":
        key, location = _events_key()
        return ("/api/v1/events/",
                lambda i: json.dumps({"event_action": "trigger", "dedup_key": f"cpu-{RUN}-{i}", "payload": {
                    "summary": "door controller offline", "severity": "critical", "source": "bench-monitor",
                    "site": location}}),
                lambda i: f"Bearer {key}", 202)
    tokens = _tablet_tokens()
    if report == "device-alert":
        return ("/api/v1/device-alerts/",
                lambda i: json.dumps({"kind": "custom", "dedup_key": f"cpu-{RUN}-{i}",
                                      "occurred_at": datetime.now(UTC).isoformat(), "details": {"door": "open"}}),
                lambda i: f"Bearer {tokens[i % len(tokens)]}", 201)
    return ("/api/v1/heartbeats/", lambda i: HEARTBEAT % datetime.now(UTC).isoformat(),
            lambda i: f"Bearer {tokens[i % len(tokens)]}", 202)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", choices=("heartbeat", "event", "device-alert"), default="heartbeat")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    os.environ.setdefault("DATABASE_URL", DATABASE_URL)
    os.environ["RATE_LIMIT_DEVICE"] = "1000000/min"
    os.environ["LOG_LEVEL"] = "WARNING"
    # No worker runs here: the deliveries the new alerts enqueue go under a broker prefix of
    # this run's own, removed at the end, never into the shared queues `make run` consumes.
    broker_prefix = os.environ["CELERY_BROKER_KEY_PREFIX"] = f"bench-cpu-{RUN}:"
    import django

    django.setup()
    from django.test import Client

    path, body, authorization, expected = _sender(args.report)
    client = Client()

    def send(i: int) -> None:
        answer = client.post(path, data=body(i), content_type="application/json",
                             HTTP_AUTHORIZATION=authorization(i))
        if answer.status_code != expected:
            raise SystemExit(f"{path} answered {answer.status_code}: {answer.content[:200]!r}")

    try:
        _measure(args, send)
    finally:
        from django.conf import settings
        from ingest import _drop_broker_keys

        _drop_broker_keys(settings.CELERY_BROKER_URL, broker_prefix)


def _measure(args, send) -> None:
    for i in range(300):
        send(-1 - i)
    profile = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    for i in range(args.requests):
        send(i)
    if profile:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "45")))
    print(f"{args.requests} {args.report} requests: CPU {1000 * cpu / args.requests:.3f} ms per request, "
          f"wall {1000 * wall / args.requests:.3f} ms")


if __name__ == "__main__":
    main()
