"""Periodic alert-engine work: the offline-device sweep, the shadow drift sweep, command expiry."""

from __future__ import annotations

from apps.devices.commands import commands_expire
from apps.ingest.fleet import drift_sweep
from apps.ingest.services import offline_sweep
from workers.base import tocsin_task


@tocsin_task(name="tocsin.alerts.offline_sweep", max_retries=0)
def offline_device_sweep(self) -> int:
    return offline_sweep()


@tocsin_task(name="tocsin.alerts.drift_sweep", max_retries=0)
def shadow_drift_sweep(self) -> dict:
    return drift_sweep()


@tocsin_task(name="tocsin.alerts.expire_commands", max_retries=0)
def expire_device_commands(self) -> int:
    return commands_expire()
