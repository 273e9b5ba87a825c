"""``python -m agent_tools.simulator``: a fleet of simulated devices in one process.

Each device is a real agent minus the hardware (``simulated_device``); devices are spread
over the seed_demo setup-token file (``fleet``). The fleet waits for a server that is not
up yet, logs a summary line now and then, and stops promptly on SIGINT/SIGTERM. It is a
development tool: the agent's installed package does not contain it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time

from agent_tools.fleet import FleetCounters, load_setup_entries
from agent_tools.simulated_device import SimulatedDevice
from device_agent.cli import stop_on_signals
from device_agent.config import LOG_LEVELS
from device_agent.logging_setup import JsonFormatter, configure_logging

log = logging.getLogger(__name__)

SUMMARY_SECONDS = 30.0
STOP_JOIN_SECONDS = 10.0


def run_simulator(
    *,
    server: str,
    setup_tokens_path: str,
    devices: int,
    state_dir: str,
    stop: threading.Event,
    duration: float | None = None,
) -> int:
    """Run ``devices`` simulated devices until ``stop`` is set (or ``duration`` passes)."""
    try:
        entries = load_setup_entries(setup_tokens_path)
    except (OSError, ValueError) as exc:
        log.error("cannot read the setup tokens", extra={"fields": {"error": str(exc)}})
        return 2
    if devices < 1:
        log.error("--devices must be at least 1")
        return 2
    counters = FleetCounters()
    fleet = [
        SimulatedDevice(server=server, entry=entries[i % len(entries)], index=i // len(entries),
                        state_root=state_dir, stop=stop, counters=counters)
        for i in range(devices)
    ]
    kinds: dict[str, int] = {}
    for device in fleet:
        kinds[device.kind] = kinds.get(device.kind, 0) + 1
    log.info("simulator starting", extra={"fields": {"server": server, "devices": kinds}})
    for device in fleet:
        device.start()
    deadline = time.time() + duration if duration else None
    while not stop.wait(_next_wait(deadline)):
        if deadline is not None and time.time() >= deadline:
            stop.set()
            break
        log.info("simulator running", extra={"fields": counters.snapshot()})
    join_deadline = time.time() + STOP_JOIN_SECONDS
    for device in fleet:
        device.join(max(0.0, join_deadline - time.time()))
    log.info("simulator stopped", extra={"fields": counters.snapshot()})
    return 0


def _next_wait(deadline: float | None) -> float:
    if deadline is None:
        return SUMMARY_SECONDS
    return max(0.0, min(SUMMARY_SECONDS, deadline - time.time()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agent_tools.simulator",
        description="run a fleet of simulated devices against a server")
    parser.add_argument("--server", required=True, help="API base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--setup-tokens", required=True, help="JSON file written by seed_demo")
    parser.add_argument("--devices", type=int, default=30)
    parser.add_argument("--state-dir", default=os.path.join("var", "simulator"))
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--log-level", default="INFO", choices=LOG_LEVELS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)  # the agent's loggers, which do not propagate
    tool_lines = logging.StreamHandler(sys.stderr)
    tool_lines.setFormatter(JsonFormatter())
    logging.basicConfig(level=args.log_level, handlers=[tool_lines])  # this tool's: the same JSON
    stop = threading.Event()
    stop_on_signals(stop)
    return run_simulator(server=args.server, setup_tokens_path=args.setup_tokens,
                         devices=args.devices, state_dir=args.state_dir, stop=stop,
                         duration=args.duration)


if __name__ == "__main__":
    sys.exit(main())
