"""What a heartbeat answer tells a REST device besides "accepted": its shadow delta and commands.

Invariant: no query unless there is something to say. The delta is computed from the
device row authentication already read; commands are looked for only while the row says
some are waiting (apps/devices/commands.py), so an idle device's heartbeat costs nothing more.
"""

from __future__ import annotations

from apps.devices.commands import commands_deliver
from apps.devices.models import Device
from apps.devices.shadows import delta_of


def heartbeat_reply(device: Device) -> dict:
    reply: dict = {}
    if device.desired_state:
        delta = delta_of(device.desired_state, device.reported_state)
        if delta:
            reply["shadow"] = {"version": device.shadow_version, "delta": delta}
    pending = commands_deliver(device=device, via="rest")
    if pending:
        reply["commands"] = pending
    return reply
