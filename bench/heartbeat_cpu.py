"""CPU per heartbeat in process: the request path without gunicorn, sockets or the load generator.

    python bench/ingest.py --scenarios heartbeats --duration 2   # once: seeds tocsin_bench_ingest
    python bench/heartbeat_cpu.py [--requests 3000] [--profile]

Sends heartbeats from 16 of the bench database's enrolled tablets through Django's WSGI
handler (the test client), after 300 to warm up, and prints CPU milliseconds per request
(process clock) and wall milliseconds. Steadier than the gunicorn figures on a shared
machine, so it is the one to compare two trees with (run them alternately). `--profile`
prints cProfile's cumulative table. A benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_ingest"
BODY = ('{"sent_at":"%s","battery":{"level":80,"charging":false},"link":{"wifi_bssid":"aa:bb:cc:dd:ee:01",'
        '"rssi":-60},"health":{"cpu_percent":12.5,"memory_used_mb":512,"memory_total_mb":2048,'
        '"temperature_c":45.0},"uptime_s":3600,"error_count":0,"firmware":"1.4.2"}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    os.environ.setdefault("DATABASE_URL", DATABASE_URL)
    os.environ["RATE_LIMIT_DEVICE"] = "1000000/min"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.test import Client

    from apps.devices.device_tokens import issue_device_token
    from apps.devices.models import Device

    tokens = [issue_device_token(device)[0]
              for device in Device.objects.filter(kind="tablet", status="active").order_by("pk")[:16]]
    if not tokens:
        raise SystemExit("no enrolled tablets: run bench/ingest.py once first (it seeds the database)")
    client = Client()

    def heartbeat(i: int) -> None:
        answer = client.post("/api/v1/heartbeats/", data=BODY % datetime.now(UTC).isoformat(),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {tokens[i % len(tokens)]}")
        if answer.status_code != 202:
            raise SystemExit(f"heartbeat answered {answer.status_code}: {answer.content[:200]!r}")

    for i in range(300):
        heartbeat(i)
    profile = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    for i in range(args.requests):
        heartbeat(i)
    if profile:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
    print(f"{args.requests} heartbeats: CPU {1000 * cpu / args.requests:.3f} ms per request, "
          f"wall {1000 * wall / args.requests:.3f} ms")


if __name__ == "__main__":
    main()
