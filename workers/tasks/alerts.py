"""Periodic alert-engine work: the offline-device sweep."""

from __future__ import annotations

from apps.ingest.services import offline_sweep
from workers.base import tocsin_task


@tocsin_task(name="tocsin.alerts.offline_sweep", max_retries=0)
def offline_device_sweep(self) -> int:
    return offline_sweep()
