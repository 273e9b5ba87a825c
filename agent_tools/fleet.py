"""The simulated fleet's plan: the seed_demo setup-token file, stable hardware ids and
place names per (location, index), and the fleet's running totals.

Hardware ids are derived, never random, so restarting the simulator re-enrols (or renews)
the same devices instead of adding new ones.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

DEVICE_KIND_FOR_SITE = {"hotel": "tablet", "store": "scanner", "plant": "gateway"}


@dataclass(frozen=True)
class SetupEntry:
    setup_token: str
    location_id: str
    site_kind: str
    tenant: str = ""

    @property
    def device_kind(self) -> str:
        return DEVICE_KIND_FOR_SITE[self.site_kind]


def load_setup_entries(path: str) -> list[SetupEntry]:
    """Read the seed_demo file; raises ValueError with a clear message when it is unusable."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, list) or not data:
        raise ValueError(f"{path} must hold a non-empty JSON array")
    entries = []
    for position, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValueError(f"{path}[{position}] is not an object")
        missing = [k for k in ("setup_token", "location_id", "site_kind") if not item.get(k)]
        if missing:
            raise ValueError(f"{path}[{position}] lacks {', '.join(missing)}")
        if item["site_kind"] not in DEVICE_KIND_FOR_SITE:
            raise ValueError(f"{path}[{position}] has unknown site_kind {item['site_kind']!r}")
        entries.append(SetupEntry(str(item["setup_token"]), str(item["location_id"]),
                                  str(item["site_kind"]), str(item.get("tenant", ""))))
    return entries


def hardware_id_for(entry: SetupEntry, index: int) -> str:
    return f"sim-{entry.location_id}-{index:03d}"


def location_label_for(kind: str, index: int) -> str:
    """What staff would call the simulated device's place: Room 101, Till 1, Inverter 01."""
    if kind == "tablet":
        return f"Room {101 + index}"
    if kind == "scanner":
        return f"Till {1 + index}"
    return f"Inverter {1 + index:02d}"


class FleetCounters:
    """Totals across the fleet for the periodic summary line."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = {}

    def add(self, name: str, amount: int = 1) -> None:
        if amount:
            with self._lock:
                self._values[name] = self._values.get(name, 0) + amount

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)
