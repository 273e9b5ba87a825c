"""Commands to devices: queued durably, delivered once, acknowledged with a result, or expired.

Invariant: a command row moves only forward, pending → delivered → acked / failed, or to
expired from either open state, and each move is one conditional UPDATE, so a late ack,
a double delivery or an expiry racing an ack is decided by PostgreSQL. A REST device gets
its pending commands in its next heartbeat answer; the heartbeat looks for them only
while `Device.commands_waiting_since` is set (queueing sets it, a delivery that finds the
queue empty clears it by compare-and-set), so the common heartbeat pays no query. MQTT
gateways get theirs on `solar/{plant}/commands/{id}`: the bridge claims and publishes them
(apps/iot/control.py).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError, NotFoundError
from apps.common.privacy import refuse_personal_data
from apps.devices.models import (
    OPEN_COMMAND_STATUSES,
    CommandName,
    CommandStatus,
    Device,
    DeviceCommand,
    DeviceKind,
    DeviceStatus,
)
from apps.tenancy.models import Site, Tenant

MAX_PER_DELIVERY = 20
MAX_GROUP_DEVICES = 1000
MAX_RESULT_BYTES = 2048
MAX_TTL_SECONDS = 7 * 24 * 3600


def _clean_params(name: str, params: dict | None, device_kind: str | None) -> dict:
    params = params or {}
    if not isinstance(params, dict):
        raise ApplicationError("params must be an object.", fields={"params": ["Must be an object."]})
    if name == CommandName.SET_POWER_LIMIT:
        percent = params.get("percent")
        if set(params) != {"percent"} or isinstance(percent, bool) or not isinstance(percent, int) \
                or not 0 <= percent <= 100:
            raise ApplicationError("set_power_limit takes {\"percent\": 0-100}.",
                                   fields={"params": ["Give percent, a whole number from 0 to 100."]})
        if device_kind not in (None, DeviceKind.GATEWAY):
            raise ApplicationError("Only plant gateways take a power limit.", fields={"name": ["Gateways only."]})
        return {"percent": percent}
    if params:
        raise ApplicationError(f"{name} takes no parameters.", fields={"params": ["Must be empty."]})
    return {}


def _targets(*, tenant: Tenant, name: str, device: Device | None, site: Site | None,
             kind: str | None) -> tuple[list[Device], str]:
    if device is not None:
        if device.tenant_id != tenant.pk:
            raise NotFoundError("No such device.")
        if device.status != DeviceStatus.ACTIVE:
            raise ApplicationError("The device is not active.", fields={"device": ["Not active."]})
        return [device], ""
    if site is None and kind is None:
        raise ApplicationError("Name a device, or a group by site and/or kind.",
                               fields={"device": ["Required without site or kind."]})
    group = Device.objects.filter(tenant=tenant, status=DeviceStatus.ACTIVE, archived_at__isnull=True)
    if site is not None:
        group = group.filter(site=site)
    if kind is not None:
        group = group.filter(kind=kind)
    if name == CommandName.SET_POWER_LIMIT:
        group = group.filter(kind=DeviceKind.GATEWAY)
    devices = list(group.order_by("pk")[:MAX_GROUP_DEVICES + 1])
    if not devices:
        raise ApplicationError("No active device matches that group.", fields={"site": ["No matching device."]})
    if len(devices) > MAX_GROUP_DEVICES:
        raise ApplicationError(f"A group command reaches at most {MAX_GROUP_DEVICES} devices; narrow it.")
    return devices, f"grp_{uuid.uuid4().hex[:16]}"


def command_send(*, tenant: Tenant, actor: Actor, name: str, params: dict | None = None, device: Device | None = None,
                 site: Site | None = None, kind: str | None = None, ttl_seconds: int | None = None
                 ) -> list[DeviceCommand]:
    """Queue one command for a device, or one per device of a group (site and/or kind)."""
    if name not in CommandName.values:
        raise ApplicationError("Unknown command.", fields={"name": [f"One of {', '.join(CommandName.values)}."]})
    params = _clean_params(name, params, device.kind if device is not None else None)
    ttl = ttl_seconds if ttl_seconds is not None else settings.TOCSIN_COMMAND_TTL_SECONDS
    if not 10 <= ttl <= MAX_TTL_SECONDS:
        raise ApplicationError("ttl_seconds is out of range.", fields={"ttl_seconds": ["From 10 s to 7 days."]})
    devices, group = _targets(tenant=tenant, name=name, device=device, site=site, kind=kind)
    now = timezone.now()
    rows = [DeviceCommand(tenant=tenant, device=target, name=name, params=params, group=group,
                          created_by_label=actor.label[:200], expires_at=now + timedelta(seconds=ttl))
            for target in devices]
    with transaction.atomic():
        created = DeviceCommand.objects.bulk_create(rows)
        Device.objects.filter(pk__in=[d.pk for d in devices]).update(commands_waiting_since=now)
        audit_record(tenant=tenant, actor=actor, action="device.command_sent",
                     target_type="device_group" if group else "device",
                     target_id=group or devices[0].public_id,
                     details={"name": name, "params": params, "devices": len(created), "ttl_seconds": ttl})
    return created


def command_payload(command: DeviceCommand | dict) -> dict:
    """What a device is sent: its id, name, parameters and when it stops being worth doing."""
    if isinstance(command, dict):
        return command
    return {"id": command.public_id, "name": command.name, "params": command.params,
            "expires_at": command.expires_at.isoformat()}


_DELIVER = """
UPDATE devices_devicecommand SET status = 'delivered', delivered_at = %(now)s, delivered_via = %(via)s
WHERE id IN (SELECT id FROM devices_devicecommand
             WHERE device_id = %(device)s AND status = 'pending' AND expires_at > %(now)s
             ORDER BY created_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING public_id, name, params, expires_at, created_at
"""


def commands_deliver(*, device: Device, via: str = "rest") -> list[dict]:
    """The device's pending commands, marked delivered (each is handed out once)."""
    if device.commands_waiting_since is None:
        return []
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_DELIVER, {"now": now, "via": via, "device": device.pk, "limit": MAX_PER_DELIVERY})
        rows = sorted(cursor.fetchall(), key=lambda row: row[4])
        if len(rows) < MAX_PER_DELIVERY:
            # Nothing left: clear the hint unless a command was queued since it was read.
            cursor.execute("UPDATE devices_device SET commands_waiting_since = NULL "
                           "WHERE id = %s AND commands_waiting_since = %s", [device.pk, device.commands_waiting_since])
    return [{"id": public_id, "name": name, "params": json.loads(params) if isinstance(params, str) else params,
             "expires_at": expires_at.isoformat()} for public_id, name, params, expires_at, _created in rows]


def _clean_result(result) -> dict:
    if result is None:
        return {}
    if not isinstance(result, dict):
        result = {"detail": result}
    refuse_personal_data(result)
    if len(json.dumps(result, default=str)) > MAX_RESULT_BYTES:
        raise ApplicationError(f"The result is larger than {MAX_RESULT_BYTES} bytes.",
                               fields={"result": ["Too large."]})
    return result


def command_ack(*, device: Device, command_id: str, ok: bool, result=None) -> DeviceCommand:
    """The device's answer. Acking a finished command again changes nothing (a resent ack);
    a command of another device answers 404."""
    result = _clean_result(result)
    now = timezone.now()
    updated = DeviceCommand.objects.filter(device=device, public_id=command_id, status__in=OPEN_COMMAND_STATUSES) \
        .update(status=CommandStatus.ACKED if ok else CommandStatus.FAILED, result=result, finished_at=now)
    command = DeviceCommand.objects.filter(device=device, public_id=command_id).first()
    if command is None:
        raise NotFoundError("No such command for this device.")
    if not updated and command.status == CommandStatus.EXPIRED:
        raise ApplicationError("The command had already expired; its result was not recorded.",
                               code="command_expired")
    return command


def commands_expire(*, now: datetime | None = None) -> int:
    """Beat: open commands past their time become expired, saying so, one audit entry each."""
    now = now or timezone.now()
    expired = 0
    with transaction.atomic():
        stale = list(DeviceCommand.objects.select_for_update(skip_locked=True)
                     .filter(status__in=OPEN_COMMAND_STATUSES, expires_at__lte=now)
                     .select_related("tenant", "device")[:1000])
        for command in stale:
            was = command.status
            command.status = CommandStatus.EXPIRED
            command.finished_at = now
            command.result = {"error": f"not acknowledged before it expired (it was {was})"}
            command.save(update_fields=["status", "finished_at", "result"])
            audit_record(tenant=command.tenant, actor=Actor.system("commands"), action="device.command_expired",
                         target_type="device", target_id=command.device.public_id,
                         details={"command": command.public_id, "name": command.name, "was": was})
            expired += 1
    return expired
