"""Prometheus gauges of the platform's own health, read from PostgreSQL at scrape time.

Invariant: the same figures as `/readyz` and the watchdog (one selector), so a Grafana
panel, a Prometheus alert and a page never disagree about whether beat is running.
A heartbeat never written reads as +Inf seconds old, which every "older than" rule catches.
"""

from __future__ import annotations

import math

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

from apps.common.scrape import in_event_loop

_NAMES = {
    "tocsin_beat_heartbeat_age_seconds": "Seconds since celery beat last wrote its heartbeat",
    "tocsin_workers_consuming": "Celery workers with a fresh heartbeat and a broker connection",
    "tocsin_periodic_task_age_seconds": "Seconds since a watched periodic task last completed",
    "tocsin_outbox_oldest_pending_seconds": "Age of the oldest due delivery not yet sent",
    "tocsin_notifications_dead_24h": "Deliveries that went dead in the last 24 hours",
}


class PlatformCollector:
    def describe(self):
        for name, documentation in _NAMES.items():
            yield GaugeMetricFamily(name, documentation, labels=["task"] if "periodic" in name else None)

    def collect(self):
        if in_event_loop():
            return  # Flower's /metrics (tornado): the ORM refuses async callers; the web's /metrics has these
        from apps.operations.selectors import platform_status

        status = platform_status()
        beat_age = status.age(status.beat_seen_at)
        yield GaugeMetricFamily("tocsin_beat_heartbeat_age_seconds", _NAMES["tocsin_beat_heartbeat_age_seconds"],
                                value=math.inf if beat_age is None else beat_age)
        yield GaugeMetricFamily("tocsin_workers_consuming", _NAMES["tocsin_workers_consuming"],
                                value=len(status.workers))
        tasks = GaugeMetricFamily("tocsin_periodic_task_age_seconds", _NAMES["tocsin_periodic_task_age_seconds"],
                                  labels=["task"])
        for task, last in status.task_runs.items():
            age = status.age(last)
            tasks.add_metric([task], math.inf if age is None else age)
        yield tasks
        yield GaugeMetricFamily("tocsin_outbox_oldest_pending_seconds",
                                _NAMES["tocsin_outbox_oldest_pending_seconds"], value=status.outbox_backlog_seconds)
        yield GaugeMetricFamily("tocsin_notifications_dead_24h", _NAMES["tocsin_notifications_dead_24h"],
                                value=status.dead_letters)


_registered = False


def register_platform_collector() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(PlatformCollector())
        _registered = True
