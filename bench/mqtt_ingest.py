"""Plant readings through the real broker and bridge(s) into PostgreSQL.

    python bench/mqtt_ingest.py                               # 1 bridge, then 2 sharing the subscription
    python bench/mqtt_ingest.py --rate 800 --metrics 10 --duration 15 --bridges 1,2
    python bench/mqtt_ingest.py --bridges 1 --plant-rules      # with an anomaly and a sibling rule per plant

Recreates a dedicated database (``tocsin_bench_mqtt``), migrates it, writes a Mosquitto 2
config with Tocsin's generator and starts a private broker on a free 127.0.0.1 port,
provisions ``--plants`` gateways through the real provisioning service (certificates,
dynamic-security identities), then for each bridge count starts that many
``manage.py mqtt_bridge`` processes on the shared subscription and has the simulated
gateways (paho clients with their own certificates) publish ``--rate`` QoS 1 messages per
second in total, each carrying ``--metrics`` readings, for ``--duration`` seconds.

It prints readings stored per second (first publish to last commit), publish → committed
latency p50/p99 (every 20th message is a marker; a poller sees its readings committed
within 10 ms), the bridges' CPU per message, and checks that every reading was stored.
Everything binds to 127.0.0.1 and every process started is stopped on exit. A benchmark,
not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_mqtt"
MARKER_EVERY = 20
METRIC_NAMES = ("voltage_dc", "current_dc", "power_ac", "power_dc", "voltage_ac", "current_ac", "frequency",
                "temperature", "energy_today", "energy_total", "irradiance", "efficiency")


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if "bench" not in name:
        raise SystemExit("refusing to recreate a database whose name lacks 'bench'")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


class Publisher(threading.Thread):
    """One gateway: paces its share of the rate, QoS 1, and notes when markers went out."""

    def __init__(self, *, port, tls, plant_id, rate, duration, metrics, markers, run, index):
        super().__init__(daemon=True)
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{run}-{index}",
                                  protocol=mqtt.MQTTv5)
        self.client.tls_set(**tls)
        self.client.max_inflight_messages_set(1000)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.plant_id, self.rate, self.duration, self.metrics = plant_id, rate, duration, metrics
        self.markers, self.run_tag, self.index = markers, run, index
        self.sent = 0
        self.infos = []

    def run(self) -> None:
        start = time.monotonic()
        interval = 1.0 / self.rate
        while time.monotonic() - start < self.duration:
            target = start + self.sent * interval
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            message_id = f"{self.run_tag}-{self.index}-{self.sent}"
            ts = datetime.now(UTC)
            body = {"plantId": self.plant_id, "deviceId": f"inv-{self.sent % 8}", "timestamp": ts.isoformat(),
                    "messageId": message_id,
                    "metrics": {name: 100.0 + self.sent % 50 for name in METRIC_NAMES[:self.metrics]}}
            if self.sent % MARKER_EVERY == 0:
                self.markers[message_id] = (time.monotonic(), body["deviceId"])
            self.infos.append(self.client.publish(f"solar/{self.plant_id}/data", json.dumps(body), qos=1))
            self.sent += 1
        for info in self.infos:
            info.wait_for_publish(timeout=60)
        self.client.disconnect()
        self.client.loop_stop()


def watch_markers(markers: dict, committed: dict, stop: threading.Event, metric: str) -> None:
    """Poll for marker readings: their first reading's message id, computed as the bridge does."""
    from django.db import connection

    from apps.iot import messages

    while not stop.is_set() or len(committed) < len(markers):
        pending = {}
        for message_id, (_sent, inverter) in list(markers.items()):
            if message_id not in committed:
                key = messages.message_key(topic="", correlation=None, payload_id=message_id, inverter=inverter,
                                           timestamp=datetime.now(UTC))
                pending[str(uuid.uuid5(messages.READING_NAMESPACE, f"{key}/{inverter}/{metric}"))] = message_id
        if pending:
            with connection.cursor() as cursor:
                cursor.execute("SELECT message_id FROM ingest_telemetryreading WHERE message_id = ANY(%s::uuid[])",
                               [list(pending)])
                seen_at = time.monotonic()
                for (reading_id,) in cursor.fetchall():
                    committed[pending[str(reading_id)]] = seen_at
        if stop.is_set() and time.monotonic() > stop.deadline:
            return
        time.sleep(0.01)


def add_plant_rules(plant) -> None:
    from apps.ingest.models import AnomalyRule, SiblingRule

    AnomalyRule.objects.create(tenant=plant.tenant, site=plant, metric="power_ac", min_samples=3)
    SiblingRule.objects.create(tenant=plant.tenant, site=plant, metric="power_ac", window="always")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--plants", type=int, default=20)
    parser.add_argument("--rate", type=float, default=700.0, help="messages per second, all gateways together")
    parser.add_argument("--metrics", type=int, default=10, help="readings per message")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--bridges", default="1,2")
    parser.add_argument("--plant-rules", action="store_true",
                        help="give every plant an anomaly rule and a sibling rule on power_ac (issue 19)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-mqtt-"))
    from tests.support.mosquitto import PrivateBroker

    broker = PrivateBroker(workdir / "broker")
    env = {**os.environ, "DATABASE_URL": args.database_url, "DJANGO_SETTINGS_MODULE": "tocsin.settings",
           "MQTT_URL": broker.url, "MQTT_BROKER_DIR": str(broker.directory), "LOG_LEVEL": "WARNING",
           "PYTHONUNBUFFERED": "1"}
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "MQTT_URL", "MQTT_BROKER_DIR",
                                           "LOG_LEVEL")})
    recreate_database(args.database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO_ROOT, env=env,
                   check=True)
    import django

    django.setup()
    from django.db import connection

    from apps.audit.services import Actor
    from apps.iot import pki, provisioning
    from apps.tenancy.services import site_create, tenant_create

    processes: list[subprocess.Popen] = []
    try:
        broker.start()
        tenant = tenant_create(name="Bench Solar", vertical="energy", slug=f"bench-{uuid.uuid4().hex[:6]}")
        gateways = []
        for index in range(args.plants):
            plant = site_create(tenant=tenant, name=f"Plant {index}", location_id=f"P{index}", kind="plant")
            key = pki.new_key()
            result = provisioning.gateway_provision(site=plant, actor=Actor.system("bench"),
                                                hardware_id=f"bench-gw-{index}", csr_pem=pki.make_csr(key=key))
            directory = workdir / f"gw{index}"
            directory.mkdir()
            (directory / "ca.pem").write_text(result.ca_pem)
            (directory / "cert.pem").write_text(result.certificate_pem + result.chain_pem)
            (directory / "key.pem").write_text(pki.key_pem(key))
            if args.plant_rules:
                add_plant_rules(plant)
            gateways.append((plant.public_id, {"ca_certs": str(directory / "ca.pem"),
                                               "certfile": str(directory / "cert.pem"),
                                               "keyfile": str(directory / "key.pem")}))
        print(f"{args.plants} gateways provisioned; {args.rate:g} msg/s x {args.metrics} readings offered "
              f"= {args.rate * args.metrics:,.0f} readings/s for {args.duration:g} s")
        for count in (int(c) for c in args.bridges.split(",")):
            bridges = []
            for number in range(count):
                log = open(workdir / f"bridge-{count}-{number}.log", "ab")  # noqa: SIM115
                bridges.append(subprocess.Popen(
                    [sys.executable, "manage.py", "mqtt_bridge", "--client-id", f"bench-{count}-{number}",
                     "--shared", "yes"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            processes += bridges
            time.sleep(3)  # connected and subscribed
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM ingest_telemetryreading")
                before = cursor.fetchone()[0]
            cpu_before = cpu_seconds([b.pid for b in bridges])
            markers, committed = {}, {}
            run = uuid.uuid4().hex[:6]
            publishers = [Publisher(port=broker.port, tls=tls, plant_id=plant_id, rate=args.rate / len(gateways),
                                    duration=args.duration, metrics=args.metrics, markers=markers, run=run,
                                    index=i) for i, (plant_id, tls) in enumerate(gateways)]
            stop = threading.Event()
            stop.deadline = float("inf")
            watcher = threading.Thread(target=watch_markers, args=(markers, committed, stop, METRIC_NAMES[0]),
                                       daemon=True)
            started = time.monotonic()
            for publisher in publishers:
                publisher.start()
            watcher.start()
            for publisher in publishers:
                publisher.join()
            expected = sum(p.sent for p in publishers) * args.metrics
            last_change, last_count = time.monotonic(), -1
            while True:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM ingest_telemetryreading")
                    stored = cursor.fetchone()[0] - before
                if stored != last_count:
                    last_change, last_count = time.monotonic(), stored
                if stored >= expected or time.monotonic() - last_change > 20:
                    break
                time.sleep(0.05)
            finished = last_change
            stop.deadline = time.monotonic() + 5
            stop.set()
            watcher.join(10)
            cpu = cpu_seconds([b.pid for b in bridges]) - cpu_before
            latencies = sorted((committed[m] - markers[m][0]) * 1000 for m in committed)
            messages_sent = sum(p.sent for p in publishers)
            p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
            print(f"\n{count} bridge(s): {stored:,} of {expected:,} readings stored "
                  f"({'all' if stored == expected else 'MISSING ' + str(expected - stored)})")
            print(f"  readings stored/s  {stored / (finished - started):,.0f}   "
                  f"(messages/s {messages_sent / (finished - started):,.0f})")
            print(f"  publish → committed  p50 {statistics.median(latencies):.0f} ms   p99 {p99:.0f} ms   "
                  f"({len(latencies)} markers)")
            print(f"  bridge CPU per message  {cpu / messages_sent * 1000:.2f} ms   "
                  f"(per reading {cpu / max(stored, 1) * 1e6:.0f} µs; {cpu:.1f} CPU-s in total)")
            for bridge in bridges:
                bridge.terminate()
            for bridge in bridges:
                bridge.wait(15)
            # Scale down properly: a stopped bridge's session would keep its share of the next run.
            for number in range(count):
                subprocess.run([sys.executable, "manage.py", "mqtt_bridge", "--client-id", f"bench-{count}-{number}",
                                "--retire"], cwd=REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
