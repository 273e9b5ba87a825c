"""Ingest throughput and latency through the real stack: gunicorn, PostgreSQL, Redis.

    python bench/ingest.py                       # own stack on 127.0.0.1, 10 s per scenario
    python bench/ingest.py --duration 5 --scenarios heartbeats,scans
    python bench/ingest.py --url http://127.0.0.1:8000 --database-url postgres://.../tocsin

By default the script recreates a dedicated database (``tocsin_bench_ingest``), migrates it with
``manage.py migrate``, seeds a tenant with a hotel and a store and a setup token for each,
starts gunicorn (``tocsin.wsgi:application``, the command shape of ``make run``) with the
device rate limit raised for the run, enrols the devices through the real enrolment API
with real Ed25519 keys, then drives 16 concurrent keep-alive clients for a fixed time per
scenario and prints requests/s, p50/p99/max latency and errors by status:

- ``heartbeats``: hotel tablets; every client owns its own devices, each beat newer than
  the last, so every one is applied and runs the rules (nothing fires).
- ``alerts-distinct``: every report a new dedup key, so every one creates an alert (201):
  the insert, its first timeline event and the tenant's hash-chained audit entry.
- ``alerts-one-key``: all 16 clients report as ONE device with the same kind and key, so
  every request bumps one open alert row (200) and touches one device row: the hot-row
  case. (Device keys are namespaced per device, so "one key" has to mean one device.)
- ``events-distinct`` / ``events-one-key``: the PagerDuty-shaped events API with an API key
  (the highest tier): every trigger a new alert routed by the tenant's catch-all policy,
  or all of them one hot key.
- ``scans``: store scanners, batches of 100 new anonymised scans, all adults (no alert).
- ``floor``: not Tocsin: ``bench/floor_app.py``, a bare Django + DRF endpoint inserting one
  row, under the same gunicorn shape and database server, driven by the same clients with
  the events body. What any Django service pays per request here: new alerts are read
  against it.

With ``--url`` it drives a server someone else started; that server must have the device
and enrolment rate limits raised (``RATE_LIMIT_DEVICE=1000000/min``,
``RATE_LIMIT_ENROLL=1000000/hour``), and ``--database-url`` must name its database, which
is seeded in place (nothing is dropped). Afterwards the script checks in the database that
every accepted request left its rows: nothing accepted may be lost. Everything binds to
127.0.0.1; every process started is stopped on exit. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_ingest"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SCENARIOS = ("heartbeats", "alerts-distinct", "alerts-one-key", "events-distinct", "events-one-key", "scans",
             "floor")
SCAN_BATCH = 100
TARGETS = {  # the targets: (requests or items per second, p99 ms)
    "heartbeats": (600, 50), "alerts-distinct": (300, 150), "alerts-one-key": (400, 100),
    "events-distinct": (300, 150), "events-one-key": (400, 100), "scans": (10_000, None),
    "floor": (None, None),
}


# --- a small keep-alive HTTP/1.1 client: the load generator shares the two cores ----------------

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CONNECTION_CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)


class _Connection(asyncio.Protocol):
    """One connection, one request at a time; answers parsed by Content-Length."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._complete()

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed mid-answer"))

    def _complete(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end])
        length = _CONTENT_LENGTH.search(head)
        if length is None:
            self.waiter.set_exception(ConnectionError("answer without Content-Length"))
            return
        total = end + 4 + int(length.group(1))
        if len(self.buffer) < total:
            return
        body = bytes(self.buffer[end + 4:total])
        del self.buffer[:total]
        self.waiter.set_result((int(head[9:12]), body, bool(_CONNECTION_CLOSE.search(head))))

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


class Client:
    """Reconnects when the server closes (gunicorn's sync workers close after every answer)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.connection: _Connection | None = None

    async def request(self, method: str, path: str, body: bytes = b"", token: str | None = None
                      ) -> tuple[int, bytes]:
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n")
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        payload = head.encode() + b"\r\n" + body
        for attempt in (1, 2):
            if self.connection is None or self.connection.closed:
                _, self.connection = await asyncio.get_running_loop().create_connection(
                    _Connection, self.host, self.port)
            try:
                status, answer, close = await self.connection.exchange(payload)
            except ConnectionError:
                # A keep-alive connection the server timed out just before we reused it.
                self.close()
                if attempt == 2:
                    raise
                continue
            if close:
                self.close()
            return status, answer
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None and self.connection.transport is not None:
            self.connection.transport.close()
        self.connection = None


# --- the stack ------------------------------------------------------------------------------------

def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def recreate_database(url: str) -> None:
    import psycopg

    name = database_name(url)
    if "bench" not in name:
        raise SystemExit(f"refusing to drop {name!r}: only a database with 'bench' in its name is recreated")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def migrate(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO_ROOT, env=env,
                   check=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    command: list[str]
    log: object

    def pids(self) -> list[int]:
        """The master and its workers (for CPU accounting)."""
        pids = [self.process.pid]
        try:
            for task in Path(f"/proc/{self.process.pid}/task").iterdir():
                pids += [int(pid) for pid in (task / "children").read_text().split()]
        except OSError:
            pass
        return pids

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.close()


def start_server(args, env: dict[str, str], *, app: str = "tocsin.wsgi:application", port: int = 0,
                 extra: tuple[str, ...] = ("--config", "docker/gunicorn.conf.py")) -> Server:
    """gunicorn as `make run` starts it (its config file too, unless `extra` says otherwise)."""
    port = port or args.port or free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, app, *extra, "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
               "--worker-class", args.worker_class, "--log-level", "warning"]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    if args.access_log:
        command += ["--access-logfile", "-"]
    log = open(REPO_ROOT / "var" / "bench-gunicorn.log", "ab")  # noqa: SIM115 (lives as long as the server)
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    server = Server(process=process, url=f"http://127.0.0.1:{port}", command=command, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see var/bench-gunicorn.log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


# --- seeding and enrolment ------------------------------------------------------------------------

@dataclass
class World:
    tenant_id: int
    hotel: tuple[str, str]  # (location id, setup token)
    store: tuple[str, str]
    api_key: str  # for the events API


def seed(tag: str) -> World:
    """A tenant (made as production makes one: with its catch-all policy, so every new alert
    is routed and published) with a hotel and a store, a setup token for each, and an API
    key for the events API (in-process Django)."""
    from django.utils.text import slugify

    from apps.audit.services import Actor
    from apps.devices.api_keys import api_key_create
    from apps.devices.models import ApiKey, ApiKeyTier
    from apps.devices.setup_tokens import setup_token_create
    from apps.tenancy.models import Site
    from apps.tenancy.services import tenant_create

    tenant = tenant_create(name=f"Bench {tag}", slug=slugify(f"bench-{tag}"), vertical="hospitality")
    tokens = []
    for kind in ("hotel", "store"):
        site = Site.objects.create(tenant=tenant, name=f"Bench {kind}", location_id=f"B-{kind[:1].upper()}-{tag}"[:40],
                                   kind=kind, timezone="UTC")
        issued = setup_token_create(site=site, actor=Actor.system("bench"), max_uses=1000, ttl=timedelta(hours=2))
        tokens.append((site.location_id, issued.token))
    key = api_key_create(tenant=tenant, name="bench", scopes=["write_events"], actor=Actor.system("bench"),
                         tier=max(ApiKeyTier.values))
    # As for devices (RATE_LIMIT_DEVICE): the key's limit is still counted on every request,
    # just not reached; its highest tier (1,000/min) is far below what the bench offers.
    ApiKey.objects.filter(pk=key.record.pk).update(tier=1_000_000)
    return World(tenant_id=tenant.pk, hotel=tokens[0], store=tokens[1], api_key=key.key)


async def enroll(client: Client, *, location_id: str, setup_token: str, kind: str, hardware_id: str
                 ) -> tuple[str, str]:
    """Both phases of enrolment with a fresh Ed25519 key; returns (device public id, token)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                            serialization.PublicFormat.Raw)).decode()
    status, body = await client.request("POST", "/api/v1/devices/enroll/", json.dumps({
        "setup_token": setup_token, "location_id": location_id, "hardware_id": hardware_id, "model": "bench",
        "kind": kind, "public_key": public}).encode())
    if status != 201:
        raise SystemExit(f"enrolment refused ({status}): {body[:300]!r}; is RATE_LIMIT_ENROLL raised?")
    started = json.loads(body)
    message = f"tocsin-enroll-v1\n{started['enrollment_id']}\n{hardware_id}\n{started['challenge']}"
    signature = base64.b64encode(key.sign(message.encode())).decode()
    status, body = await client.request("POST", "/api/v1/devices/enroll/complete/", json.dumps({
        "enrollment_id": started["enrollment_id"], "signature": signature}).encode())
    if status != 200:
        raise SystemExit(f"enrolment completion refused ({status}): {body[:300]!r}")
    issued = json.loads(body)
    return issued["device_id"], issued["access"]


async def enroll_all(host: str, port: int, world: World, count: int, tag: str) -> dict[str, list[tuple[str, str]]]:
    plan = [("hotel", "tablet", i) for i in range(count)] + [("store", "scanner", i) for i in range(count)]
    devices: dict[str, list[tuple[str, str]]] = {"tablet": [], "scanner": []}

    async def worker(slice_):
        client = Client(host, port)
        for site, kind, index in slice_:
            location, token = getattr(world, site)
            devices[kind].append(await enroll(client, location_id=location, setup_token=token, kind=kind,
                                              hardware_id=f"bench-{tag}-{kind}-{index:04d}"))
        client.close()

    # One at a time: concurrent completions at one site deadlock in enrollment_complete
    # (its select_for_update locks the joined site and tenant rows too); see bench/README.md.
    await worker(plan)
    return devices


# --- scenarios --------------------------------------------------------------------------------------

def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def heartbeat_body(_client: int, _seq: int) -> bytes:
    return (b'{"sent_at":"%s","battery":{"level":80,"charging":false},"link":{"wifi_bssid":"aa:bb:cc:dd:ee:01",'
            b'"rssi":-60},"health":{"cpu_percent":12.5,"memory_used_mb":512,"memory_total_mb":2048,'
            b'"temperature_c":45.0},"uptime_s":3600,"error_count":0,"firmware":"1.4.2"}' % now_iso().encode())


def make_distinct_alert_body(run: str):
    def body(client: int, seq: int) -> bytes:
        return (b'{"kind":"custom","dedup_key":"bench-%s-%d-%d","occurred_at":"%s","details":{"door":"open",'
                b'"client":%d}}' % (run.encode(), client, seq, now_iso().encode(), client))
    return body


def one_key_alert_body(client: int, _seq: int) -> bytes:
    return (b'{"kind":"custom","dedup_key":"bench-hot","occurred_at":"%s","details":{"door":"open","client":%d}}'
            % (now_iso().encode(), client))


def make_event_body(run: str, location_id: str, *, one_key: bool):
    """The PagerDuty-shaped events API: a monitoring system's trigger for a site."""
    def body(client: int, seq: int) -> bytes:
        key = b"bench-event-hot" if one_key else b"bench-event-%s-%d-%d" % (run.encode(), client, seq)
        return (b'{"event_action":"trigger","dedup_key":"%s","payload":{"summary":"door controller offline",'
                b'"severity":"critical","source":"bench-monitor","site":"%s","custom_details":{"client":%d}}}'
                % (key, location_id.encode(), client))
    return body


def scan_batch_body(_client: int, _seq: int) -> bytes:
    at, year = now_iso(), datetime.now(UTC).year
    scans = [{"scan_id": str(uuid.uuid4()), "scanned_at": at, "birth_year": year - 30 - (i % 40), "age": 30 + (i % 40),
              "is_underage": False, "is_valid": True, "document_expired": False, "jurisdiction": "US-TX",
              # A new customer each scan, as at a till: a fixed set of documents would be
              # re-seen in every batch, and the document-reuse rule would read every earlier sighting.
              "subject_hash": uuid.uuid4().hex * 2} for i in range(SCAN_BATCH)]
    return json.dumps({"batch_id": str(uuid.uuid4()), "scans": scans}, separators=(",", ":")).encode()


@dataclass
class Scenario:
    name: str
    path: str
    body: object  # (client index, sequence) -> bytes
    tokens_for: object  # (client index) -> list of device tokens it cycles through
    items_per_request: int = 1


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    all_accepted: Counter = field(default_factory=Counter)  # warm-up and drain included, for the checks
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system) of each process still alive."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used in between by the processes alive at both ends."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def machine_busy() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK"), sum(values) / os.sysconf("SC_CLK_TCK")


def database_pids(database_url: str) -> list[int]:
    """The PostgreSQL backends serving the bench database (the server's persistent connections)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()").fetchall()
    return [pid for (pid,) in rows]


def redis_pids(redis_url: str) -> list[int]:
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=2)
        pid = int(client.info("server")["process_id"])
        client.close()
    except (redis.RedisError, KeyError, ValueError):
        return []
    return [pid] if Path(f"/proc/{pid}").exists() else []


async def background_busy(seconds: float = 1.0) -> float:
    """Share of the cores busy while the bench itself is idle: other processes' load."""
    busy, total = machine_busy()
    await asyncio.sleep(seconds)
    busy2, total2 = machine_busy()
    return 100 * (busy2 - busy) / max(total2 - total, 1e-9)


async def quiet_machine(threshold: float, max_wait: float) -> float:
    """Wait (up to max_wait s) until other processes use less than `threshold` % of the cores."""
    deadline = time.monotonic() + max_wait
    load = await background_busy()
    while threshold and load > threshold and time.monotonic() < deadline:
        load = await background_busy(2.0)
    return load


async def drive(host: str, port: int, scenario: Scenario, clients: int, duration: float, warmup: float,
                server_pids, store_pids) -> Outcome:
    outcome = Outcome()
    phase = {"measuring": False, "stop": False}

    async def one_client(index: int) -> None:
        client, tokens, seq = Client(host, port), scenario.tokens_for(index), 0
        while not phase["stop"]:
            body = scenario.body(index, seq)
            token = tokens[seq % len(tokens)]
            seq += 1
            started = time.perf_counter()
            try:
                status, _ = await client.request("POST", scenario.path, body, token)
            except (ConnectionError, OSError):
                status = "conn-error"
                client.close()
            if status in (200, 201, 202):
                outcome.all_accepted[status] += 1
            if phase["measuring"] and not phase["stop"]:
                outcome.latencies.append(time.perf_counter() - started)
                outcome.statuses[status] += 1
        client.close()

    tasks = [asyncio.create_task(one_client(i)) for i in range(clients)]
    await asyncio.sleep(warmup)
    phase["measuring"] = True
    pids, (db_pids, kv_pids) = server_pids(), store_pids()
    server_cpu, db_cpu, kv_cpu = cpu_seconds(pids), cpu_seconds(db_pids), cpu_seconds(kv_pids)
    own_cpu, (busy, total) = time.process_time(), machine_busy()
    started = time.perf_counter()
    await asyncio.sleep(duration)
    phase["stop"] = True
    outcome.elapsed = time.perf_counter() - started
    busy2, total2 = machine_busy()
    outcome.cpu = {"server": cpu_used(server_cpu, cpu_seconds(pids)), "db": cpu_used(db_cpu, cpu_seconds(db_pids)),
                   "redis": cpu_used(kv_cpu, cpu_seconds(kv_pids)), "loadgen": time.process_time() - own_cpu,
                   "machine": busy2 - busy, "wall_cores": total2 - total, "server_known": bool(pids)}
    await asyncio.wait(tasks, timeout=30)
    return outcome


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def report(scenario: Scenario, outcome: Outcome) -> dict:
    latencies = sorted(outcome.latencies)
    ok = sum(n for status, n in outcome.statuses.items() if isinstance(status, int) and status < 300)
    rate = ok / outcome.elapsed if outcome.elapsed else 0.0
    figures = {
        "scenario": scenario.name, "requests_per_s": rate, "items_per_s": rate * scenario.items_per_request,
        "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1000,
        "statuses": dict(outcome.statuses), "requests": len(latencies), "accepted": ok,
        "all_accepted": dict(outcome.all_accepted),
    }
    done = max(1, len(latencies))
    cpu = outcome.cpu
    rest = cpu["machine"] - cpu["server"] - cpu["db"] - cpu["redis"] - cpu["loadgen"]
    figures["cpu_ms_per_request"] = {name: 1000 * cpu[name] / done for name in ("server", "db", "redis", "loadgen")}
    figures["cpu_ms_per_request"]["rest"] = 1000 * rest / done
    if not cpu["server_known"]:  # --url: the server's processes are not ours to read; counted in rest
        figures["cpu_ms_per_request"]["server"] = None
    figures["machine_busy_pct"] = 100 * cpu["machine"] / cpu["wall_cores"] if cpu["wall_cores"] else 0.0
    return figures


def _ms(value: float | None, width: int) -> str:
    return f"{value:{width}.2f}" if value is not None else f"{'n/a':>{width}}"


def print_row(figures: dict) -> None:
    statuses = ", ".join(f"{k}:{v}" for k, v in sorted(figures["statuses"].items(), key=str))
    items = f"{figures['items_per_s']:>9.0f}" if figures["items_per_s"] != figures["requests_per_s"] else f"{'':>9}"
    target_rate, target_p99 = TARGETS[figures["scenario"]]
    achieved = figures["items_per_s"] if figures["scenario"] == "scans" else figures["requests_per_s"]
    if target_rate is None:
        verdict = "floor"
    else:
        met = achieved >= target_rate and (target_p99 is None or figures["p99_ms"] <= target_p99)
        verdict = "met" if met else "MISSED"
    cpu = figures["cpu_ms_per_request"]
    print(f"{figures['scenario']:16} {figures['requests_per_s']:7.0f} {items} {figures['p50_ms']:7.1f} "
          f"{figures['p99_ms']:7.1f} {figures['max_ms']:7.1f}  {_ms(cpu['server'], 6)} {cpu['db']:5.2f} "
          f"{cpu['redis']:5.2f} {cpu['loadgen']:5.2f} {cpu['rest']:5.2f} {figures['machine_busy_pct']:4.0f}% "
          f"{figures['background_busy_pct']:4.0f}%  {verdict:6}  {statuses}")


# --- what was accepted must be in the database ------------------------------------------------------

def verify(world: World, scenario: str, figures: dict, before: dict) -> str:
    """Every 2xx of the run (warm-up and drain included) against what the database holds: at
    least as much stored as acknowledged (a request cut off by the end of the run may have
    been stored without its answer being counted)."""
    from apps.alerts.models import Alert, AlertEvent
    from apps.audit.models import AuditEntry
    from apps.ingest.models import HealthSample, Scan

    tenant, accepted = world.tenant_id, figures["all_accepted"]
    if scenario == "heartbeats":
        stored = HealthSample.objects.filter(tenant_id=tenant).count() - before["samples"]
        return _verdict(stored >= accepted.get(202, 0), f"{accepted.get(202, 0)} heartbeats accepted, "
                                                        f"{stored} health samples stored")
    if scenario == "alerts-distinct":
        alerts = Alert.objects.filter(tenant_id=tenant, dedup_key__contains=":bench-").exclude(
            dedup_key__endswith=":bench-hot").count()
        audits = AuditEntry.objects.filter(tenant_id=tenant, action="alert.raised").count()
        return _verdict(alerts >= accepted.get(201, 0) and audits == alerts,
                        f"{accepted.get(201, 0)} created (201), {alerts} alerts and {audits} audit entries stored")
    if scenario == "alerts-one-key":
        hot = list(Alert.objects.filter(tenant_id=tenant, dedup_key__endswith=":bench-hot"))
        events = AlertEvent.objects.filter(alert__in=hot).count()
        counted = sum(a.count for a in hot)
        answered = accepted.get(200, 0) + accepted.get(201, 0)
        open_ = sum(1 for a in hot if a.status in ("triggered", "acknowledged"))
        return _verdict(open_ == 1 and counted == events and counted >= answered and accepted.get(201, 0) == 1,
                        f"{answered} accepted ({accepted.get(201, 0)} created), {open_} open alert on the key "
                        f"with count {counted} and {events} timeline events")
    if scenario.startswith("events-"):
        hot = scenario == "events-one-key"
        keys = Alert.objects.filter(tenant_id=tenant, source="external")
        keys = keys.filter(dedup_key__endswith="bench-event-hot") if hot else keys.filter(
            dedup_key__contains="bench-event-").exclude(dedup_key__endswith="bench-event-hot")
        answered = accepted.get(200, 0) + accepted.get(201, 0) + accepted.get(202, 0)  # the events API answers 202
        if hot:
            counted = sum(alert.count for alert in keys)
            return _verdict(counted >= answered, f"{answered} accepted, one open alert counted {counted}")
        return _verdict(keys.count() >= answered, f"{answered} accepted, {keys.count()} alerts stored")
    if scenario == "floor":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bench_floor")
            stored = cursor.fetchone()[0]
        return _verdict(stored >= accepted.get(201, 0), f"{accepted.get(201, 0)} rows acknowledged, {stored} stored")
    if scenario == "scans":
        stored = Scan.objects.filter(tenant_id=tenant).count() - before["scans"]
        expected = accepted.get(202, 0) * SCAN_BATCH
        return _verdict(stored >= expected, f"{expected} scans accepted, {stored} stored")
    return ""


def _verdict(ok: bool, text: str) -> str:
    return ("ok: " if ok else "LOST? ") + text


def counts(world: World) -> dict:
    from apps.ingest.models import HealthSample, Scan

    return {"samples": HealthSample.objects.filter(tenant_id=world.tenant_id).count(),
            "scans": Scan.objects.filter(tenant_id=world.tenant_id).count()}


# --- main ------------------------------------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="drive this running server instead of starting one")
    parser.add_argument("--database-url", help=f"default: $BENCH_DATABASE_URL or {DEFAULT_DATABASE_URL} "
                                               "(recreated when its name contains 'bench' and no --url is given)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each scenario")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--devices", type=int, default=32, help="tablets and scanners to enrol (each)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="per worker, with --worker-class gthread")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync",
                        help="sync measured cheaper per request than gthread on 2 cores (bench/README.md)")
    parser.add_argument("--access-log", action="store_true", help="gunicorn access log to var/ (off by default)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--quiet-below", type=float, default=0.0, metavar="PCT",
                        help="before each scenario, wait until other processes use less than PCT%% of the cores")
    parser.add_argument("--quiet-wait", type=float, default=120.0, metavar="S", help="longest wait for that")
    args = parser.parse_args()
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    if args.url and not args.database_url:
        parser.error("--url needs --database-url (the server's database, to seed and to check)")
    args.database_url = args.database_url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    return args


def start_floor(args) -> Server:
    """bench/floor_app.py under the same gunicorn shape, on the bench database (its own table)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, key text NOT NULL, body jsonb NOT NULL)")
    parts = urlsplit(args.database_url)
    env = {"PATH": os.environ.get("PATH", ""), "FLOOR_DATABASE_NAME": database_name(args.database_url),
           "FLOOR_DATABASE_USER": parts.username or "postgres", "FLOOR_DATABASE_PORT": str(parts.port or 5432)}
    return start_server(args, env, app="floor_app:application", port=free_port(),
                        extra=("--pythonpath", str(REPO_ROOT / "bench")))


def _stop_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through main's finally: the server is stopped


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    tag = uuid.uuid4().hex[:8]
    # The run's own broker keys, removed at the end: no worker runs here, so every delivery the
    # new alerts enqueue would otherwise wait in the shared queues for the next `make run`.
    broker_prefix = f"bench-ingest-{tag}:"
    env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
           "CELERY_BROKER_URL": args.redis_url, "CELERY_BROKER_KEY_PREFIX": broker_prefix,
           "CACHE_KEY_PREFIX": f"bench-{tag}",
           "RATE_LIMIT_DEVICE": "1000000/min", "RATE_LIMIT_ENROLL": "1000000/hour",
           "DJANGO_SETTINGS_MODULE": "tocsin.settings", "DJANGO_DEBUG": "false"}
    env.pop("DJANGO_READ_DOT_ENV_FILE", None)
    (REPO_ROOT / "var").mkdir(exist_ok=True)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, load generator: asyncio keep-alive "
          f"clients in this process, {args.clients} concurrent")
    if not args.url:
        started = time.monotonic()
        recreate_database(args.database_url)
        migrate(env)
        print(f"database {database_name(args.database_url)} recreated and migrated in "
              f"{time.monotonic() - started:.1f} s")
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "CACHE_KEY_PREFIX",
                                           "DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL",
                                           "CELERY_BROKER_KEY_PREFIX")})
    import django

    django.setup()
    from django.db import connection

    world = seed(tag)
    connection.close()

    server = None
    try:
        if args.url:
            base = args.url
            server_pids = list
            print(f"target {base} (started elsewhere; its rate limits must be raised)")
        else:
            server = start_server(args, env)
            base = server.url
            server_pids = server.pids
            print("server: " + " ".join(Path(c).name if i == 0 else c for i, c in enumerate(server.command)))
            print(f"        env RATE_LIMIT_DEVICE=1000000/min, CONN_MAX_AGE="
                  f"{os.environ.get('DATABASE_CONN_MAX_AGE', '60')}, LOG_LEVEL={os.environ.get('LOG_LEVEL', 'INFO')}")
        parts = urlsplit(base)
        host, port = parts.hostname, parts.port or 80
        if host not in ("127.0.0.1", "localhost"):
            raise SystemExit("this bench drives 127.0.0.1 only")
        results = asyncio.run(run_all(args, host, port, world, tag, server_pids))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    finally:
        if server is not None:
            server.stop()
            print("server stopped")
        _drop_broker_keys(args.redis_url, broker_prefix)


def _drop_broker_keys(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)


async def run_all(args, host: str, port: int, world: World, tag: str, server_pids) -> list[dict]:
    started = time.monotonic()
    devices = await enroll_all(host, port, world, args.devices, tag)
    print(f"enrolled {args.devices} tablets and {args.devices} scanners through the API "
          f"in {time.monotonic() - started:.1f} s")
    tablets = [token for _, token in devices["tablet"]]
    scanners = [token for _, token in devices["scanner"]]

    def own(tokens: list[str]):
        return lambda index: tokens[index::args.clients] or [tokens[index % len(tokens)]]

    hot_device = [tablets[0]]
    scenarios = {
        "heartbeats": Scenario("heartbeats", "/api/v1/heartbeats/", heartbeat_body, own(tablets)),
        "alerts-distinct": Scenario("alerts-distinct", "/api/v1/device-alerts/", make_distinct_alert_body(tag),
                                    own(tablets)),
        "alerts-one-key": Scenario("alerts-one-key", "/api/v1/device-alerts/", one_key_alert_body,
                                   lambda index: hot_device),
        "events-distinct": Scenario("events-distinct", "/api/v1/events/",
                                    make_event_body(tag, world.hotel[0], one_key=False), lambda index: [world.api_key]),
        "events-one-key": Scenario("events-one-key", "/api/v1/events/",
                                   make_event_body(tag, world.hotel[0], one_key=True), lambda index: [world.api_key]),
        "scans": Scenario("scans", "/api/v1/scans/batch/", scan_batch_body, own(scanners), SCAN_BATCH),
        "floor": Scenario("floor", "/floor/", make_event_body(tag, world.hotel[0], one_key=False),
                          lambda index: [None]),
    }
    print(f"\n{args.duration:g} s per scenario after {args.warmup:g} s warm-up; latency in ms; CPU in ms per request:\n"
          "server = gunicorn, db = its PostgreSQL backends, load = this process (the load generator),\n"
          "rest = everything else on the machine (kernel, other processes); busy = share of all cores in use\n"
          "during the run, bg = in the second before it (figures taken with a high bg are not this code's)")
    print(f"{'scenario':16} {'req/s':>7} {'items/s':>9} {'p50':>7} {'p99':>7} {'max':>7}  {'server':>6} {'db':>5} "
          f"{'redis':>5} {'load':>5} {'rest':>5} {'busy':>5} {'bg':>5}  {'target':6}  statuses")
    results, checks = [], []
    from asgiref.sync import sync_to_async

    for name in args.scenarios:
        background = await quiet_machine(args.quiet_below, args.quiet_wait)
        before = await sync_to_async(counts)(world)
        target_port, target_pids, floor = port, server_pids, None
        if name == "floor":
            floor = await sync_to_async(start_floor)(args)
            target_port, target_pids = urlsplit(floor.url).port, floor.pids
        try:
            outcome = await drive(host, target_port, scenarios[name], args.clients, args.duration, args.warmup,
                                  target_pids, lambda: (database_pids(args.database_url), redis_pids(args.redis_url)))
        finally:
            if floor is not None:
                floor.stop()
        figures = report(scenarios[name], outcome)
        figures["background_busy_pct"] = background
        print_row(figures)
        results.append(figures)
        checks.append(f"{name}: " + await sync_to_async(verify)(world, name, figures, before))
    print("\nnothing accepted lost?")
    for line in checks:
        print("  " + line)
    return results


if __name__ == "__main__":
    main()
