"""Hook point for figures the reports app cannot read itself.

Deliveries live in `notifications`, a higher app, so the operations report asks whoever
registered here (notifications does, at start-up) for deliveries by channel and outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

# (channel name, channel kind, status, count)
DeliveryRow = tuple[str, str, str, int]
# (tenant, site ids, since, until) -> rows
DeliveryCounter = Callable[..., list[DeliveryRow]]
_delivery_counters: list[DeliveryCounter] = []


def register_delivery_counter(counter: DeliveryCounter) -> None:
    if counter not in _delivery_counters:
        _delivery_counters.append(counter)


def delivery_counts(*, tenant, site_ids: list[int], since: datetime, until: datetime) -> list[DeliveryRow]:
    rows: list[DeliveryRow] = []
    for counter in _delivery_counters:
        rows.extend(counter(tenant=tenant, site_ids=site_ids, since=since, until=until))
    return rows
