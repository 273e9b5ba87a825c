"""CPU, memory, disk, CPU temperature and uptime from /proc and /sys; psutil elsewhere.

On Linux the kernel's own files give every figure, so psutil (optional: some Pi images can't
build it, and it costs a megabyte of the agent's memory) is loaded only where /proc is
missing, such as a developer's Mac.
"""

from __future__ import annotations

import glob
import os
import shutil
import time
from dataclasses import dataclass
from typing import Any

from device_agent.collectors import MissingSources

MIB = 1024 * 1024
_PREFERRED_THERMAL_TYPES = ("cpu", "x86_pkg", "soc", "coretemp")


@dataclass(frozen=True)
class HealthSample:
    cpu_percent: float | None = None
    memory_used_mb: float | None = None
    memory_total_mb: float | None = None
    disk_used_mb: float | None = None
    disk_total_mb: float | None = None
    temperature_c: float | None = None
    uptime_s: float | None = None

    def health_fields(self) -> dict[str, float]:
        """The heartbeat's ``health`` part: only what is known."""
        names = ("cpu_percent", "memory_used_mb", "memory_total_mb", "disk_used_mb",
                 "disk_total_mb", "temperature_c")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


def _load_psutil() -> Any:
    try:
        import psutil
    except ImportError:
        return None
    return psutil


class HealthCollector:
    """Samples the device's health; keeps the CPU counters between samples for a delta."""

    def __init__(
        self,
        *,
        proc_root: str = "/proc",
        sys_root: str = "/sys",
        disk_path: str = "/",
        psutil_without_proc: bool = True,
        missing: MissingSources | None = None,
    ) -> None:
        self.proc_root = proc_root
        self.sys_root = sys_root
        self.disk_path = disk_path
        self.missing = missing or MissingSources()
        has_proc = os.path.exists(os.path.join(proc_root, "stat"))
        self._psutil = _load_psutil() if psutil_without_proc and not has_proc else None
        self._last_cpu_times: tuple[float, float] | None = None
        self._cpu_percent()

    def sample(self) -> HealthSample:
        memory_used, memory_total = self._memory_mb()
        disk_used, disk_total = self._disk_mb()
        return HealthSample(
            cpu_percent=self._cpu_percent(),
            memory_used_mb=memory_used,
            memory_total_mb=memory_total,
            disk_used_mb=disk_used,
            disk_total_mb=disk_total,
            temperature_c=self._temperature_c(),
            uptime_s=self._uptime_s(),
        )

    def _cpu_percent(self) -> float | None:
        if self._psutil is not None:
            return round(float(self._psutil.cpu_percent(interval=None)), 1)
        try:
            with open(os.path.join(self.proc_root, "stat"), encoding="ascii") as handle:
                fields = [float(v) for v in handle.readline().split()[1:]]
        except (OSError, ValueError) as exc:
            self.missing.missing("cpu", str(exc))
            return None
        self.missing.present("cpu")
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
        total = sum(fields[:8])
        previous, self._last_cpu_times = self._last_cpu_times, (idle, total)
        if previous is None or total <= previous[1]:
            return None
        busy = 1.0 - (idle - previous[0]) / (total - previous[1])
        return round(max(0.0, min(100.0, busy * 100.0)), 1)

    def _memory_mb(self) -> tuple[float | None, float | None]:
        if self._psutil is not None:
            memory = self._psutil.virtual_memory()
            return _mb(memory.total - memory.available), _mb(memory.total)
        values: dict[str, float] = {}
        try:
            with open(os.path.join(self.proc_root, "meminfo"), encoding="ascii") as handle:
                for line in handle:
                    name, _, rest = line.partition(":")
                    if name in ("MemTotal", "MemAvailable"):
                        values[name] = float(rest.split()[0]) * 1024
        except (OSError, ValueError, IndexError) as exc:
            self.missing.missing("memory", str(exc))
            return None, None
        if "MemTotal" not in values or "MemAvailable" not in values:
            self.missing.missing("memory", "MemTotal/MemAvailable not in meminfo")
            return None, None
        self.missing.present("memory")
        return _mb(values["MemTotal"] - values["MemAvailable"]), _mb(values["MemTotal"])

    def _disk_mb(self) -> tuple[float | None, float | None]:
        try:
            usage = shutil.disk_usage(self.disk_path)
        except OSError as exc:
            self.missing.missing("disk", str(exc))
            return None, None
        self.missing.present("disk")
        return _mb(usage.used), _mb(usage.total)

    def _temperature_c(self) -> float | None:
        """The CPU's thermal zone (or the first readable one) in °C."""
        readings = []
        for zone in sorted(glob.glob(os.path.join(self.sys_root, "class/thermal/thermal_zone*"))):
            try:
                with open(os.path.join(zone, "temp"), encoding="ascii") as handle:
                    millidegrees = float(handle.read().strip())
                with open(os.path.join(zone, "type"), encoding="ascii") as handle:
                    zone_type = handle.read().strip().lower()
            except (OSError, ValueError):
                continue
            preferred = any(t in zone_type for t in _PREFERRED_THERMAL_TYPES)
            readings.append((not preferred, round(millidegrees / 1000.0, 1)))
        if not readings:
            self.missing.missing("cpu_temperature", "no readable /sys/class/thermal zone")
            return None
        self.missing.present("cpu_temperature")
        return min(readings)[1]

    def _uptime_s(self) -> float | None:
        try:
            with open(os.path.join(self.proc_root, "uptime"), encoding="ascii") as handle:
                return round(float(handle.read().split()[0]), 1)
        except (OSError, ValueError, IndexError):
            pass
        if self._psutil is not None:
            return round(time.time() - self._psutil.boot_time(), 1)
        self.missing.missing("uptime", "no /proc/uptime")
        return None


def _mb(value: float) -> float:
    return round(value / MIB, 1)
