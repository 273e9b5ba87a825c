"""Prometheus metrics of deliveries.

Counters incremented in the workers live in the worker processes; what operators must
always see (dead and failed rows, the backlog) is also exported from the database by a
collector in the web process, so one scrape of /metrics tells the truth.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from apps.common.scrape import in_event_loop

DELIVERIES = Counter("tocsin_deliveries_total", "Delivery attempts by provider and outcome",
                     ["provider", "outcome"])
UNNOTIFIED = Counter("tocsin_alerts_unnotified_total", "Alerts that paged nobody, by reason", ["reason"])
DELIVERY_SECONDS = Histogram("tocsin_delivery_seconds", "Time spent in the provider call", ["provider"],
                             buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10))


def record_unnotified(reason: str) -> None:
    UNNOTIFIED.labels(reason=reason).inc()


def record_outcome(provider: str, outcome: str, *, seconds: float | None = None) -> None:
    DELIVERIES.labels(provider=provider, outcome=outcome).inc()
    if seconds is not None:
        DELIVERY_SECONDS.labels(provider=provider).observe(seconds)


class OutboxCollector:
    """Reads the outbox at scrape time: rows by status, and dead deliveries ever."""

    def describe(self):
        # Lets the registry check names without querying the database at start-up.
        yield GaugeMetricFamily("tocsin_notifications", "Notification rows by status", labels=["status"])
        yield CounterMetricFamily("tocsin_notifications_dead", "Deliveries that exhausted their retries")
        yield CounterMetricFamily("tocsin_notifications_failed", "Deliveries refused permanently by a provider")
        yield GaugeMetricFamily("tocsin_open_alerts_unnotified", "Open alerts that notified nobody")

    def collect(self):
        if in_event_loop():
            return  # Flower's /metrics (tornado): the ORM refuses async callers; the web's /metrics has these
        from django.db.models import Count

        from apps.alerts.models import OPEN_STATUSES, Alert
        from apps.notifications.models import Notification

        by_status = GaugeMetricFamily("tocsin_notifications", "Notification rows by status", labels=["status"])
        for row in Notification.objects.values("status").annotate(n=Count("id")):
            by_status.add_metric([row["status"]], row["n"])
        yield by_status
        dead = CounterMetricFamily("tocsin_notifications_dead", "Deliveries that exhausted their retries")
        dead.add_metric([], Notification.objects.filter(dead_at__isnull=False).count())
        yield dead
        failed = CounterMetricFamily("tocsin_notifications_failed", "Deliveries refused permanently by a provider")
        failed.add_metric([], Notification.objects.filter(status="failed").count())
        yield failed
        unnotified = GaugeMetricFamily("tocsin_open_alerts_unnotified", "Open alerts that notified nobody")
        unnotified.add_metric([], Alert.objects.filter(status__in=OPEN_STATUSES).exclude(unnotified_reason="")
                              .count())
        yield unnotified


_registered = False


def register_outbox_collector() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(OutboxCollector())
        _registered = True
