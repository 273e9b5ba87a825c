"""What the devices app does when a lower app's hook point fires."""

from __future__ import annotations

from apps.audit.services import Actor
from apps.devices.services import site_deprovision_devices


def on_site_deprovisioning(sender, site, actor, **kwargs) -> int:
    actor = actor if isinstance(actor, Actor) else Actor.for_user(actor)
    return site_deprovision_devices(site=site, actor=actor)
