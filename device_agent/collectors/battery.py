"""Battery level and charging state from ``/sys/class/power_supply``."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

from device_agent.collectors import MissingSources

_CHARGING = {"charging": True, "full": True, "discharging": False, "not charging": False}


@dataclass(frozen=True)
class BatteryReading:
    level: int | None = None
    charging: bool | None = None

    def battery_fields(self) -> dict[str, int | bool]:
        fields: dict[str, int | bool] = {}
        if self.level is not None:
            fields["level"] = self.level
        if self.charging is not None:
            fields["charging"] = self.charging
        return fields


def read_battery(sys_root: str = "/sys", missing: MissingSources | None = None) -> BatteryReading:
    """The first supply of type Battery; unknown when the device runs on mains only."""
    missing = missing or MissingSources()
    for supply in sorted(glob.glob(os.path.join(sys_root, "class/power_supply/*"))):
        if _read(supply, "type").lower() != "battery":
            continue
        capacity = _read(supply, "capacity")
        level = int(capacity) if capacity.isdigit() else None
        charging = _CHARGING.get(_read(supply, "status").lower())
        missing.present("battery")
        return BatteryReading(level=min(100, level) if level is not None else None,
                              charging=charging)
    missing.missing("battery", "no battery in /sys/class/power_supply")
    return BatteryReading()


def _read(supply: str, name: str) -> str:
    try:
        with open(os.path.join(supply, name), encoding="ascii", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return ""
