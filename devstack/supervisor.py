"""The process supervisor of `make run`: restart a crashed child, stop all on Ctrl-C.

Invariant: one child's crash never stops the others. A child that exits on its own is
restarted after a backoff that doubles on each quick crash (1 s, 2 s, 4 s ... at most
30 s) and starts again from 1 s once the child has run for a minute, so a crash loop
neither spins the CPU nor keeps a fixed service down for long. Each child runs in its own
process group, so stopping it stops what it forked (gunicorn and Celery pool processes);
Ctrl-C or SIGTERM stops every group (SIGTERM, then SIGKILL after a grace period).
Output lines are prefixed with the child's name. Children get SIGTERM
when the supervisor dies, however it dies (Linux parent-death signal).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

BACKOFF_START_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0


def _terminate_with_supervisor() -> None:
    """A child gets SIGTERM if the supervisor itself is killed (SIGKILL leaves it no time to
    stop its children): nothing of `make run` outlives it."""
    from billiard.util import set_pdeathsig

    set_pdeathsig(signal.SIGTERM)


def _say(message: str) -> None:
    print(f"[devstack] {message}", file=sys.stderr, flush=True)


@dataclass
class Child:
    name: str
    command: str
    env: dict[str, str]
    cwd: str
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_START_SECONDS
    restart_at: float | None = None
    _pump: threading.Thread | None = field(default=None, repr=False)

    def start(self, width: int) -> None:
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", self.command], cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_terminate_with_supervisor)
        self.started_at = time.monotonic()
        self.restart_at = None
        _say(f"{self.name} started (pid {self.process.pid})")
        self._pump = threading.Thread(target=self._copy_output, args=(self.process, width), daemon=True)
        self._pump.start()

    def _copy_output(self, process: subprocess.Popen, width: int) -> None:
        prefix = f"{self.name:<{width}} | ".encode()
        for line in iter(process.stdout.readline, b""):
            sys.stdout.buffer.write(prefix + line)
            sys.stdout.buffer.flush()

    def signal_group(self, signum: int) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)


class Supervisor:
    def __init__(self):
        self.children: list[Child] = []
        self._stopping = threading.Event()

    def add(self, name: str, command: str, *, env: dict[str, str], cwd: str) -> None:
        self.children.append(Child(name=name, command=command, env=env, cwd=cwd))

    def stop(self, *_args) -> None:
        self._stopping.set()

    def run(self) -> int:
        """Until Ctrl-C / SIGTERM; returns 0 (a stop asked for is not a failure)."""
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)
        width = max(len(child.name) for child in self.children)
        for child in self.children:
            child.start(width)
        while not self._stopping.wait(0.2):
            now = time.monotonic()
            for child in self.children:
                self._check(child, now, width)
        self._stop_all()
        return 0

    def _check(self, child: Child, now: float, width: int) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restarts += 1
                child.start(width)
            return
        code = child.process.poll()
        if code is None:
            return
        child.signal_group(signal.SIGKILL)  # whatever it left behind in its group (pool children)
        ran = now - child.started_at
        child.backoff = BACKOFF_START_SECONDS if ran >= HEALTHY_AFTER_SECONDS else child.backoff
        _say(f"{child.name} exited with {code} after {ran:.0f} s; restarting in {child.backoff:.0f} s "
             f"(restart {child.restarts + 1})")
        child.restart_at = now + child.backoff
        child.backoff = min(child.backoff * 2, BACKOFF_MAX_SECONDS)

    def _stop_all(self) -> None:
        _say("stopping every process")
        for child in self.children:
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _say(f"{child.name} did not stop within {STOP_GRACE_SECONDS:.0f} s; killing it")
            child.signal_group(signal.SIGKILL)
