"""Wires the agent together and runs it until SIGTERM.

One process, a few threads, each with one job: the sender (the only one that talks to the
server), the monitor (health and heartbeats), the input (scanner or telemetry source) and
the status API. They meet only at the outbox (each with its own SQLite connection) and at
small thread-safe holders of state.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable

from device_agent.backoff import Backoff
from device_agent.clock import ServerClock
from device_agent.collectors import MissingSources
from device_agent.collectors.battery import read_battery
from device_agent.collectors.health import HealthCollector
from device_agent.collectors.wifi import read_link
from device_agent.config import AgentConfig, LoadedConfig
from device_agent.control import DeviceControl, run_hook
from device_agent.device_api import DeviceSession
from device_agent.gateway import TelemetryLoop, telemetry_source
from device_agent.http_client import HttpClient, RejectedRequest, TransientApiError
from device_agent.identity import STATE_FILE, DeviceKey, IdentityState, IdentityStore
from device_agent.monitor import DeviceMonitor, MonitorLoop
from device_agent.outbox import Outbox
from device_agent.private_files import ensure_private_dir
from device_agent.runtime_status import RuntimeStatus
from device_agent.scanner import ScanProcessor
from device_agent.scanner_input import ScanInputLoop
from device_agent.sender import Sender, SenderLoop
from device_agent.site_config import EffectiveSettings, SiteConfigStore
from device_agent.status_api import StatusApiServer
from device_agent.timeutil import iso_utc

log = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.sqlite3"
FORCE_BATCH_WAIT_SECONDS = 30.0
PARKED_SHOWN = 10
JOIN_SECONDS = 5.0


def build_status(
    state: IdentityState,
    outbox: Outbox,
    *,
    kind: str,
    batch_size: int,
    runtime: RuntimeStatus | None,
) -> dict[str, Any]:
    """The status document (also what ``status`` prints when the agent isn't running)."""
    counts = outbox.counts()
    if state.revoked:
        lifecycle = "revoked"
    elif state.enrolled:
        lifecycle = "active"
    else:
        lifecycle = "unregistered"
    return {
        "registered": state.enrolled and not state.revoked,
        "status": lifecycle,
        "running": runtime is not None,
        "offline": runtime.offline if runtime else None,
        "device_id": state.device_id,
        "hardware_id": state.hardware_id,
        "location_id": state.location_id,
        "kind": kind,
        "token_expires": iso_utc(state.access_expires_at) if state.access_expires_at else None,
        "batch_size": batch_size,
        "pending": counts.fresh,
        "offline_queue_size": counts.retrying,
        "parked": counts.parked,
        "queued_by_kind": {kind: s.waiting for kind, s in sorted(outbox.summaries().items())},
        "parked_recent": [
            {"kind": kind, "item_id": item_id, "reason": reason}
            for kind, item_id, reason in outbox.parked_items(PARKED_SHOWN)
        ],
        "last_error": runtime.last_error if runtime else None,
        "config_problems": list(runtime.config_problems) if runtime else [],
    }


class Agent:
    """One device's agent: identity, outbox, sender, inputs and the local status API."""

    def __init__(self, loaded: LoadedConfig) -> None:
        config = loaded.config
        self.config = config
        ensure_private_dir(config.state_dir)
        self.key = DeviceKey.load_or_create(config.state_dir)
        self.identity = IdentityStore(config.state_dir, hardware_id=config.hardware_id)
        self.clock = ServerClock(config.state_dir)
        self.session = DeviceSession(
            HttpClient(config.api_base_url, config.request_timeout_seconds, self.clock),
            self.key,
            self.identity,
            model=config.device_model,
            kind=config.kind,
            clock=self.clock.now,  # token expiry is server time: judged by the server's clock
        )
        self.outbox = Outbox(os.path.join(config.state_dir, OUTBOX_FILE))
        self.site = SiteConfigStore(config.state_dir)
        self.settings = EffectiveSettings(config, self.site)
        self.runtime = RuntimeStatus(loaded.problems)
        self.control = DeviceControl(session=self.session, site=self.site,
                                     handlers=self._command_handlers(), clock=self.clock.now)
        self.sender = Sender(self.outbox, self.session, self.settings.send_policy, self.runtime,
                             server_clock=self.clock,
                             on_heartbeat_reply=self.control.on_heartbeat_reply)
        self.sender_loop = SenderLoop(
            self.sender,
            shutdown_flush_seconds=config.shutdown_flush_seconds,
            periodic=lambda: self.site.tick(self.session),
            after_send=self.control.run_pending,
        )
        self._enrolled = threading.Event()
        if self.identity.state.enrolled and not self.identity.state.revoked:
            self._enrolled.set()
        self._workers: list = []

    def _command_handlers(self) -> dict[str, Callable[[dict], dict]]:
        """Each command this agent lists, run on the sender thread (device_agent/control.py)."""
        config = self.config

        def flush(_params: dict) -> dict:
            report = self.sender.send_due(force=True)
            counts = self.outbox.counts()
            return {**report.as_dict(), "pending": counts.fresh + counts.retrying}

        def reload_config(_params: dict) -> dict:
            site = self.site.refresh(self.session)
            return {"location_id": site.location_id, "batch_size": self.settings.batch_size}

        def reboot(_params: dict) -> dict:
            if not config.reboot_command:
                raise RuntimeError("no reboot hook is configured on this device (reboot_command)")
            return {"requested": True, "_then": lambda: run_hook(config.reboot_command, "reboot")}

        def set_power_limit(params: dict) -> dict:
            if config.kind != "gateway":
                raise RuntimeError("only a plant gateway takes a power limit")
            percent = params.get("percent")
            if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
                raise RuntimeError("percent must be a whole number from 0 to 100")
            done = run_hook(config.power_limit_command, "power limit", percent=percent)
            return {"percent": percent, **done}

        return {"flush": flush, "reload_config": reload_config, "reboot": reboot,
                "rotate_key": lambda _params: self.session.rotate_key(),
                "set_power_limit": set_power_limit}

    def status(self) -> dict[str, Any]:
        return build_status(
            self.identity.state,
            self.outbox,
            kind=self.config.kind,
            batch_size=self.settings.batch_size,
            runtime=self.runtime,
        )

    def register(
        self, setup_token: str, location_id: str, location_label: str | None = None
    ) -> dict[str, Any]:
        state = self.session.enroll(setup_token, location_id, location_label)
        self.runtime.last_error = None
        self.site.refresh_soon()
        self._enrolled.set()
        self.sender_loop.notify()
        return {"registered": True, "device_id": state.device_id, "location_id": location_id}

    def force_batch(self) -> dict[str, Any]:
        report = self.sender_loop.request_flush(FORCE_BATCH_WAIT_SECONDS)
        counts = self.outbox.counts()
        result: dict[str, Any] = {"flushed": report is not None,
                                  "pending": counts.fresh, "offline_queue_size": counts.retrying}
        if report is not None:
            result.update(report.as_dict())
        return result

    def run(self, stop: threading.Event, enrolment: tuple[str, ...] | None = None) -> int:
        """Run until ``stop`` is set; ``enrolment`` is a (setup token, location[, location
        label]) if not enrolled."""
        for problem in self.runtime.config_problems:
            log.error("configuration problem", extra={"fields": {"problem": problem}})
        api = self._start_status_api()
        self.sender_loop.start()
        if self.identity.state.revoked:
            self.runtime.last_error = "device revoked by the server; re-enrol with a setup token"
            log.error("device revoked by the server: nothing is sent until it is re-enrolled",
                      extra={"fields": {"device_id": self.identity.state.device_id}})
        elif not self._enrolled.is_set():
            self._enrol_at_start(stop, enrolment)
        while not stop.is_set() and not self._enrolled.wait(1.0):
            pass
        if not stop.is_set():
            self._start_workers()
        while not stop.wait(1.0):
            pass
        self._shutdown(api)
        return 0

    def _start_status_api(self) -> StatusApiServer | None:
        if not self.config.status_port:
            return None
        try:
            api = StatusApiServer(self, self.config.status_port)
        except OSError as exc:
            log.error("status API could not start; running without it",
                      extra={"fields": {"port": self.config.status_port, "error": str(exc)}})
            self.runtime.last_error = f"status API port {self.config.status_port}: {exc}"
            return None
        api.start()
        return api

    def _enrol_at_start(self, stop: threading.Event, enrolment: tuple[str, ...] | None) -> None:
        if enrolment is None:
            log.warning("device not enrolled: POST /api/register or run `python -m device_agent "
                        "enroll` with a setup token")
            return
        backoff = Backoff(cap=60.0)
        while not stop.is_set() and not self._enrolled.is_set():
            try:
                self.register(*enrolment)
                return
            except RejectedRequest as exc:
                self.runtime.last_error = f"enrolment refused: {exc}"
                log.error("enrolment refused; waiting for a new setup token via /api/register",
                          extra={"fields": {"error": str(exc)}})
                return
            except TransientApiError as exc:
                delay = backoff.failed(time.time())
                self.runtime.last_error = f"enrolment failed: {exc}"
                log.warning("enrolment failed; retrying",
                            extra={"fields": {"error": str(exc), "retry_in_s": round(delay, 1)}})
                stop.wait(delay)

    def _start_workers(self) -> None:
        config = self.config
        missing = MissingSources()
        monitor = DeviceMonitor(
            outbox=self.outbox,
            notify=self.sender_loop.notify,
            settings=self.settings,
            identity=self.identity,
            status=self.runtime,
            kind=config.kind,
            health_monitoring=config.health_monitoring,
            health=HealthCollector(disk_path=config.state_dir, missing=missing),
            read_battery=lambda: read_battery(missing=missing),
            read_link=lambda: read_link(missing=missing),
            firmware=config.firmware,
        )
        self._workers.append(MonitorLoop(monitor, self.settings))
        if config.kind == "scanner" and config.scanner_input != "none":
            processor = ScanProcessor(
                outbox=self.outbox,
                site=self.site,
                underage_alerts=config.underage_alerts,
                notify=self.sender_loop.notify,
            )
            self._workers.append(ScanInputLoop(
                config.scanner_input,
                config.serial_baud_rate,
                processor.handle,
                self._set_scanner_status,
                ready=self.site.available,
            ))
        source = telemetry_source(config.telemetry_command, config.telemetry_file)
        if config.kind == "gateway" and source is not None:
            self._workers.append(TelemetryLoop(
                source, config.telemetry_interval_seconds, self.outbox, self.sender_loop.notify
            ))
        for worker in self._workers:
            worker.start()

    def _set_scanner_status(self, value: str) -> None:
        self.runtime.scanner_status = value

    def _shutdown(self, api: StatusApiServer | None) -> None:
        log.info("stopping: flushing held items",
                 extra={"fields": {"bound_s": self.config.shutdown_flush_seconds}})
        for worker in self._workers:
            worker.stop()
        for worker in self._workers:
            worker.join(JOIN_SECONDS)
        self.sender_loop.stop()
        self.sender_loop.join(
            self.config.shutdown_flush_seconds + self.config.request_timeout_seconds + 1.0
        )
        if api is not None:
            api.stop()
        self.outbox.close()
        log.info("agent stopped")


def offline_status(config: AgentConfig, problems: tuple[str, ...]) -> dict[str, Any]:
    """Status read straight from the state directory, for when the agent isn't running."""
    if not os.path.exists(os.path.join(config.state_dir, STATE_FILE)):
        return {"registered": False, "status": "unregistered", "running": False,
                "state_dir": config.state_dir, "config_problems": list(problems)}
    identity = IdentityStore(config.state_dir, hardware_id=config.hardware_id)
    outbox = Outbox(os.path.join(config.state_dir, OUTBOX_FILE))
    try:
        settings = EffectiveSettings(config, SiteConfigStore(config.state_dir))
        status = build_status(identity.state, outbox, kind=config.kind,
                              batch_size=settings.batch_size, runtime=None)
    finally:
        outbox.close()
    status["config_problems"] = list(problems)
    return status
