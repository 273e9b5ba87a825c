"""What a plant gateway in MQTT mode does with the server's commands and shadow delta.

Commands it lists: ``flush`` (publish what the outbox holds now), ``set_power_limit``
(``{"percent": 0-100}``, through the host's power-limit hook, which talks to the inverters),
``reboot`` (asks the host's supervisor through its hook, a moment after the acknowledgement
went out). ``reload_config`` and ``rotate_key`` are REST-agent commands: a gateway's
configuration is its shadow and its identity a certificate re-issued by provisioning, so
it refuses them, saying why. Handlers run on paho's network thread and must not wait on it.

Shadow keys it applies: ``telemetry_interval_seconds`` (how often the reading source runs)
and ``power_limit_percent`` (the same hook as the command).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from device_agent.control import run_hook
from device_agent.mqtt_gateway import MQTT_READING

log = logging.getLogger(__name__)

REBOOT_DELAY_SECONDS = 1.0


class GatewayControl:
    def __init__(
        self,
        gateway: Any,
        *,
        interval: float,
        power_limit_command: str | None = None,
        reboot_command: str | None = None,
        hook: Callable[..., dict] = run_hook,
    ) -> None:
        self.gateway = gateway
        self.interval = interval
        self.power_limit_command = power_limit_command
        self.reboot_command = reboot_command
        self._hook = hook

    def on_command(self, command: dict) -> dict:
        name, params = command.get("name"), command.get("params") or {}
        if name == "flush":
            self.gateway.notify()
            waiting = self.gateway.outbox.summaries().get(MQTT_READING)
            return {
                "queued": waiting.waiting if waiting else 0,
                "published_so_far": self.gateway.published,
            }
        if name == "set_power_limit":
            return self._power_limit(params.get("percent"))
        if name == "reboot":
            if not self.reboot_command:
                raise RuntimeError(
                    "no reboot hook is configured on this gateway (--reboot-command)"
                )
            timer = threading.Timer(
                REBOOT_DELAY_SECONDS, self._hook, (self.reboot_command, "reboot")
            )
            timer.daemon = True
            timer.start()
            return {"requested": True}
        raise RuntimeError(f"a gateway in MQTT mode does not implement '{name}'")

    def _power_limit(self, percent: Any) -> dict:
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise RuntimeError("percent must be a whole number from 0 to 100")
        return {
            "percent": percent,
            **self._hook(self.power_limit_command, "power limit", percent=percent),
        }

    def on_delta(self, delta: dict) -> dict:
        applied: dict[str, Any] = {}
        interval = delta.get("telemetry_interval_seconds")
        if (
            isinstance(interval, (int, float))
            and not isinstance(interval, bool)
            and 1 <= interval <= 86400
        ):
            self.interval = float(interval)
            applied["telemetry_interval_seconds"] = interval
        percent = delta.get("power_limit_percent")
        if percent is not None:
            try:
                self._power_limit(percent)
                applied["power_limit_percent"] = percent
            except (RuntimeError, OSError) as exc:
                log.warning(
                    "power limit from the shadow not applied", extra={"fields": {"error": str(exc)}}
                )
        return applied
