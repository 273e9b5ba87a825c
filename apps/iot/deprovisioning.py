"""Deprovisioning of plant gateways: the provisioning steps run backwards.

Invariant: a gateway is cut off in order: the broker identity first (an open session is
cut at once), then the certificate (onto the CRL, which the broker reloads), then the
device. A broker that cannot be reached does not stop it: the certificate and the device
are revoked at once, and the revocation sweep removes the identity once the broker
answers, so a revocation made anywhere (the devices API, the admin) reaches the broker.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from apps.audit.services import Actor, audit_record
from apps.devices.models import Device, DeviceStatus
from apps.devices.services import device_revoke
from apps.iot import authority, broker, broker_control
from apps.iot.models import Gateway, GatewayStatus, RevokedCertificate

logger = logging.getLogger(__name__)


def _has_step(gateway: Gateway, name: str) -> bool:
    return any(step.get("step") == name for step in gateway.steps)


def gateway_deprovision(*, gateway: Gateway, actor: Actor, reason: str = "", delete: bool = False,
                        revoked_by=None) -> None:
    """Cut the gateway off, in order: broker identity (open session disconnected), then the
    certificate (CRL, broker reloaded), then the device; `delete` also removes the rows.

    If the broker is unreachable the certificate and device are still revoked here, and the
    identity is removed by the revocation sweep once the broker answers again.
    """
    gateway = Gateway.objects.select_related("tenant", "site", "device").get(pk=gateway.pk)
    removed_from_broker = not _has_step(gateway, "broker_identity")
    if not removed_from_broker and broker.mqtt_enabled():
        try:
            broker_control.remove_gateway(identity=gateway.identity)
            removed_from_broker = True
        except broker.BrokerError:
            logger.warning("broker unreachable while deprovisioning %s; the sweep will retry", gateway.identity)
    now = timezone.now()
    with transaction.atomic():
        if gateway.cert_serial:
            RevokedCertificate.objects.get_or_create(
                authority=authority.tenant_ca(gateway.tenant), serial=gateway.cert_serial,
                defaults={"identity": gateway.identity, "revoked_at": now})
        steps = [s for s in gateway.steps if not (removed_from_broker and s.get("step") == "broker_identity")]
        Gateway.objects.filter(pk=gateway.pk).update(status=GatewayStatus.REVOKED, revoked_at=gateway.revoked_at or now,
                                                     steps=steps, key_encrypted="")
        if gateway.device.status != DeviceStatus.REVOKED:
            device_revoke(device=gateway.device, actor=actor, reason=reason or "gateway deprovisioned",
                          revoked_by=revoked_by)
        audit_record(tenant=gateway.tenant, actor=actor, action="gateway.deprovisioned", target_type="device",
                     target_id=gateway.device.public_id,
                     details={"identity": gateway.identity, "serial": gateway.cert_serial, "deleted": delete,
                              "broker_identity_removed": removed_from_broker, "reason": reason[:200]})
        if delete and removed_from_broker:
            device_id = gateway.device_id
            Gateway.objects.filter(pk=gateway.pk).delete()
            Device.objects.filter(pk=device_id).delete()
    transaction.on_commit(broker.publish_crl)


def gateway_revocations_sync(*, actor: Actor | None = None) -> int:
    """Beat: gateways whose device was revoked elsewhere (the devices API, the admin) are
    deprovisioned, and identities the broker missed are removed; returns how many."""
    actor = actor or Actor.system("mqtt revocation sweep")
    handled = 0
    stale = Gateway.objects.filter(status__in=[GatewayStatus.ACTIVE, GatewayStatus.PROVISIONING],
                                   device__status=DeviceStatus.REVOKED)
    for gateway in stale:
        gateway_deprovision(gateway=gateway, actor=actor, reason="device revoked")
        handled += 1
    if broker.mqtt_enabled():
        missed = Gateway.objects.filter(status=GatewayStatus.REVOKED, steps__contains=[{"step": "broker_identity"}])
        for gateway in missed:
            try:
                broker_control.remove_gateway(identity=gateway.identity)
            except broker.BrokerError:
                break
            Gateway.objects.filter(pk=gateway.pk).update(
                steps=[s for s in gateway.steps if s.get("step") != "broker_identity"])
            handled += 1
    return handled
