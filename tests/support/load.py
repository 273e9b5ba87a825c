"""A steady stream of device requests against a live server, recording every outcome.

Used by the chaos tests: a fixed rate (not "as fast as possible"), so the figures say what
a fleet of devices sees during a fault, and every request carries a timestamp so a test can
cut the results into before / during / after.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests
from django.utils import timezone


@dataclass
class Outcome:
    started: float
    seconds: float
    status: int  # 0: no answer (connection refused, timeout)
    kind: str
    dedup_key: str | None = None
    retry_after: str | None = None


@dataclass
class DeviceLoad:
    """`threads` devices, each sending one request every `threads / rate` seconds."""

    base_url: str
    tokens: list[str]
    rate: float = 20.0
    alert_every: int = 5  # every Nth request of a device raises a device alert; the rest are heartbeats
    timeout: float = 10.0
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(token, index), daemon=True)
                         for index, token in enumerate(self.tokens)]

    def start(self) -> DeviceLoad:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        return self.outcomes

    def _run(self, token: str, index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        interval = len(self.tokens) / self.rate
        # Devices spread evenly over the interval, and their alerts over the cycle: a steady
        # stream, not bursts of simultaneous requests.
        next_at = time.monotonic() + interval * index / len(self.tokens)
        sent = index
        self._stop.wait(max(0.0, next_at - time.monotonic()))
        while not self._stop.is_set():
            sent += 1
            outcome = self._send(session, alert=sent % self.alert_every == 0)
            with self._lock:
                self.outcomes.append(outcome)
            next_at += interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _send(self, session: requests.Session, *, alert: bool) -> Outcome:
        now = timezone.now().isoformat()
        if alert:
            key = f"chaos-{uuid.uuid4().hex[:12]}"
            path, body = "/api/v1/device-alerts/", {"kind": "tamper", "dedup_key": key, "occurred_at": now,
                                                    "details": {"note": "chaos test"}}
        else:
            key = None
            path, body = "/api/v1/heartbeats/", {"sent_at": now, "battery": {"level": 80}}
        started = time.monotonic()
        try:
            response = session.post(self.base_url + path, json=body, timeout=self.timeout)
        except requests.RequestException:
            return Outcome(started, time.monotonic() - started, 0, "alert" if alert else "heartbeat", key)
        return Outcome(started, time.monotonic() - started, response.status_code,
                       "alert" if alert else "heartbeat", key, response.headers.get("Retry-After"))


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def summary(outcomes: list[Outcome]) -> str:
    seconds = sorted(o.seconds for o in outcomes)
    statuses: dict[int, int] = {}
    for outcome in outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    return (f"n={len(outcomes)} statuses={dict(sorted(statuses.items()))} "
            f"p50={percentile(seconds, 0.5) * 1000:.1f}ms p99={percentile(seconds, 0.99) * 1000:.1f}ms "
            f"max={(seconds[-1] if seconds else 0) * 1000:.1f}ms")
