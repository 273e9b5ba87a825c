"""The plant gateway's message, validated: `{plantId, deviceId, timestamp, metrics: {...}}`.

Pure functions, no database: a message is either a list of readings or a reason it is
refused (the bridge dead-letters it with that reason). The message key for dedup layer 1
is the MQTT v5 correlation data, else the payload's `messageId`, else a hash of topic,
inverter and timestamp, so a redelivered message carries the same key in every case.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_METRICS = 64
TOPIC = re.compile(r"^solar/(site_[a-z2-7]{1,32})/data$")
INVERTER = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
METRIC = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
READING_NAMESPACE = uuid.UUID("5d2f7a3e-86c1-4b8e-9a57-0b6f4c1e2d90")
UNITS = {"voltage_dc": "V", "current_dc": "A", "voltage_ac": "V", "current_ac": "A", "power_ac": "W",
         "power_dc": "W", "energy_total": "kWh", "energy_today": "kWh", "temperature": "°C", "frequency": "Hz"}
FUTURE_TOLERANCE = timedelta(minutes=10)
PAST_LIMIT = timedelta(days=365)


class Refused(ValueError):
    """Why a message cannot be stored; the text goes to the dead-letter table."""


@dataclass(frozen=True)
class PlantMessage:
    plant_id: str
    inverter: str
    timestamp: datetime
    message_key: str
    readings: list[dict]


def topic_plant(topic: str) -> str:
    match = TOPIC.match(topic)
    if not match:
        raise Refused("topic is not solar/<plantId>/data")
    return match.group(1)


def _timestamp(value, now: datetime) -> datetime:
    if isinstance(value, bool):
        raise Refused("timestamp must be ISO 8601 or epoch seconds/milliseconds")
    if isinstance(value, (int, float)) and math.isfinite(value):
        seconds = value / 1000 if value > 1e11 else value
        try:
            ts = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise Refused("timestamp out of range") from exc
    elif isinstance(value, str) and len(value) <= 40:
        try:
            ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise Refused("timestamp must be ISO 8601 or epoch seconds/milliseconds") from exc
        if ts.tzinfo is None:
            raise Refused("timestamp needs a timezone (Z or +HH:MM)")
    else:
        raise Refused("timestamp must be ISO 8601 or epoch seconds/milliseconds")
    if ts > now + FUTURE_TOLERANCE or ts < now - PAST_LIMIT:
        raise Refused("timestamp is too far in the future or the past")
    return ts.astimezone(UTC)


def message_key(*, topic: str, correlation: bytes | None, payload_id, inverter: str, timestamp: datetime) -> str:
    if correlation:
        source = b"c:" + correlation
    elif isinstance(payload_id, str) and payload_id:
        source = ("m:" + payload_id[:200]).encode()
    else:
        source = f"h:{topic}|{inverter}|{timestamp.isoformat()}".encode()
    return hashlib.sha256(source).hexdigest()


def parse(*, topic: str, payload: bytes, correlation: bytes | None = None, now: datetime | None = None) -> PlantMessage:
    plant = topic_plant(topic)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Refused(f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused("payload is not JSON") from exc
    if not isinstance(body, dict):
        raise Refused("payload is not a JSON object")
    if body.get("plantId") != plant:
        raise Refused("plantId does not match the topic's plant")
    inverter = body.get("deviceId")
    if not isinstance(inverter, str) or not INVERTER.match(inverter):
        raise Refused("deviceId (the inverter) must be 1-64 letters, digits or ._:-")
    timestamp = _timestamp(body.get("timestamp"), now or datetime.now(UTC))
    metrics = body.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        raise Refused("metrics must be a non-empty object of name: number")
    if len(metrics) > MAX_METRICS:
        raise Refused(f"more than {MAX_METRICS} metrics")
    key = message_key(topic=topic, correlation=correlation, payload_id=body.get("messageId"), inverter=inverter,
                      timestamp=timestamp)
    readings = []
    for name, value in metrics.items():
        if not METRIC.match(name):
            raise Refused(f"metric name '{name[:64]}' must be lowercase like power_ac")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise Refused(f"metric '{name}' must be a finite number")
        readings.append({"message_id": uuid.uuid5(READING_NAMESPACE, f"{key}/{inverter}/{name}"),
                         "inverter": inverter, "metric": name, "value": float(value), "unit": UNITS.get(name, ""),
                         "ts": timestamp})
    return PlantMessage(plant_id=plant, inverter=inverter, timestamp=timestamp, message_key=key, readings=readings)
