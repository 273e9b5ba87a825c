"""What the iot app does when a lower app sends a signal.

Invariant: a plant being deleted or archived loses its gateways' broker identities first
(an open session is cut), then their certificates (onto the CRL), then their devices,
through `gateway_deprovision`, before the devices app deletes or archives the device rows;
each gateway's deprovisioning is audited. A broker that cannot be reached does not stop the
plant's deprovisioning: certificates and devices are revoked here and the revocation sweep
removes the identity once the broker answers.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q

from apps.audit.services import Actor
from apps.iot.models import Gateway, GatewayStatus


def on_site_disconnecting(sender, site, actor, **kwargs) -> None:
    from apps.iot.deprovisioning import gateway_deprovision

    user = actor if isinstance(actor, get_user_model()) else None
    actor = actor if isinstance(actor, Actor) else Actor.for_user(actor)
    live_or_on_broker = Gateway.objects.filter(site=site).filter(
        ~Q(status=GatewayStatus.REVOKED) | Q(steps__contains=[{"step": "broker_identity"}]))
    for gateway in live_or_on_broker:
        gateway_deprovision(gateway=gateway, actor=actor, reason="plant deprovisioned", revoked_by=user)


def device_history(sender, device, **kwargs) -> int:
    """A gateway whose broker identity is still to be removed (the broker was unreachable)
    keeps its device row, archived rather than deleted, so the revocation sweep can still
    find the identity and remove it once the broker answers."""
    return int(Gateway.objects.filter(device=device, steps__contains=[{"step": "broker_identity"}]).exists())
