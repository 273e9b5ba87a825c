"""Agent configuration: a JSON file, overridden by ``TOCSIN_AGENT_*`` environment variables.

A device in a shop must keep reporting even when someone mistyped its config, so a bad value
never stops the agent: every unknown key, wrong type or out-of-range value becomes a
*problem* that is logged at start (and shown by ``status``), and that key keeps its default.
Nothing is silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

DEFAULT_CONFIG_PATH = "/etc/tocsin-agent/config.json"
ENV_PREFIX = "TOCSIN_AGENT_"
CONFIG_PATH_ENV = ENV_PREFIX + "CONFIG"
SETUP_TOKEN_ENV = ENV_PREFIX + "SETUP_TOKEN"
QR_ENV = ENV_PREFIX + "QR"
# Environment variables with the prefix that are inputs to commands, not config keys.
NON_CONFIG_ENV = frozenset({CONFIG_PATH_ENV, SETUP_TOKEN_ENV, QR_ENV})

KINDS = ("scanner", "tablet", "gateway")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_BATCH_SIZE = 500


@dataclass(frozen=True)
class AgentConfig:
    api_base_url: str = "http://127.0.0.1:8000"
    device_model: str = "generic"
    kind: str = "scanner"
    location_id: str | None = None
    location_label: str | None = None
    batch_size: int = 10
    batch_timeout_seconds: float = 300.0
    retry_attempts: int = 3
    request_timeout_seconds: float = 10.0
    heartbeat_interval_seconds: float = 60.0
    health_check_interval_seconds: float = 30.0
    cpu_temp_threshold: float = 80.0
    batch_upload: bool = True
    health_monitoring: bool = True
    underage_alerts: bool = True
    offline_queue: bool = True
    state_dir: str = "/var/lib/tocsin-agent"
    status_port: int = 5000
    scanner_input: str = "stdin"
    serial_baud_rate: int = 9600
    telemetry_command: str | None = None
    telemetry_file: str | None = None
    telemetry_interval_seconds: float = 60.0
    hardware_id: str | None = None
    firmware: str | None = None
    log_level: str = "INFO"
    shutdown_flush_seconds: float = 10.0
    # Host hooks run for server commands (argv, no shell): reboot asks the supervisor, the
    # power limit ({percent}) talks to the inverters. Unset: the command fails, saying so.
    reboot_command: str | None = None
    power_limit_command: str | None = None


@dataclass(frozen=True)
class LoadedConfig:
    config: AgentConfig
    problems: tuple[str, ...] = ()
    source: str | None = None


Validator = Callable[[Any], Optional[str]]


@dataclass(frozen=True)
class _Spec:
    """What a key accepts: a type (bool/int/float/str), nullability and an extra check."""

    type: type
    nullable: bool = False
    check: Validator | None = None
    choices: tuple[str, ...] = field(default=())


def _at_least(minimum: float) -> Validator:
    return lambda value: None if value >= minimum else f"must be at least {minimum:g}"


def _between(low: int, high: int) -> Validator:
    return lambda value: None if low <= value <= high else f"must be between {low} and {high}"


def _http_url(value: str) -> str | None:
    if value.startswith(("http://", "https://")) and len(value) > len("https://"):
        return None
    return "must be an http:// or https:// URL"


def _scanner_input(value: str) -> str | None:
    if value in ("stdin", "none") or value.startswith(("hid:", "serial:")):
        return None
    return "must be 'stdin', 'none', 'hid:/dev/input/...' or 'serial:/dev/tty...'"


_SPECS: dict[str, _Spec] = {
    "api_base_url": _Spec(str, check=_http_url),
    "device_model": _Spec(str),
    "kind": _Spec(str, choices=KINDS),
    "location_id": _Spec(str, nullable=True),
    "location_label": _Spec(str, nullable=True),
    "batch_size": _Spec(int, check=_between(1, MAX_BATCH_SIZE)),
    "batch_timeout_seconds": _Spec(float, check=_at_least(0.1)),
    "retry_attempts": _Spec(int, check=_at_least(1)),
    "request_timeout_seconds": _Spec(float, check=_at_least(0.1)),
    "heartbeat_interval_seconds": _Spec(float, check=_at_least(1)),
    "health_check_interval_seconds": _Spec(float, check=_at_least(1)),
    "cpu_temp_threshold": _Spec(float),
    "batch_upload": _Spec(bool),
    "health_monitoring": _Spec(bool),
    "underage_alerts": _Spec(bool),
    "offline_queue": _Spec(bool),
    "state_dir": _Spec(str),
    "status_port": _Spec(int, check=_between(0, 65535)),
    "scanner_input": _Spec(str, check=_scanner_input),
    "serial_baud_rate": _Spec(int, check=_at_least(50)),
    "telemetry_command": _Spec(str, nullable=True),
    "telemetry_file": _Spec(str, nullable=True),
    "telemetry_interval_seconds": _Spec(float, check=_at_least(0.1)),
    "hardware_id": _Spec(str, nullable=True),
    "firmware": _Spec(str, nullable=True),
    "log_level": _Spec(str, choices=LOG_LEVELS),
    "shutdown_flush_seconds": _Spec(float, check=_at_least(0)),
    "reboot_command": _Spec(str, nullable=True),
    "power_limit_command": _Spec(str, nullable=True),
}

_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off")


def validate_value(key: str, value: Any) -> tuple[Any, str | None]:
    """Check one JSON value against its key's spec; returns (normalised value, problem)."""
    spec = _SPECS[key]
    if value is None:
        return (None, None) if spec.nullable else (None, "must not be null")
    if spec.type is bool:
        ok = isinstance(value, bool)
    elif spec.type is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif spec.type is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        return None, f"must be {_TYPE_NAMES[spec.type]}, got {type(value).__name__} {value!r}"
    if spec.choices and value not in spec.choices:
        return None, f"must be one of {', '.join(spec.choices)}, got {value!r}"
    if spec.check is not None:
        problem = spec.check(value)
        if problem:
            return None, f"{problem}, got {value!r}"
    return value, None


def _parse_env_text(key: str, text: str) -> tuple[Any, str | None]:
    """Turn an environment variable's text into the JSON value its key expects."""
    spec = _SPECS[key]
    stripped = text.strip()
    if spec.nullable and stripped == "":
        return None, None
    if spec.type is bool:
        if stripped.lower() in _TRUE_WORDS:
            return True, None
        if stripped.lower() in _FALSE_WORDS:
            return False, None
        return None, f"must be true or false, got {text!r}"
    if spec.type in (int, float):
        try:
            number = int(stripped) if spec.type is int else float(stripped)
        except ValueError:
            return None, f"must be {_TYPE_NAMES[spec.type]}, got {text!r}"
        return validate_value(key, number)
    return validate_value(key, text)


def _unknown_key_problem(where: str, name: str, key: str) -> str:
    hint = difflib.get_close_matches(key, _SPECS, n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"{where}: unknown key {name!r}{suggestion}; ignored"


def _read_file(path: str, explicit: bool) -> tuple[dict, list]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        if explicit:
            return {}, [f"{path}: config file not found; using defaults"]
        return {}, []
    except OSError as exc:
        return {}, [f"{path}: cannot read config file ({exc.strerror}); using defaults"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, [
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg}); "
            "whole file ignored, using defaults"
        ]
    if not isinstance(data, dict):
        return {}, [f"{path}: must hold a JSON object, got {type(data).__name__}; using defaults"]
    return data, []


def load_config(path: str | None = None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read the file at ``path`` (or the default) and apply ``TOCSIN_AGENT_*`` variables."""
    env = os.environ if env is None else env
    explicit = path is not None or CONFIG_PATH_ENV in env
    source = path or env.get(CONFIG_PATH_ENV) or DEFAULT_CONFIG_PATH
    data, problems = _read_file(source, explicit)
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key not in _SPECS:
            problems.append(_unknown_key_problem(source, key, key))
            continue
        value, problem = validate_value(key, raw)
        if problem:
            problems.append(f"{source}: {key} {problem}; using the default")
        else:
            values[key] = value
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in NON_CONFIG_ENV:
            continue
        key = name[len(ENV_PREFIX):].lower()
        if key not in _SPECS:
            problems.append(_unknown_key_problem("environment", name, key))
            continue
        value, problem = _parse_env_text(key, env[name])
        if problem:
            problems.append(f"environment: {name} {problem}; keeping the file's value or default")
        else:
            values[key] = value
    config = dataclasses.replace(AgentConfig(), **values)
    if config.kind == "gateway" and not (config.telemetry_command or config.telemetry_file):
        problems.append(
            "gateway: neither telemetry_command nor telemetry_file is set; "
            "no telemetry will be read"
        )
    return LoadedConfig(config=config, problems=tuple(problems), source=source)
