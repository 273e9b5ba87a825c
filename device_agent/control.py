"""What the server asks of a REST device: its shadow delta and its commands.

Both arrive in heartbeat answers and are handled on the sender thread right after the
round that received them (the only thread that talks to the server), so a `flush`
sends the outbox directly instead of waiting on itself.

* A delta means staff changed this device's desired configuration: the agent fetches its
  effective configuration again (``devices/me``, which carries the desired keys) and
  reports back, in the reported document, each key it now applies. Keys it does not
  understand are not reported, so the server sees them as not applied (drift).
* Each command is run once (ids remembered) and acknowledged with its result; a failed
  acknowledgement is retried on the next round until the command's expiry.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import threading
from collections import OrderedDict
from typing import Any, Callable

from device_agent.http_client import ApiError
from device_agent.timeutil import parse_iso_epoch

log = logging.getLogger(__name__)

SHADOW_PATH = "/api/v1/devices/me/shadow/"
REMEMBERED = 200
HOOK_TIMEOUT_SECONDS = 30.0
# Desired keys this agent applies (the site config's fields of the same name).
APPLIED_KEYS = (
    "allowed_bssids",
    "batch_size",
    "batch_timeout_seconds",
    "heartbeat_interval_seconds",
    "underage_age",
    "cpu_temp_threshold",
    "battery_warning_percent",
    "rssi_breach_dbm",
    "location_label",
    "room_id",
)

Handler = Callable[[dict], dict]


def _same(applied: Any, wanted: Any) -> bool:
    if isinstance(applied, tuple) and isinstance(wanted, list):
        return list(applied) == [str(item).lower() for item in wanted]
    if isinstance(applied, (int, float)) and isinstance(wanted, (int, float)):
        return float(applied) == float(wanted)
    return applied == wanted


def run_hook(template: str | None, what: str, **values: Any) -> dict:
    """Run a host hook (the supervisor's reboot, the inverter's limit): argv, no shell."""
    if not template:
        raise RuntimeError(f"no {what} hook is configured on this device")
    argv = [part.format(**values) for part in shlex.split(template)]
    # A hook the device's owner configured, as an argument list (never a shell).
    done = subprocess.run(  # noqa: S603
        argv, capture_output=True, text=True, timeout=HOOK_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} hook exited {done.returncode}: {done.stderr.strip()[-200:]}")
    return {"hook": argv[0], "output": done.stdout.strip()[-200:]}


class DeviceControl:
    """Queues what heartbeat answers bring; ``run_pending`` handles it on the sender thread."""

    def __init__(
        self, *, session: Any, site: Any, handlers: dict[str, Handler], clock: Callable[[], float]
    ) -> None:
        self.session = session
        self.site = site
        self.handlers = handlers
        self._clock = clock
        self._lock = threading.Lock()
        self._delta: dict | None = None
        self._commands: OrderedDict[str, dict] = OrderedDict()
        self._unacked: dict[str, dict] = {}
        self._done: OrderedDict[str, dict] = OrderedDict()
        self.handled = 0

    def on_heartbeat_reply(self, body: dict) -> None:
        shadow = body.get("shadow")
        commands = body.get("commands")
        with self._lock:
            if isinstance(shadow, dict) and isinstance(shadow.get("delta"), dict):
                self._delta = shadow["delta"]
            for command in commands if isinstance(commands, list) else []:
                if isinstance(command, dict) and isinstance(command.get("id"), str):
                    self._commands.setdefault(command["id"], command)

    def run_pending(self) -> None:
        with self._lock:
            delta, self._delta = self._delta, None
            commands, self._commands = list(self._commands.values()), OrderedDict()
        if delta:
            self._apply_delta(delta)
        for command in commands:
            self._run(command)
        for command_id, ack in list(self._unacked.items()):
            self._ack(command_id, ack)

    def _apply_delta(self, delta: dict) -> None:
        try:
            config = self.site.refresh(self.session)
        except ApiError as exc:
            log.warning(
                "could not fetch the new configuration; the next heartbeat retries",
                extra={"fields": {"error": str(exc)}},
            )
            return
        reported = {
            key: wanted
            for key, wanted in delta.items()
            if key in APPLIED_KEYS and _same(getattr(config, key, None), wanted)
        }
        skipped = sorted(set(delta) - set(reported))
        if skipped:
            log.warning("desired keys not applied", extra={"fields": {"keys": skipped}})
        if reported:
            try:
                self.session.call("PATCH", SHADOW_PATH, {"reported": reported})
                log.info(
                    "configuration applied and reported",
                    extra={"fields": {"keys": sorted(reported)}},
                )
            except ApiError as exc:
                log.warning(
                    "could not report the applied configuration",
                    extra={"fields": {"error": str(exc)}},
                )

    def _run(self, command: dict) -> None:
        command_id, name = command["id"], str(command.get("name"))
        if command_id in self._done:
            return  # handed out again: it ran; its acknowledgement is retried below if needed
        expires = command.get("expires_at")
        if isinstance(expires, str):
            try:
                if parse_iso_epoch(expires) < self._clock():
                    return  # too late: the server expires it and says so
            except ValueError:
                pass
        handler = self.handlers.get(name)
        try:
            if handler is None:
                raise RuntimeError(f"this agent does not implement '{name}'")
            result = dict(handler(command.get("params") or {}) or {})
            after = result.pop("_then", None)
            ack = {"status": "ok", "result": result}
        except Exception as exc:  # noqa: BLE001 (the server is told; the agent goes on)
            after, ack = None, {"status": "failed", "result": {"error": str(exc)[:300]}}
        log.info(
            "command handled",
            extra={"fields": {"command": command_id, "name": name, "status": ack["status"]}},
        )
        self._done[command_id] = ack
        while len(self._done) > REMEMBERED:
            self._done.popitem(last=False)
        self.handled += 1
        self._ack(command_id, ack)
        if callable(after):
            try:
                after()  # e.g. the reboot request, only once the server knows it was accepted
            except Exception:
                log.exception(
                    "the command's follow-up failed", extra={"fields": {"command": command_id}}
                )

    def _ack(self, command_id: str, body: dict) -> None:
        try:
            self.session.call("POST", f"/api/v1/devices/me/commands/{command_id}/ack/", body)
            self._unacked.pop(command_id, None)
        except ApiError as exc:
            if getattr(exc, "status", None) in (400, 404):
                self._unacked.pop(command_id, None)  # expired or unknown: nothing more to say
            else:
                self._unacked[command_id] = body
