"""Prometheus figures of the MQTT bridge, read from the database at scrape time.

The bridge counts in its own transactions (BridgeCounter), so one scrape of the web's
/metrics tells how many duplicates each dedup layer dropped, across every bridge process
and every restart, and how many messages went to the dead-letter table.
"""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily

from apps.common.scrape import in_event_loop

_registered = False


class IotCollector:
    def describe(self):
        yield CounterMetricFamily("tocsin_mqtt_duplicates_dropped", "MQTT duplicates dropped, by dedup layer",
                                  labels=["layer"])
        yield CounterMetricFamily("tocsin_mqtt_messages", "MQTT messages handled by the bridge, by outcome",
                                  labels=["outcome"])
        yield CounterMetricFamily("tocsin_mqtt_readings_stored", "Readings stored from MQTT")

    def collect(self):
        from django.db import DatabaseError

        from apps.iot.models import BridgeCounter, DedupLayer

        if in_event_loop():
            return

        try:
            counters = dict(BridgeCounter.objects.values_list("name", "value"))
        except DatabaseError:
            return
        duplicates = CounterMetricFamily("tocsin_mqtt_duplicates_dropped", "MQTT duplicates dropped, by dedup layer",
                                         labels=["layer"])
        for layer in DedupLayer.values:
            duplicates.add_metric([layer], counters.get(f"duplicates.{layer}", 0))
        yield duplicates
        messages = CounterMetricFamily("tocsin_mqtt_messages", "MQTT messages handled by the bridge, by outcome",
                                       labels=["outcome"])
        for outcome in ("stored", "duplicate", "dead_letter"):
            messages.add_metric([outcome], counters.get(f"messages.{outcome}", 0))
        yield messages
        yield CounterMetricFamily("tocsin_mqtt_readings_stored", "Readings stored from MQTT",
                                  value=counters.get("readings.stored", 0))


def register_iot_collector() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(IotCollector())
        _registered = True
