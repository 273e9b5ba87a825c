"""Gateway control over MQTT: command acks and shadow reports in; commands and deltas out.

Invariant: the broker's ACL (apps/iot/broker.py) lets a gateway publish only on its own
plant's `commands/ack` and `shadow/reported` and subscribe only to its own `commands/+`
and `shadow/delta`, so the plant in the topic is the gateway's own; it is mapped to the
gateway's device like readings are. Outgoing work is found in the database by the bridge
(`Outgoing.poll`, every half second), not sent from request threads: a command queued while
the broker is away goes out once it is back. A pending command is claimed (pending →
delivered, FOR UPDATE SKIP LOCKED) by one bridge before it is published at QoS 1, so
bridges sharing the subscription never send it twice; the agent also ignores a repeat.
Deltas are published retained with their version, so a gateway that reconnects gets the
latest one at once; an empty retained message clears it once the shadow converged.
"""

from __future__ import annotations

import json
import logging
import re

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.common.errors import ApplicationError
from apps.devices.commands import command_ack
from apps.devices.models import Device, DeviceKind
from apps.devices.shadows import delta_of, shadow_reported_update
from apps.iot.ingest import BatchOutcome, Inbound, _count, _excerpt, _gateway_device, _tenant_of_control
from apps.iot.models import DeadLetter, GatewayStatus

logger = logging.getLogger(__name__)

CONTROL_TOPIC = re.compile(r"^solar/(site_[a-z2-7]{1,32})/(commands/ack|shadow/reported)$")
MAX_CONTROL_BYTES = 16 * 1024
CLAIM_LIMIT = 200


def is_control(topic: str) -> bool:
    return CONTROL_TOPIC.match(topic) is not None


def commands_topic(plant_id: str, command_id: str) -> str:
    return f"solar/{plant_id}/commands/{command_id}"


def delta_topic(plant_id: str) -> str:
    return f"solar/{plant_id}/shadow/delta"


def handle_inbound(topic: str, payload: bytes) -> str | None:
    """Apply one ack or report; returns why it was refused (for the dead-letter table), or None."""
    match = CONTROL_TOPIC.match(topic)
    if match is None:
        return "not a control topic"
    device = _gateway_device(match.group(1))
    if device is None:
        return "no live gateway for this plant"
    if len(payload) > MAX_CONTROL_BYTES:
        return f"payload larger than {MAX_CONTROL_BYTES} bytes"
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return "payload is not JSON"
    if not isinstance(body, dict):
        return "payload is not a JSON object"
    try:
        if match.group(2) == "commands/ack":
            command_id = body.get("commandId")
            if not isinstance(command_id, str) or len(command_id) > 40:
                return "commandId missing"
            command_ack(device=device, command_id=command_id, ok=body.get("status") == "ok",
                        result=body.get("result"))
        else:
            shadow_reported_update(device=device, patch=body.get("reported"))
    except ApplicationError as exc:
        if exc.code == "command_expired":
            logger.info("a gateway acknowledged an expired command", extra={"plant": match.group(1)})
            return None
        return f"refused: {exc.message}"[:300]
    return None


_CLAIM = """
WITH claimed AS (
    UPDATE devices_devicecommand SET status = 'delivered', delivered_at = %(now)s, delivered_via = 'mqtt'
    WHERE id IN (SELECT c.id FROM devices_devicecommand c
                 JOIN iot_gateway g ON g.device_id = c.device_id AND g.status = %(active)s
                 WHERE c.status = 'pending' AND c.expires_at > %(now)s
                 ORDER BY c.created_at, c.id LIMIT %(limit)s FOR UPDATE OF c SKIP LOCKED)
    RETURNING public_id, name, params, expires_at, device_id, created_at
)
SELECT claimed.public_id, claimed.name, claimed.params, claimed.expires_at, s.public_id
FROM claimed JOIN devices_device d ON d.id = claimed.device_id JOIN tenancy_site s ON s.id = d.site_id
ORDER BY claimed.created_at
"""


class Outgoing:
    """What the bridge publishes: claimed commands, and each gateway's shadow delta."""

    def __init__(self, client) -> None:
        self.client = client
        self.published: dict[int, int] = {}  # device id → shadow version whose delta went out

    def poll(self) -> int:
        return self._commands() + self._deltas()

    def _commands(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM, {"now": timezone.now(), "active": GatewayStatus.ACTIVE, "limit": CLAIM_LIMIT})
            rows = cursor.fetchall()
        for public_id, name, params, expires_at, plant_id in rows:
            body = {"commandId": public_id, "name": name,
                    "params": json.loads(params) if isinstance(params, str) else params,
                    "expires_at": expires_at.isoformat()}
            self.client.publish(commands_topic(plant_id, public_id), json.dumps(body), qos=1)
        return len(rows)

    def _deltas(self) -> int:
        """Gateways whose delta is not empty, or whose last published delta may now be stale."""
        gateways = Device.objects.filter(kind=DeviceKind.GATEWAY, mqtt_gateway__status=GatewayStatus.ACTIVE)
        rows = gateways.filter(Q(shadow_pending_since__isnull=False) | Q(pk__in=list(self.published))) \
            .values_list("pk", "shadow_version", "desired_state", "reported_state", "site__public_id")
        sent = 0
        for pk, version, desired, reported, plant_id in rows:
            if self.published.get(pk) == version:
                continue
            delta = delta_of(desired, reported)
            payload = json.dumps({"version": version, "delta": delta}) if delta else b""
            self.client.publish(delta_topic(plant_id), payload, qos=1, retain=True)
            if delta:
                self.published[pk] = version
            else:
                self.published.pop(pk, None)  # cleared: nothing more to watch
            sent += 1
        return sent


def apply_control(inbound: Inbound) -> None:
    """One control message, in its own transaction; a refused one is dead-lettered with why,
    and one that trips an unexpected error too (it never stops the bridge)."""
    try:
        with transaction.atomic():
            reason = handle_inbound(inbound.topic, inbound.payload)
    except (OperationalError, InterfaceError):
        raise  # the database: the bridge retries, unacknowledged
    except Exception:
        logger.exception("a control message failed unexpectedly; dead-lettered")
        reason = "internal error while applying (see the bridge's log)"
    if reason is not None:
        with transaction.atomic():
            DeadLetter.objects.create(topic=inbound.topic[:300], payload_excerpt=_excerpt(inbound.payload),
                                      reason=reason, tenant_id=_tenant_of_control(inbound.topic))
            _count(BatchOutcome(dead_letters=1))
