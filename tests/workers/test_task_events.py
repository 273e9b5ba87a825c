"""Task events are sent once a monitor asks for them, as Flower does, and not before (real worker).

Nobody reads them without a monitor, and each costs a Redis publish in the worker's main
process; Flower's `enable_events` broadcast must still turn them on in a running worker.
"""

from __future__ import annotations

import threading
import time

import pytest

from apps.common.queueing import enqueue
from workers.app import app

pytestmark = pytest.mark.e2e


class _EventLog:
    """Every task event on the broker, collected by a receiver in a thread."""

    def __init__(self):
        self.events: list[dict] = []
        self._receiver = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with app.connection_for_read() as connection:
            self._receiver = receiver = app.events.Receiver(connection, handlers={"*": self._record})
            ready = receiver.on_consume_ready

            def on_consume_ready(*args, **kwargs):
                ready(*args, **kwargs)
                self._ready.set()

            receiver.on_consume_ready = on_consume_ready
            receiver.capture(limit=None, timeout=None, wakeup=False)

    def _record(self, event: dict) -> None:
        if event.get("type", "").startswith("task-"):
            self.events.append(event)

    def __enter__(self) -> _EventLog:
        self._thread.start()
        assert self._ready.wait(10), "the event receiver did not start"
        return self

    def __exit__(self, *exc) -> None:
        self._receiver.should_stop = True
        self._thread.join(5)

    def wait_for(self, event_type: str, timeout: float = 15) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(event["type"] == event_type for event in self.events):
                return True
            time.sleep(0.1)
        return False


def test_task_events_start_when_a_monitor_enables_them(celery_worker_process):
    worker = celery_worker_process(concurrency=1)
    with _EventLog() as log:
        assert enqueue("tocsin.housekeeping.ping")
        worker.wait_for_log("ping received")
        time.sleep(1.0)  # an event would have arrived by now
        assert log.events == []  # neither "sent" by the publisher nor any state from the worker

        app.control.enable_events()  # what Flower broadcasts every few seconds while it runs
        deadline = time.monotonic() + 15
        while not log.wait_for("task-succeeded", timeout=1) and time.monotonic() < deadline:
            enqueue("tocsin.housekeeping.ping")  # the broadcast may land after a ping: send another
        assert log.wait_for("task-succeeded", timeout=1)
        assert {event["type"] for event in log.events} >= {"task-received", "task-started", "task-succeeded"}
