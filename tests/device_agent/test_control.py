"""The agent's clock correction, and what it does with heartbeat answers (delta, commands)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from device_agent.clock import ServerClock
from device_agent.control import DeviceControl
from device_agent.gateway_commands import GatewayControl
from device_agent.http_client import RejectedRequest
from device_agent.outbox import Outbox
from device_agent.site_config import SiteConfig
from device_agent.timeutil import iso_utc, parse_iso_epoch


class _Headers(dict):
    pass


def test_the_offset_is_learnt_from_the_server_time_and_kept(tmp_path: Path) -> None:
    local = 1_700_000_000.0
    clock = ServerClock(str(tmp_path), clock=lambda: local)
    clock.observe(_Headers({"X-Server-Time": iso_utc(local + 172_800)}), local - 0.2, local + 0.2)
    assert round(clock.offset) == 172_800 and round(clock.now()) == round(local + 172_800)
    assert (
        round(ServerClock(str(tmp_path), clock=lambda: local).offset) == 172_800
    )  # survives a restart
    body = {"batch_id": "b", "scans": [{"scan_id": "s", "scanned_at": iso_utc(local), "age": 30}]}
    shifted = clock.corrected(body)
    assert parse_iso_epoch(shifted["scans"][0]["scanned_at"]) == local + clock.offset
    assert shifted["scans"][0]["age"] == 30 and body["scans"][0]["scanned_at"] == iso_utc(local)


def test_a_small_offset_or_a_bad_header_changes_nothing(tmp_path: Path) -> None:
    clock = ServerClock(str(tmp_path), clock=lambda: 1000.0)
    clock.observe(_Headers({"X-Server-Time": "not a time"}), 999, 1001)
    clock.observe(_Headers(), 999, 1001)
    assert clock.offset == 0.0
    clock.observe(_Headers({"X-Server-Time": iso_utc(1001.0)}), 999.9, 1000.1)
    body = {"sent_at": iso_utc(1000.0)}
    assert clock.corrected(body) is body  # a second of jitter is not skew


class _Session:
    def __init__(self, fail_ack: bool = False) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.fail_ack = fail_ack

    def call(self, method: str, path: str, body: Any = None, **_kwargs: Any) -> Any:
        self.calls.append((method, path, body))
        if self.fail_ack and path.endswith("/ack/"):
            raise RejectedRequest(404, "not_found", "no such command")
        return None


class _Site:
    def __init__(self, config: SiteConfig) -> None:
        self.config = config
        self.refreshed = 0

    def refresh(self, _session: Any) -> SiteConfig:
        self.refreshed += 1
        return self.config


def test_a_delta_is_applied_by_refetching_config_and_only_applied_keys_are_reported() -> None:
    session = _Session()
    site = _Site(
        SiteConfig(batch_size=25, allowed_bssids=("aa:bb:cc:dd:ee:01",), location_label="Room 7")
    )
    control = DeviceControl(session=session, site=site, handlers={}, clock=lambda: 0.0)
    control.on_heartbeat_reply(
        {
            "shadow": {
                "version": 3,
                "delta": {
                    "batch_size": 25,
                    "allowed_bssids": ["AA:BB:CC:DD:EE:01"],
                    "location_label": "Room 7",
                    "underage_age": 18,
                    "unknown_thing": 1,
                },
            }
        }
    )
    control.run_pending()
    assert site.refreshed == 1
    [(method, path, body)] = session.calls
    assert (method, path) == ("PATCH", "/api/v1/devices/me/shadow/")
    # underage_age did not take (the config says otherwise) and unknown_thing is not ours.
    assert body == {
        "reported": {
            "batch_size": 25,
            "allowed_bssids": ["AA:BB:CC:DD:EE:01"],
            "location_label": "Room 7",
        }
    }


def test_each_command_runs_once_and_is_acknowledged_with_its_result() -> None:
    session, ran = _Session(), []
    handlers = {
        "flush": lambda params: ran.append("flush") or {"acknowledged": 3},
        "reboot": lambda params: {"requested": True, "_then": lambda: ran.append("rebooted")},
    }
    control = DeviceControl(
        session=session, site=_Site(SiteConfig()), handlers=handlers, clock=lambda: 0.0
    )
    commands = [
        {"id": "cmd_1", "name": "flush", "params": {}, "expires_at": iso_utc(100)},
        {"id": "cmd_2", "name": "reboot", "params": {}},
        {"id": "cmd_3", "name": "self_destruct", "params": {}},
    ]
    control.on_heartbeat_reply({"commands": commands})
    control.run_pending()
    control.on_heartbeat_reply({"commands": commands[:1]})  # handed out again: not run again
    control.run_pending()
    assert ran == ["flush", "rebooted"]  # the reboot only after its acknowledgement went
    acks = {path.split("/")[-3]: body for method, path, body in session.calls if method == "POST"}
    assert acks["cmd_1"] == {"status": "ok", "result": {"acknowledged": 3}}
    assert acks["cmd_2"] == {"status": "ok", "result": {"requested": True}}
    assert (
        acks["cmd_3"]["status"] == "failed"
        and "does not implement" in acks["cmd_3"]["result"]["error"]
    )


def test_an_expired_command_is_not_run() -> None:
    session, ran = _Session(), []
    control = DeviceControl(
        session=session,
        site=_Site(SiteConfig()),
        handlers={"flush": lambda params: ran.append(1) or {}},
        clock=lambda: 1000.0,
    )
    control.on_heartbeat_reply(
        {"commands": [{"id": "cmd_1", "name": "flush", "expires_at": iso_utc(10)}]}
    )
    control.run_pending()
    assert ran == [] and session.calls == []


class _Gateway:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.published = 0
        self.notified = 0

    def notify(self) -> None:
        self.notified += 1


def test_gateway_mode_runs_its_commands_through_host_hooks(tmp_path: Path) -> None:
    hooks = []
    control = GatewayControl(
        _Gateway(Outbox(str(tmp_path / "o.sqlite"))),
        interval=10.0,
        power_limit_command="limit {percent}",
        reboot_command="reboot-now",
        hook=lambda template, what, **values: hooks.append((template, what, values)) or {},
    )
    assert (
        control.on_command({"name": "set_power_limit", "params": {"percent": 55}})["percent"] == 55
    )
    assert control.on_command({"name": "flush"})["queued"] == 0 and control.gateway.notified == 1
    for bad in ({"name": "set_power_limit", "params": {"percent": 101}}, {"name": "rotate_key"}):
        try:
            control.on_command(bad)
            raise AssertionError(f"{bad} should fail")
        except RuntimeError:
            pass
    assert control.on_delta(
        {"telemetry_interval_seconds": 5, "power_limit_percent": 30, "other": 1}
    ) == {"telemetry_interval_seconds": 5, "power_limit_percent": 30}
    assert control.interval == 5.0
    assert hooks == [
        ("limit {percent}", "power limit", {"percent": 55}),
        ("limit {percent}", "power limit", {"percent": 30}),
    ]
    assert json.dumps(hooks)  # plain data, nothing else was called
