"""Periodic sweeps over the fleet: devices gone silent (ingest's offline sweep), shadows that
drifted from what was desired, commands past their expiry. Task names keep their historical
`tocsin.alerts.` prefix: beat schedules and routes refer to them by name."""

from __future__ import annotations

from apps.devices.commands import commands_expire
from apps.ingest.fleet import drift_sweep
from apps.ingest.services.sweeps import offline_sweep
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
