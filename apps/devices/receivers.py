"""What the devices app does when a lower app sends a signal."""

from __future__ import annotations

from apps.audit.services import Actor
from apps.devices.models import Device
from apps.devices.services import site_deprovision_devices


def on_site_deprovisioning(sender, site, actor, **kwargs) -> None:
    actor = actor if isinstance(actor, Actor) else Actor.for_user(actor)
    site_deprovision_devices(site=site, actor=actor)


def site_history(sender, site, **kwargs) -> int:
    """Archived devices keep their site: their scans and alerts name it."""
    return int(Device.objects.filter(site=site).exists())
