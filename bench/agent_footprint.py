"""Device agent footprint: idle RSS and CPU, and RSS while flushing 10,000 queued scans.

Targets (DESIGN/issue 6): at most 40 MB RSS and at most 1 % of one core when idle.

    python bench/agent_footprint.py [--idle-seconds 60] [--scans 10000]

A real ``python -m device_agent run`` subprocess talks to the in-process stand-in server
from the agent's tests (tests/device_agent/standin_server.py); its memory and CPU are read
from /proc, so nothing else is needed. Prints figures; it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from device_agent.outbox import SCAN, NewItem, Outbox  # noqa: E402
from device_agent.timeutil import iso_utc  # noqa: E402

RSS_TARGET_MB = 40.0
IDLE_CPU_TARGET_PERCENT = 1.0
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def load_standin():
    path = REPO_ROOT / "tests" / "device_agent" / "standin_server.py"
    spec = importlib.util.spec_from_file_location("agent_standin_server", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def status(port: int) -> dict | None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}/api/status", timeout=2) as answer:
            return json.loads(answer.read())
    except OSError:
        return None


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def agent_command(config: Path, command: str, *extra: str, **popen) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_AGENT_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.Popen([sys.executable, "-m", "device_agent", command, "--config",
                             str(config), *extra], env=env, cwd=str(REPO_ROOT), **popen)


def queue_scans(state_dir: str, count: int) -> None:
    outbox = Outbox(os.path.join(state_dir, "outbox.sqlite3"))
    now = time.time()
    items = []
    for number in range(count):
        scan_id = str(uuid.uuid4())
        items.append(NewItem(SCAN, scan_id, now - count + number, {
            "scan_id": scan_id, "scanned_at": iso_utc(now - count + number),
            "birth_year": 1960 + number % 45, "age": 20 + number % 45,
            "is_underage": number % 12 == 0, "is_valid": True, "document_expired": False,
            "jurisdiction": "CA", "subject_hash": uuid.uuid4().hex * 2}))
    outbox.put_many(items)
    outbox.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--scans", type=int, default=10_000)
    args = parser.parse_args()

    standin = load_standin()
    state = standin.StandinState()
    server = standin.StandinServer(state).start()
    work = Path(tempfile.mkdtemp(prefix="agent-footprint-"))
    port = free_port()
    config = work / "config.json"
    config.write_text(json.dumps({
        "api_base_url": server.url, "state_dir": str(work / "state"), "status_port": port,
        "location_id": "loc-1", "kind": "scanner", "scanner_input": "stdin",
    }))
    log = open(work / "agent.log", "ab")  # noqa: SIM115 (closed below)
    enrol = agent_command(config, "enroll", "--setup-token", state.issue_setup_token("loc-1"),
                          stdout=subprocess.DEVNULL, stderr=log)
    if enrol.wait(60) != 0:
        raise SystemExit(f"enrolment against the stand-in server failed: see {work}/agent.log")

    agent = agent_command(config, "run", stdin=subprocess.PIPE, stderr=log)
    wait_until(lambda: (status(port) or {}).get("registered"), 30, "the agent to start")
    time.sleep(5)  # first heartbeat, site refresh, imports settle
    cpu_before, wall_before = cpu_seconds(agent.pid), time.monotonic()
    time.sleep(args.idle_seconds)
    idle_cpu = (cpu_seconds(agent.pid) - cpu_before) / (time.monotonic() - wall_before) * 100
    idle_rss = rss_mb(agent.pid)
    agent.send_signal(signal.SIGTERM)
    agent.wait(30)

    queue_scans(str(work / "state"), args.scans)
    started = time.monotonic()
    agent = agent_command(config, "run", stdin=subprocess.PIPE, stderr=log)
    peak = 0.0
    while len(state.scans) < args.scans:
        peak = max(peak, rss_mb(agent.pid))
        if time.monotonic() - started > 300:
            raise SystemExit("flush did not finish within 5 minutes")
        time.sleep(0.02)
    flush_seconds = time.monotonic() - started
    peak = max(peak, rss_mb(agent.pid))
    agent.send_signal(signal.SIGTERM)
    agent.wait(30)
    log.close()
    server.stop()

    psutil = importlib.util.find_spec("psutil") is not None
    print(f"agent footprint (python {sys.version.split()[0]}, psutil "
          f"{'installed' if psutil else 'absent'}, {os.cpu_count()} cores)")
    print(f"  idle RSS:                 {idle_rss:6.1f} MB   (target <= {RSS_TARGET_MB:.0f} MB)"
          f"  {'ok' if idle_rss <= RSS_TARGET_MB else 'OVER'}")
    print(f"  idle CPU over {args.idle_seconds:.0f} s:       {idle_cpu:6.2f} %    (target <= "
          f"{IDLE_CPU_TARGET_PERCENT:.0f} % of one core)"
          f"  {'ok' if idle_cpu <= IDLE_CPU_TARGET_PERCENT else 'OVER'}")
    print(f"  peak RSS flushing {args.scans} scans: {peak:6.1f} MB   (target <= "
          f"{RSS_TARGET_MB:.0f} MB)  {'ok' if peak <= RSS_TARGET_MB else 'OVER'}")
    print(f"  flush time (start to last scan stored): {flush_seconds:.1f} s, "
          f"{len(state.scan_batches)} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
