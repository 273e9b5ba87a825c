"""Provisioning of plant gateways: device row, certificate, broker identity, all or nothing.

Invariant: a gateway is either fully provisioned (device row, certificate, broker identity
with its ACL, in that order) or not at all. Each completed step is recorded on the gateway
as it finishes; a failure at any step undoes the completed ones in reverse order and leaves
an audit entry naming the step that failed and what was undone. A server-made private key
is held encrypted until it is downloaded once (then erased); the secrets rotation
re-encrypts the ones still held. Deprovisioning runs these steps backwards
(apps/iot/deprovisioning.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.services import Actor, audit_record
from apps.common.crypto import decrypt_secret, encrypt_secret, rotate_secret
from apps.common.errors import ApplicationError, ConflictError
from apps.devices.models import Device, DeviceKind, DeviceStatus
from apps.iot import authority, broker, broker_control, pki
from apps.iot.models import Gateway, GatewayStatus
from apps.tenancy.models import Site, SiteKind

logger = logging.getLogger(__name__)


class ProvisioningFailed(ApplicationError):
    status_code = 502
    code = "provisioning_failed"


class MqttUnavailable(ApplicationError):
    status_code = 503
    code = "mqtt_unavailable"


@dataclass
class ProvisionResult:
    gateway: Gateway
    certificate_pem: str
    chain_pem: str
    ca_pem: str
    key_available: bool = False
    steps: list[str] = field(default_factory=list)

    @property
    def broker_url(self) -> str:
        from django.conf import settings

        return settings.MQTT_PUBLIC_URL or settings.MQTT_URL


@dataclass
class _Run:
    site: Site
    actor: Actor
    hardware_id: str
    name: str
    model: str
    csr_pem: str
    gateway: Gateway | None = None
    done: list[str] = field(default_factory=list)


# --- the steps (do, undo) -------------------------------------------------------------------------

def _create_device(run: _Run) -> None:
    try:
        with transaction.atomic():
            device = Device.objects.create(
                tenant=run.site.tenant, site=run.site, hardware_id=run.hardware_id, name=run.name, model=run.model,
                kind=DeviceKind.GATEWAY, status=DeviceStatus.PENDING, public_key="")
            identity = pki.gateway_identity(tenant_public_id=run.site.tenant.public_id,
                                            device_public_id=device.public_id)
            run.gateway = Gateway.objects.create(tenant=run.site.tenant, site=run.site, device=device,
                                                 identity=identity)
    except IntegrityError as exc:
        if Device.objects.filter(hardware_id=run.hardware_id).exists():
            raise ConflictError("A device with this hardware id already exists.",
                                fields={"hardware_id": ["Already enrolled."]}) from exc
        raise ConflictError("This plant already has a live gateway; revoke it first.") from exc


def _delete_device(run: _Run) -> None:
    device_id = run.gateway.device_id
    with transaction.atomic():
        Gateway.objects.filter(pk=run.gateway.pk).delete()
        Device.objects.filter(pk=device_id).delete()


def _issue_certificate(run: _Run) -> None:
    gateway = run.gateway
    issuer = authority.tenant_pair(run.site.tenant)
    serial = pki.x509.random_serial_number()
    if run.csr_pem:
        try:
            cert_pem = pki.sign_csr(csr_pem=run.csr_pem, issuer=issuer, common_name=gateway.identity, serial=serial)
        except pki.CertificateRequestError as exc:
            raise ApplicationError(str(exc), fields={"csr": [str(exc)]}) from exc
        key_encrypted = ""
    else:
        pair = pki.issue_client_keypair(issuer=issuer, common_name=gateway.identity, serial=serial)
        cert_pem, key_encrypted = pair.cert_pem, encrypt_secret(pair.key_pem)
    Gateway.objects.filter(pk=gateway.pk).update(cert_pem=cert_pem, cert_serial=format(serial, "x"),
                                                 cert_fingerprint=pki.fingerprint(cert_pem),
                                                 key_encrypted=key_encrypted)
    gateway.refresh_from_db()


def _discard_certificate(run: _Run) -> None:
    """The certificate never left the server (it is returned only on success): erase it."""
    Gateway.objects.filter(pk=run.gateway.pk).update(cert_pem="", cert_serial="", cert_fingerprint="",
                                                     key_encrypted="")


def _install_broker_identity(run: _Run) -> None:
    # The CRL names every CA (a new tenant's too): the broker refuses an issuer without one.
    broker.publish_crl()
    broker_control.install_gateway(identity=run.gateway.identity, plant_id=run.site.public_id)


def _remove_broker_identity(run: _Run) -> None:
    broker_control.remove_gateway(identity=run.gateway.identity)


STEPS: tuple[tuple[str, Callable[[_Run], None], Callable[[_Run], None]], ...] = (
    ("device", _create_device, _delete_device),
    ("certificate", _issue_certificate, _discard_certificate),
    ("broker_identity", _install_broker_identity, _remove_broker_identity),
)


def _record_step(run: _Run, name: str) -> None:
    run.done.append(name)
    Gateway.objects.filter(pk=run.gateway.pk).update(
        steps=[*run.gateway.steps, {"step": name, "at": timezone.now().isoformat()}])
    run.gateway.refresh_from_db()


def _describe(exc: Exception) -> str:
    return (exc.message if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}")[:300]


def _roll_back(run: _Run, failed_step: str, exc: Exception) -> None:
    undone, undo_failed = [], []
    for name, _do, undo in reversed(STEPS):
        if name not in run.done:
            continue
        try:
            undo(run)
            undone.append(name)
        except Exception as undo_exc:  # noqa: BLE001  (keep undoing; the audit entry says what stayed)
            logger.exception("undo of provisioning step %s failed", name)
            undo_failed.append({"step": name, "error": _describe(undo_exc)})
    audit_record(tenant=run.site.tenant, actor=run.actor, action="gateway.provision_failed", target_type="site",
                 target_id=run.site.public_id,
                 details={"hardware_id": run.hardware_id, "failed_step": failed_step, "error": _describe(exc),
                          "undone": undone, "undo_failed": undo_failed})


def gateway_provision(*, site: Site, actor: Actor, hardware_id: str, name: str = "", model: str = "",
                      csr_pem: str = "") -> ProvisionResult:
    """Make a plant's gateway: device, certificate (from the gateway's CSR when it can make
    one, so its private key never leaves it), broker identity and ACL, all or nothing."""
    if site.kind != SiteKind.PLANT:
        raise ApplicationError("Only plants have MQTT gateways.", fields={"site": ["Not a plant."]})
    if not broker.mqtt_enabled():
        raise MqttUnavailable("MQTT is not configured (MQTT_URL): plants work over REST until it is.")
    if not hardware_id:
        raise ApplicationError("A hardware id is required.", fields={"hardware_id": ["This field is required."]})
    run = _Run(site=site, actor=actor, hardware_id=hardware_id, name=name, model=model, csr_pem=csr_pem)
    for step, do, _undo in STEPS:
        try:
            do(run)
        except Exception as exc:
            _roll_back(run, step, exc)
            if isinstance(exc, ApplicationError):
                raise
            raise ProvisioningFailed(f"Provisioning failed at step '{step}'; every earlier step was undone.") from exc
        _record_step(run, step)
    gateway = run.gateway
    with transaction.atomic():
        Gateway.objects.filter(pk=gateway.pk).update(status=GatewayStatus.ACTIVE, activated_at=timezone.now())
        Device.objects.filter(pk=gateway.device_id).update(status=DeviceStatus.ACTIVE, enrolled_at=timezone.now())
        audit_record(tenant=site.tenant, actor=actor, action="gateway.provisioned", target_type="device",
                     target_id=gateway.device.public_id,
                     details={"site": site.public_id, "identity": gateway.identity, "serial": gateway.cert_serial,
                              "csr": bool(csr_pem), "steps": run.done})
    gateway.refresh_from_db()
    return ProvisionResult(gateway=gateway, certificate_pem=gateway.cert_pem,
                           chain_pem=authority.chain_pem(site.tenant),
                           ca_pem=authority.root_ca().cert_pem, key_available=bool(gateway.key_encrypted),
                           steps=run.done)


@dataclass
class PlantResult:
    site: Site
    provisioned: ProvisionResult | None
    warnings: list[str]


def plant_create(*, tenant, actor: Actor, name: str, location_id: str, timezone: str = "UTC", address: str = "",
                 gateway_hardware_id: str = "", gateway_name: str = "", csr_pem: str = "") -> PlantResult:
    """A plant, and its gateway when one is named. Without MQTT the plant is still created,
    with a warning, and its gateway can be provisioned later; a failed provisioning leaves
    the plant (it is useful over REST) and says so."""
    from apps.tenancy.services import site_create

    site = site_create(tenant=tenant, name=name, location_id=location_id, kind=SiteKind.PLANT, timezone=timezone,
                       address=address)
    if not broker.mqtt_enabled():
        return PlantResult(site=site, provisioned=None, warnings=[
            "MQTT is not configured (MQTT_URL): the plant reports over REST; provision its gateway later."])
    if not gateway_hardware_id:
        return PlantResult(site=site, provisioned=None, warnings=[])
    result = gateway_provision(site=site, actor=actor, hardware_id=gateway_hardware_id, name=gateway_name,
                               csr_pem=csr_pem)
    return PlantResult(site=site, provisioned=result, warnings=[])


def gateway_key_download(*, gateway: Gateway, actor: Actor) -> str:
    """The server-made private key, once: it is erased in the same transaction."""
    with transaction.atomic():
        locked = Gateway.objects.select_for_update().get(pk=gateway.pk)
        if not locked.key_encrypted:
            raise ConflictError("This gateway's key was already downloaded, or it made its own (CSR).")
        key = decrypt_secret(locked.key_encrypted)
        Gateway.objects.filter(pk=gateway.pk).update(key_encrypted="", key_downloaded_at=timezone.now())
        audit_record(tenant=gateway.tenant, actor=actor, action="gateway.key_downloaded", target_type="device",
                     target_id=gateway.device.public_id, details={"identity": gateway.identity})
    return key


def existing_plants_provision(*, actor: Actor, report: Callable[[str], None]) -> dict[str, int]:
    """Plants created before MQTT: each without a live gateway gets one with a server-made
    key (download it once from the admin or the API); each outcome is reported."""
    outcome = {"provisioned": 0, "skipped": 0, "failed": 0}
    plants = Site.objects.filter(kind=SiteKind.PLANT).select_related("tenant").order_by("tenant__name", "name")
    for site in plants:
        if Gateway.objects.filter(site=site).exclude(status=GatewayStatus.REVOKED).exists():
            outcome["skipped"] += 1
            report(f"{site.tenant.name} / {site}: already has a gateway")
            continue
        try:
            result = gateway_provision(site=site, actor=actor, hardware_id=f"gateway-{site.public_id}",
                                       name=f"{site.name} gateway")
        except ApplicationError as exc:
            outcome["failed"] += 1
            report(f"{site.tenant.name} / {site}: FAILED: {exc.message}")
            continue
        outcome["provisioned"] += 1
        report(f"{site.tenant.name} / {site}: provisioned {result.gateway.identity}")
    return outcome



def iot_secrets_rotate() -> int:
    """CA keys and not-yet-downloaded gateway keys, re-encrypted under the newest key."""
    rotated = authority.rotate_ca_keys()
    for gateway in Gateway.objects.exclude(key_encrypted=""):
        Gateway.objects.filter(pk=gateway.pk).update(key_encrypted=rotate_secret(gateway.key_encrypted))
        rotated += 1
    return rotated
