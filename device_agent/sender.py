"""Moves items from the outbox to the server: in order, in batches, with backoff.

Decisions made here:

* Scans and telemetry readings wait for a batch: ``batch_size`` items or the oldest one
  ``batch_timeout_seconds`` old, whichever comes first (or at once with ``batch_upload`` off).
  Once due, everything waiting goes, in requests of up to 500 (the server's maximum), so a
  backlog after an outage drains in a few requests. A request the server finds too large
  (413) is split in two.
* Heartbeats and device alerts go as soon as they are queued; urgent alerts (underage) first.
* Kinds are sent oldest-first by their items' own timestamps.
* A transient failure backs that kind off exponentially (with jitter, at most five minutes);
  after ``retry_attempts`` failures in a row the agent counts itself offline. A refusal that
  will never succeed parks the items with the server's reason.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from device_agent.backoff import Backoff
from device_agent.clock import ServerClock
from device_agent.device_api import (
    DEVICE_ALERTS_PATH,
    HEARTBEATS_PATH,
    SCAN_BATCH_PATH,
    TELEMETRY_PATH,
    DeviceSession,
)
from device_agent.http_client import (
    DeviceRevoked,
    NotEnrolled,
    RejectedRequest,
    TransientApiError,
)
from device_agent.outbox import (
    ALERT,
    HEARTBEAT,
    KINDS,
    SCAN,
    TELEMETRY,
    Batch,
    KindSummary,
    Outbox,
)
from device_agent.runtime_status import RuntimeStatus

log = logging.getLogger(__name__)

MAX_ITEMS_PER_REQUEST = 500
MAX_IDLE_WAIT_SECONDS = 60.0
COLLAPSE_EVERY_SECONDS = 60.0
_PATHS = {
    SCAN: SCAN_BATCH_PATH,
    TELEMETRY: TELEMETRY_PATH,
    HEARTBEAT: HEARTBEATS_PATH,
    ALERT: DEVICE_ALERTS_PATH,
}
_BATCHED = (SCAN, TELEMETRY)
_DISPOSABLE_OFFLINE = (HEARTBEAT, TELEMETRY)


@dataclass(frozen=True)
class SendPolicy:
    batch_size: int = 10
    batch_timeout_seconds: float = 300.0
    batch_upload: bool = True
    offline_queue: bool = True
    retry_attempts: int = 3
    request_timeout_seconds: float = 10.0


@dataclass
class SendReport:
    acknowledged: int = 0
    parked: int = 0
    failed: int = 0
    dropped: int = 0
    stopped_by: str | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "acknowledged": self.acknowledged,
            "parked": self.parked,
            "failed": self.failed,
            "dropped": self.dropped,
            "stopped_by": self.stopped_by,
            "errors": self.errors,
        }


class Sender:
    """Sends whatever is due; used by one thread at a time."""

    def __init__(
        self,
        outbox: Outbox,
        session: DeviceSession,
        policy: Callable[[], SendPolicy],
        status: RuntimeStatus,
        *,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        server_clock: ServerClock | None = None,
        on_heartbeat_reply: Callable[[dict], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.session = session
        self.policy = policy
        self.status = status
        self.server_clock = server_clock
        # The heartbeat answer may carry a shadow delta and commands (device_agent/control.py).
        self.on_heartbeat_reply = on_heartbeat_reply
        self._clock = clock
        self._backoffs = {kind: Backoff(rng=rng) for kind in KINDS}
        self._failures_in_a_row = 0
        self._next_collapse_at = 0.0

    def send_due(self, *, force: bool = False, deadline: float | None = None) -> SendReport:
        """Send every due batch; ``force`` sends held batches and ignores backoff timers."""
        report = SendReport()
        if self._clock() >= self._next_collapse_at:
            self.outbox.collapse_stale_heartbeats(self._clock())
            self._next_collapse_at = self._clock() + COLLAPSE_EVERY_SECONDS
        failed_kinds: set[str] = set()
        while True:
            now = self._clock()
            if deadline is not None and now >= deadline:
                report.stopped_by = "deadline"
                break
            kind = self._next_kind(self.outbox.summaries(), now, force, failed_kinds)
            if kind is None:
                break
            limit = MAX_ITEMS_PER_REQUEST if kind in _BATCHED else 1
            batch = self.outbox.take_batch(kind, limit)
            if batch is None:
                break
            outcome = self._send_batch(batch, report, deadline)
            if outcome == "stop":
                break
            if outcome == "failed":
                failed_kinds.add(kind)
        return report

    def seconds_until_due(self) -> float:
        """How long the sending thread may sleep before something becomes due."""
        state = self.session.state
        if state.revoked or not state.enrolled:
            return MAX_IDLE_WAIT_SECONDS
        now = self._clock()
        policy = self.policy()
        wait = MAX_IDLE_WAIT_SECONDS
        for kind, summary in self.outbox.summaries().items():
            backoff = self._backoffs[kind]
            if not backoff.ready(now):
                wait = min(wait, backoff.next_at - now)
            elif self._is_due(kind, summary, now, policy, force=False):
                return 0.0
            else:
                wait = min(wait, summary.oldest_at + policy.batch_timeout_seconds - now)
        return max(0.0, wait)

    def _next_kind(
        self, summaries: dict[str, KindSummary], now: float, force: bool, failed: set[str]
    ) -> str | None:
        policy = self.policy()
        due = [
            (-summary.urgent, summary.oldest_at, kind)
            for kind, summary in summaries.items()
            if kind not in failed
            and (force or self._backoffs[kind].ready(now))
            and self._is_due(kind, summary, now, policy, force=force)
        ]
        return min(due)[2] if due else None

    @staticmethod
    def _is_due(
        kind: str, summary: KindSummary, now: float, policy: SendPolicy, *, force: bool
    ) -> bool:
        if summary.waiting == 0:
            return False
        if kind not in _BATCHED or force or summary.has_open_batch or summary.urgent:
            return True
        return (
            not policy.batch_upload
            or summary.waiting >= policy.batch_size
            or now - summary.oldest_at >= policy.batch_timeout_seconds
        )

    def _send_batch(self, batch: Batch, report: SendReport, deadline: float | None) -> str:
        timeout = self.policy().request_timeout_seconds
        if deadline is not None:
            timeout = max(0.5, min(timeout, deadline - self._clock()))
        body = _request_body(batch)
        if self.server_clock is not None:
            body = self.server_clock.corrected(body)  # a clock days off still sends true times
        try:
            response = self.session.call("POST", _PATHS[batch.kind], body, timeout=timeout)
        except (DeviceRevoked, NotEnrolled) as exc:
            report.stopped_by = type(exc).__name__
            self.status.last_error = str(exc)
            return "stop"
        except TransientApiError as exc:
            self._record_transient_failure(batch, exc, report)
            return "failed"
        except RejectedRequest as exc:
            self._record_refusal(batch, exc, report)
            return "refused"
        self._record_success(batch, response.body, report)
        if batch.kind == HEARTBEAT and self.on_heartbeat_reply and isinstance(response.body, dict):
            self.on_heartbeat_reply(response.body)
        return "sent"

    def _record_success(self, batch: Batch, body: object, report: SendReport) -> None:
        rejected = _rejected_reasons(body, len(batch.items)) if batch.kind in _BATCHED else {}
        if rejected:
            self.outbox.park(
                [(batch.items[index].seq, reason) for index, reason in rejected.items()],
                self._clock(),
            )
            log.warning(
                "server rejected items; parked with its reasons",
                extra={"fields": {"kind": batch.kind, "batch_id": batch.batch_id,
                                  "rejected": len(rejected),
                                  "item_ids": [batch.items[i].item_id for i in rejected]}},
            )
        accepted = [item.seq for index, item in enumerate(batch.items) if index not in rejected]
        self.outbox.ack(accepted)
        report.acknowledged += len(accepted)
        report.parked += len(rejected)
        self._backoffs[batch.kind].succeeded()
        self._server_reachable()
        log.debug(
            "batch delivered",
            extra={"fields": {"kind": batch.kind, "batch_id": batch.batch_id,
                              "items": len(batch.items)}},
        )

    def _record_transient_failure(
        self, batch: Batch, exc: TransientApiError, report: SendReport
    ) -> None:
        seqs = [item.seq for item in batch.items]
        self.outbox.record_failure(seqs, str(exc))
        delay = self._backoffs[batch.kind].failed(self._clock(), exc.retry_after)
        report.failed += len(seqs)
        report.errors.append(str(exc))
        self.status.last_error = str(exc)
        self._failures_in_a_row += 1
        policy = self.policy()
        if self._failures_in_a_row >= policy.retry_attempts and not self.status.offline:
            self.status.offline = True
            log.error(
                "server unreachable; working offline, items stay queued",
                extra={"fields": {"attempts": self._failures_in_a_row, "error": str(exc)}},
            )
        else:
            log.warning(
                "send failed; will retry",
                extra={"fields": {"kind": batch.kind, "items": len(seqs), "error": str(exc),
                                  "retry_in_s": round(delay, 1)}},
            )
        if self.status.offline and not policy.offline_queue and batch.kind in _DISPOSABLE_OFFLINE:
            self.outbox.drop(seqs)
            report.dropped += len(seqs)
            log.info(
                "offline_queue is off: dropped undeliverable items",
                extra={"fields": {"kind": batch.kind, "items": len(seqs)}},
            )

    def _record_refusal(self, batch: Batch, exc: RejectedRequest, report: SendReport) -> None:
        self._server_reachable()
        if exc.status == 413 and len(batch.items) > 1:
            self.outbox.split_batch(batch.batch_id)
            log.warning(
                "request too large; splitting the batch",
                extra={"fields": {"kind": batch.kind, "items": len(batch.items)}},
            )
            return
        reason = exc.reason()
        self.outbox.park([(item.seq, reason) for item in batch.items], self._clock())
        report.parked += len(batch.items)
        self.status.last_error = f"parked {len(batch.items)} {batch.kind} item(s): {reason}"
        log.error(
            "server refused items for good; parked with its reason",
            extra={"fields": {"kind": batch.kind, "items": len(batch.items), "reason": reason}},
        )

    def _server_reachable(self) -> None:
        self._failures_in_a_row = 0
        if self.status.offline:
            self.status.offline = False
            log.info("server reachable again; sending the queue")


def _request_body(batch: Batch) -> object:
    payloads = [item.payload for item in batch.items]
    if batch.kind == SCAN:
        return {"batch_id": batch.batch_id, "scans": payloads}
    if batch.kind == TELEMETRY:
        return {"readings": payloads}
    return payloads[0]


def _rejected_reasons(body: object, size: int) -> dict[int, str]:
    """Map request index → reason from a batch answer's ``rejected`` list."""
    entries = body.get("rejected") if isinstance(body, dict) else None
    reasons: dict[int, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        index = entry.get("index") if isinstance(entry, dict) else None
        if isinstance(index, int) and 0 <= index < size:
            reasons[index] = f"rejected by the server: {entry.get('errors')}"
    return reasons


class SenderLoop(threading.Thread):
    """The one thread that talks to the server: sends when due, on demand, and at shutdown."""

    def __init__(
        self,
        sender: Sender,
        *,
        shutdown_flush_seconds: float,
        periodic: Callable[[], float] | None = None,
        after_send: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="tocsin-sender", daemon=True)
        self.sender = sender
        self._shutdown_flush_seconds = shutdown_flush_seconds
        self._periodic = periodic
        # Runs in this thread after each round: the server's commands (they may send, too).
        self._after_send = after_send
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._flush_waiters: list[_FlushWaiter] = []

    def notify(self) -> None:
        """Something was queued: re-check what is due."""
        self._wake.set()

    def request_flush(self, timeout: float) -> SendReport | None:
        """Send everything held now; returns the report, or None if it took too long."""
        waiter = _FlushWaiter()
        with self._lock:
            self._flush_waiters.append(waiter)
        self._wake.set()
        return waiter.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            wait = self._run_periodic()
            with self._lock:
                waiters, self._flush_waiters = self._flush_waiters, []
            report = self._send(force=bool(waiters))
            for waiter in waiters:
                waiter.done(report)
            self._run_after_send()
            wait = min(wait, self.sender.seconds_until_due())
            if wait > 0:
                self._wake.wait(wait)
        deadline = time.time() + self._shutdown_flush_seconds
        report = self._send(force=True, deadline=deadline)
        log.info("shutdown flush finished", extra={"fields": report.as_dict()})
        with self._lock:
            for waiter in self._flush_waiters:
                waiter.done(report)

    def _run_periodic(self) -> float:
        if self._periodic is None:
            return MAX_IDLE_WAIT_SECONDS
        try:
            return self._periodic()
        except Exception:
            log.exception("periodic task failed; retrying in a minute")
            return MAX_IDLE_WAIT_SECONDS

    def _run_after_send(self) -> None:
        if self._after_send is None:
            return
        try:
            self._after_send()
        except Exception:
            log.exception("handling the server's commands failed; they are retried or expire")

    def _send(self, *, force: bool, deadline: float | None = None) -> SendReport:
        try:
            return self.sender.send_due(force=force, deadline=deadline)
        except Exception as exc:
            log.exception("unexpected error while sending; the queue is intact, retrying")
            self.sender.status.last_error = f"internal error while sending: {exc}"
            self._wake.wait(5.0)
            return SendReport(errors=[str(exc)])


class _FlushWaiter:
    def __init__(self) -> None:
        self._event = threading.Event()
        self._report: SendReport | None = None

    def done(self, report: SendReport) -> None:
        self._report = report
        self._event.set()

    def wait(self, timeout: float) -> SendReport | None:
        return self._report if self._event.wait(timeout) else None
