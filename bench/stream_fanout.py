"""Fan-out of the SSE stream process: idle cost of N connected clients, and delivery latency.

    .venv/bin/python bench/stream_fanout.py [--clients 500] [--events 50] [--idle-seconds 20]

Starts its own stream process (uvicorn tocsin.asgi:application on a free port of
127.0.0.1, as `make run` does) on the Redis of REDIS_URL (a private key prefix, so it can
share a Redis with anything), connects N idle SSE clients from this one asyncio process,
measures the stream process's CPU over an idle window (keep-alives included), then
publishes M events the way the web and worker processes do (one Lua call: XADD + PUBLISH)
and measures publish → client latency across every client. With `--tenants 1` (the
default) every event goes to every client: the worst case for one process.

`--stream-url http://127.0.0.1:8001 --stream-pid PID --prefix tocsin` targets a running
stream process instead. Only 127.0.0.1 is ever contacted; counts and time are bounded.
The stream process needs no database: tickets are written straight into Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import psutil
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.realtime.stream.events import EventLog  # noqa: E402  (Django-free, see its docstring)
from apps.realtime.stream.tickets import StreamGrant, issue_ticket  # noqa: E402

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310 (127.0.0.1 only)
            return response.status == 200
    except OSError:
        return False


def start_stream_process(redis_url: str, prefix: str, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "TOCSIN_REALTIME_PREFIX": prefix,
           "DJANGO_SETTINGS_MODULE": "tocsin.settings", "LOG_FORMAT": "json"}
    uvicorn = os.path.join(os.path.dirname(sys.executable), "uvicorn")
    log = open(log_path, "ab")  # noqa: SIM115 (the child holds it for its lifetime)
    process = subprocess.Popen([uvicorn, "tocsin.asgi:application", "--host", "127.0.0.1", "--port",
                                str(port), "--no-access-log", "--timeout-graceful-shutdown", "2"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not _healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"stream process did not start; see {log_path}")
        time.sleep(0.1)
    return process, url


class Client:
    """An SSE client that only notes when each event id arrives."""

    def __init__(self, host: str, port: int, ticket: str):
        self.host, self.port, self.ticket = host, port, ticket
        self.arrivals: dict[str, float] = {}
        self.keepalives = 0
        self.connected = asyncio.Event()

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(f"GET /api/v1/stream/?ticket={self.ticket} HTTP/1.1\r\nHost: {self.host}\r\n"
                     f"Accept: text/event-stream\r\n\r\n".encode())
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")
        while await reader.readline() not in (b"\r\n", b""):
            pass
        self.connected.set()
        buffer = b""
        try:
            while True:
                size = int((await reader.readline()).strip() or b"0", 16)
                if size == 0:
                    return
                buffer += await reader.readexactly(size)
                await reader.readexactly(2)
                now = time.perf_counter()
                *frames, buffer = buffer.split(b"\n\n")
                for frame in frames:
                    if frame.startswith(b": keep-alive"):
                        self.keepalives += 1
                    elif frame.startswith(b"id: "):
                        self.arrivals[frame[4:frame.index(b"\n")].decode()] = now
        finally:
            writer.close()


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def bench(args) -> None:
    store = redis.Redis.from_url(args.redis_url)
    prefix = args.prefix or f"bench-{secrets.token_hex(4)}"
    workdir = Path(tempfile.mkdtemp(prefix="stream-fanout-"))
    started = None
    if args.stream_url:
        url, pid = args.stream_url.rstrip("/"), args.stream_pid
    else:
        started, url = start_stream_process(args.redis_url, prefix, workdir / "stream.log")
        pid = started.pid
    target = urlparse(url)
    if target.hostname not in LOCAL_HOSTS:
        raise SystemExit("this benchmark only talks to 127.0.0.1")
    stream_process = psutil.Process(pid)
    tenants = [f"ten_bench{secrets.token_hex(5)}" for _ in range(args.tenants)]
    log = EventLog(store, prefix=prefix, maxlen=10000, retention_seconds=600)
    clients = [Client(target.hostname, target.port,
                      issue_ticket(store, prefix=prefix, ttl_seconds=120,
                                   grant=StreamGrant(tenant=tenants[n % len(tenants)], role="staff",
                                                     principal=f"user:bench{n}")))
               for n in range(args.clients)]
    tasks: list[asyncio.Task] = []
    try:
        t0 = time.perf_counter()
        for first in range(0, len(clients), 50):
            batch = clients[first:first + 50]
            tasks += [asyncio.create_task(client.run()) for client in batch]
            await asyncio.wait_for(asyncio.gather(*(client.connected.wait() for client in batch)), timeout=30)
        connect_seconds = time.perf_counter() - t0
        rss_mb = stream_process.memory_info().rss / 2**20

        await asyncio.sleep(1)
        cpu_before, wall_before = cpu_seconds(stream_process), time.perf_counter()
        await asyncio.sleep(args.idle_seconds)
        idle_cpu = (cpu_seconds(stream_process) - cpu_before) / (time.perf_counter() - wall_before) * 100
        keepalives = sum(client.keepalives for client in clients)

        published: dict[str, tuple[float, str]] = {}
        cpu_before, wall_before = cpu_seconds(stream_process), time.perf_counter()
        for n in range(args.events):
            tenant = tenants[n % len(tenants)]
            sent_at = time.perf_counter()
            entry_id = log.append(tenant=tenant, event_type="alert.updated", site=None,
                                  data={"alert": {"id": f"alr_bench{n}", "count": n}})
            published[entry_id] = (sent_at, tenant)
            await asyncio.sleep(args.interval)
        deadline = time.perf_counter() + 10
        expected = {tenant: {i for i, (_, t) in published.items() if t == tenant} for tenant in tenants}
        while time.perf_counter() < deadline and any(
                not expected[tenants[n % len(tenants)]] <= client.arrivals.keys() for n, client in enumerate(clients)):
            await asyncio.sleep(0.05)
        burst_cpu = (cpu_seconds(stream_process) - cpu_before) / (time.perf_counter() - wall_before) * 100

        latencies, missing = [], 0
        for n, client in enumerate(clients):
            for entry_id in expected[tenants[n % len(tenants)]]:
                if entry_id in client.arrivals:
                    latencies.append((client.arrivals[entry_id] - published[entry_id][0]) * 1000)
                else:
                    missing += 1
        latencies.sort()
        connected = sum(1 for client in clients if client.connected.is_set())
        print(f"stream process        pid {pid}, {url} ({'started by the bench' if started else 'given'})")
        print(f"clients connected     {connected} of {args.clients} in {connect_seconds:.2f} s, "
              f"{args.tenants} tenant(s); stream RSS {rss_mb:.0f} MiB")
        print(f"idle CPU              {idle_cpu:.1f} % of one core over {args.idle_seconds:.0f} s "
              f"({keepalives} keep-alives received)")
        print(f"events                {args.events} published {args.interval * 1000:.0f} ms apart, "
              f"{len(latencies)} deliveries, {missing} missing")
        if latencies:
            print(f"latency publish→client p50 {statistics.median(latencies):.1f} ms, "
                  f"p99 {latencies[int(len(latencies) * 0.99) - 1]:.1f} ms, max {latencies[-1]:.1f} ms")
        print(f"CPU while delivering  {burst_cpu:.1f} % of one core")
        print("(clients run in this one Python process on the same cores: latency includes their own "
              "scheduling)")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for tenant in tenants:
            store.delete(f"{prefix}:events:{tenant}")
        if started is not None:
            started.terminate()
            started.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500, help="idle SSE clients (1-5000)")
    parser.add_argument("--tenants", type=int, default=1, help="clients are spread over this many tenants (1-500)")
    parser.add_argument("--events", type=int, default=50, help="events published (1-1000)")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between events (0.01-2)")
    parser.add_argument("--idle-seconds", type=float, default=20.0, help="idle window measured (5-120)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--stream-url", help="target a running stream process on 127.0.0.1")
    parser.add_argument("--stream-pid", type=int, help="its pid, for CPU figures")
    parser.add_argument("--prefix", help="its TOCSIN_REALTIME_PREFIX (with --stream-url)")
    args = parser.parse_args()
    if not (1 <= args.clients <= 5000 and 1 <= args.tenants <= min(500, args.clients) and 1 <= args.events <= 1000):
        parser.error("--clients 1-5000, --tenants 1-500 (at most one per client), --events 1-1000")
    if not 0.01 <= args.interval <= 2 or not 5 <= args.idle_seconds <= 120:
        parser.error("--interval must be 0.01-2 s and --idle-seconds 5-120 s")
    if bool(args.stream_url) != bool(args.stream_pid) or (args.stream_url and not args.prefix):
        parser.error("--stream-url needs --stream-pid and --prefix")
    if urlparse(args.redis_url).hostname not in LOCAL_HOSTS:
        parser.error("Redis must be on 127.0.0.1")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.clients + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.clients + 1000), hard))
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
