"""Heartbeats of beat, workers and the watched periodic tasks, for the watchdog and /readyz.

Invariant: a heartbeat says the thing *works*, not only that its process exists: beat
beats from its scheduling loop, a worker only while its broker connection is up, and a
watched task when it completed. A heartbeat write that fails (database down) is logged
and skipped; it never stops the process it reports on.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from celery.signals import task_success, worker_ready, worker_shutdown
from django.conf import settings
from django.db import connection
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

_worker_state: dict = {}


def _record(name: str, kind: str, details: dict | None = None) -> None:
    from apps.operations.services import heartbeat_record

    try:
        heartbeat_record(name=name, kind=kind, details=details)
    except Exception as exc:  # the database may be restarting; the next beat writes again
        logger.warning("heartbeat not written", extra={"heartbeat": name, "error": type(exc).__name__})
        connection.close()


class HeartbeatScheduler(DatabaseScheduler):
    """django-celery-beat's scheduler, writing beat's heartbeat from its own loop."""

    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        delay = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._last_heartbeat >= settings.TOCSIN_HEARTBEAT_SECONDS:
            self._last_heartbeat = now
            _record("beat", "beat", {"pid": os.getpid()})
        return min(delay, settings.TOCSIN_HEARTBEAT_SECONDS)


def _worker_loop(consumer, name: str, stop: threading.Event) -> None:
    queues = sorted(queue.name for queue in consumer.task_consumer.queues) if consumer.task_consumer else []
    while not stop.is_set():
        conn = consumer.connection
        if conn is not None and conn.connected:
            _record(name, "worker", {"queues": queues, "pid": os.getpid()})
        stop.wait(settings.TOCSIN_HEARTBEAT_SECONDS)
    connection.close()


@worker_ready.connect
def start_worker_heartbeat(sender=None, **_kwargs) -> None:
    name = f"worker:{sender.hostname}"
    stop = threading.Event()
    thread = threading.Thread(target=_worker_loop, args=(sender, name, stop), name="tocsin-heartbeat", daemon=True)
    _worker_state.update(name=name, stop=stop, thread=thread)
    thread.start()


@worker_shutdown.connect
def stop_worker_heartbeat(**_kwargs) -> None:
    from apps.operations.services import heartbeat_forget

    if "stop" not in _worker_state:
        return
    _worker_state["stop"].set()
    _worker_state["thread"].join(timeout=5)
    try:
        heartbeat_forget(name=_worker_state["name"])
    except Exception as exc:  # stale within a minute anyway
        logger.warning("worker heartbeat not removed", extra={"error": type(exc).__name__})


@task_success.connect
def record_watched_task(sender=None, **_kwargs) -> None:
    from apps.operations.selectors import WATCHED_TASKS

    if sender is not None and sender.name in WATCHED_TASKS:
        _record(f"task:{sender.name}", "task")
