"""The site's configuration from ``devices/me``, cached on disk, merged over the local config.

The server is the fleet's source of truth: where ``devices/me`` speaks (heartbeat interval,
batch size and timeout, CPU temperature threshold) it wins over the local file. The rest
of what it sends exists only there: the underage threshold, the room's Wi-Fi profile and
the per-tenant key for hashing document numbers. The cache lets a scanner keep working
through a restart while the server is unreachable; it holds that key, hence 0600.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from device_agent.config import AgentConfig
from device_agent.device_api import DeviceSession
from device_agent.http_client import ApiError
from device_agent.private_files import write_private_file
from device_agent.sender import SendPolicy

log = logging.getLogger(__name__)

SITE_FILE = "site.json"
REFRESH_SECONDS = 600.0
RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class SiteConfig:
    location_id: str | None = None
    site_name: str | None = None
    timezone: str | None = None
    heartbeat_interval_seconds: float | None = None
    batch_size: int | None = None
    batch_timeout_seconds: float | None = None
    underage_age: int | None = None
    cpu_temp_threshold: float | None = None
    battery_warning_percent: int | None = None
    rssi_breach_dbm: int | None = None
    allowed_bssids: tuple[str, ...] = field(default=())
    scan_hash_key: str | None = None
    location_label: str | None = None
    room_id: str | None = None

    def __repr__(self) -> str:
        return f"SiteConfig(location_id={self.location_id!r}, site_name={self.site_name!r})"


def _number(value: Any, kind: type, minimum: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if kind is int and not isinstance(value, int):
        return None
    return kind(value) if value >= minimum else None


def site_config_from_me(body: Any) -> tuple[SiteConfig, tuple[str, ...]]:
    """Read what ``devices/me`` says; a value of the wrong shape is reported and left out."""
    body = body if isinstance(body, dict) else {}
    site = body.get("site") if isinstance(body.get("site"), dict) else {}
    raw = body.get("config") if isinstance(body.get("config"), dict) else {}
    problems = []
    expected = {
        "heartbeat_interval_seconds": (float, 1),
        "batch_size": (int, 1),
        "batch_timeout_seconds": (float, 0.1),
        "underage_age": (int, 0),
        "cpu_temp_threshold": (float, -100),
        "battery_warning_percent": (int, 0),
        "rssi_breach_dbm": (int, -200),
    }
    values: dict[str, Any] = {}
    for key, (kind, minimum) in expected.items():
        if key in raw:
            values[key] = _number(raw[key], kind, minimum)
            if values[key] is None:
                problems.append(f"devices/me config.{key} has an unusable value; ignored")
    if "batch_size" in values and values["batch_size"] is not None:
        values["batch_size"] = min(values["batch_size"], 500)
    bssids = raw.get("allowed_bssids", [])
    if not isinstance(bssids, list) or not all(isinstance(b, str) for b in bssids):
        problems.append("devices/me config.allowed_bssids is not a list of strings; ignored")
        bssids = []
    key = raw.get("scan_hash_key")
    if key is not None and not _is_hex(key):
        problems.append("devices/me config.scan_hash_key is not hex; ignored")
        key = None
    config = SiteConfig(
        location_id=_text(site.get("location_id")),
        site_name=_text(site.get("name")),
        timezone=_text(site.get("timezone")),
        allowed_bssids=tuple(b.lower() for b in bssids),
        scan_hash_key=key,
        location_label=_text(raw.get("location_label")),
        room_id=_text(raw.get("room_id")),
        **values,
    )
    return config, tuple(problems)


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def _is_hex(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


class SiteConfigStore:
    """Holds the latest site configuration, refreshes it, and tells waiters it exists."""

    def __init__(self, state_dir: str, *, clock: Callable[[], float] = time.time) -> None:
        self._path = os.path.join(state_dir, SITE_FILE)
        self._lock = threading.Lock()
        self._clock = clock
        self._next_refresh_at = 0.0
        self.available = threading.Event()
        self._config = self._read_cache()
        if self._config is not None:
            self.available.set()

    @property
    def config(self) -> SiteConfig:
        with self._lock:
            return self._config or SiteConfig()

    def refresh(self, session: DeviceSession, *, timeout: float | None = None) -> SiteConfig:
        """Fetch ``devices/me`` now and cache it; raises ApiError on failure."""
        config, problems = site_config_from_me(session.fetch_me(timeout=timeout))
        for problem in problems:
            log.warning(problem)
        write_private_file(self._path, json.dumps(asdict(config)).encode("utf-8"))
        with self._lock:
            changed = self._config != config
            self._config = config
        self.available.set()
        if changed:
            log.info(
                "site configuration updated",
                extra={"fields": {"location_id": config.location_id, "site": config.site_name}},
            )
        return config

    def tick(self, session: DeviceSession) -> float:
        """Refresh when due; returns seconds until the next refresh (for the sender loop)."""
        now = self._clock()
        state = session.state
        if not state.enrolled or state.revoked:
            return REFRESH_SECONDS
        if now < self._next_refresh_at:
            return self._next_refresh_at - now
        try:
            self.refresh(session)
            self._next_refresh_at = now + REFRESH_SECONDS
        except ApiError as exc:
            log.warning(
                "could not fetch the site configuration; keeping the cached one",
                extra={"fields": {"error": str(exc)}},
            )
            retry = REFRESH_SECONDS if self.available.is_set() else RETRY_SECONDS
            self._next_refresh_at = now + retry
        return self._next_refresh_at - now

    def refresh_soon(self) -> None:
        self._next_refresh_at = 0.0

    def _read_cache(self) -> SiteConfig | None:
        try:
            with open(self._path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return None
        data["allowed_bssids"] = tuple(data.get("allowed_bssids") or ())
        known = SiteConfig.__dataclass_fields__
        return SiteConfig(**{k: v for k, v in data.items() if k in known})


class EffectiveSettings:
    """The local config with the site's values laid over it where the server speaks."""

    def __init__(self, local: AgentConfig, site: SiteConfigStore) -> None:
        self.local = local
        self.site = site

    def _pick(self, name: str) -> Any:
        remote = getattr(self.site.config, name)
        return remote if remote is not None else getattr(self.local, name)

    @property
    def heartbeat_interval_seconds(self) -> float:
        return float(self._pick("heartbeat_interval_seconds"))

    @property
    def batch_size(self) -> int:
        return int(self._pick("batch_size"))

    @property
    def batch_timeout_seconds(self) -> float:
        return float(self._pick("batch_timeout_seconds"))

    @property
    def cpu_temp_threshold(self) -> float:
        return float(self._pick("cpu_temp_threshold"))

    def send_policy(self) -> SendPolicy:
        return SendPolicy(
            batch_size=self.batch_size,
            batch_timeout_seconds=self.batch_timeout_seconds,
            batch_upload=self.local.batch_upload,
            offline_queue=self.local.offline_queue,
            retry_attempts=self.local.retry_attempts,
            request_timeout_seconds=self.local.request_timeout_seconds,
        )
