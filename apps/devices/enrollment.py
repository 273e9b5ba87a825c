"""Two-phase enrolment and token renewal, both proven with the device's Ed25519 key.

A device is its key: a setup token admits new hardware, never a takeover. Enrolling a
hardware id that is already a device re-keys it only with proof of possession of the
device's current key (the enrolment challenge signed with it) or after a staff re-admit
naming the device; a revoked device stays revoked until re-admitted. Renewal bumps the
token version, so the token it replaces stops working at once.

No long-lived shared secret exists: the setup token is short-lived and limited in uses,
and what a device holds afterwards is its private key (never sent) and a short-lived JWT
that renewal replaces after a fresh challenge. Every refusal looks the same from outside.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.audit.models import ActorType
from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError, ForbiddenError
from apps.common.ids import generate_public_id
from apps.devices import keys
from apps.devices.device_tokens import issue_device_token
from apps.devices.locations import clean_location_label
from apps.devices.models import Device, DeviceChallenge, DeviceRefreshCredential, DeviceStatus, Enrollment
from apps.devices.setup_tokens import setup_token_consume, setup_token_find_usable
from apps.tenancy.models import Site, Tenant

logger = logging.getLogger(__name__)


class EnrollmentRefused(ForbiddenError):
    """Deliberately vague: which check failed would help an attacker, not the device."""

    code = "enrollment_refused"

    def __init__(self):
        super().__init__("Enrollment refused.")


class TakeoverRefused(EnrollmentRefused):
    """A re-key of an enrolled device without its key or a re-admit. It answers exactly like
    any other refusal; the caller records it after the rollback, so staff see the attempt."""

    def __init__(self, device: Device):
        super().__init__()
        self.device = device


def takeover_refused_record(refused: TakeoverRefused, *, setup_token_id: str, legacy: bool) -> None:
    """Audit a refused takeover in a transaction of its own (the enrolment's was rolled back)."""
    device = refused.device
    with transaction.atomic():
        audit_record(tenant=device.tenant, actor=Actor.system("anonymous"), action="device.takeover_refused",
                     target_type="device", target_id=device.public_id,
                     details={"setup_token_id": setup_token_id, "legacy": legacy, "status": device.status})


class RenewalRefused(ApplicationError):
    status_code = 401
    code = "authentication_failed"

    def __init__(self):
        super().__init__("Authentication required.")


class DeviceRevoked(ForbiddenError):
    code = "device_revoked"

    def __init__(self):
        super().__init__("This device has been revoked.")


@dataclass(frozen=True)
class Challenge:
    id: str
    challenge: str
    expires_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    device: Device
    access: str
    expires_at: datetime


def _challenge_ttl() -> timedelta:
    return timedelta(seconds=settings.TOCSIN_CHALLENGE_TTL_SECONDS)


def setup_token_admitting(*, setup_token: str, location_id: str, hardware_id: str):
    """The setup token, if it may enrol this hardware at this location; else refused.

    Every failed check (unknown, expired, used up, revoked, another location, hardware of
    another tenant) raises the same EnrollmentRefused.
    """
    token = setup_token_find_usable(token=setup_token)
    if token is None or token.site.location_id != location_id:
        raise EnrollmentRefused()
    owner = Device.objects.filter(hardware_id=hardware_id).values_list("tenant_id", flat=True).order_by().first()
    if owner is not None and owner != token.tenant_id:
        logger.warning("enrolment refused: hardware id belongs to another tenant")
        raise EnrollmentRefused()
    return token


def enrollment_start(*, setup_token: str, location_id: str, hardware_id: str, model: str, kind: str,
                     public_key: str, location_label: str = "") -> Challenge:
    """`location_label` (optional; else the setup token's) names where the device is in its site."""
    location_label = clean_location_label(location_label)
    token = setup_token_admitting(setup_token=setup_token, location_id=location_id, hardware_id=hardware_id)
    enrollment = Enrollment.objects.create(
        tenant=token.tenant, setup_token=token, site=token.site, hardware_id=hardware_id, model=model,
        kind=kind, public_key=public_key, location_label=location_label or token.location_label,
        challenge=keys.new_challenge(),
        expires_at=timezone.now() + _challenge_ttl(),
    )
    return Challenge(id=enrollment.public_id, challenge=enrollment.challenge, expires_at=enrollment.expires_at)


def readmit_is_open(device: Device) -> bool:
    return device.readmit_until is not None and device.readmit_until > timezone.now()


def _enrolment_rekey_proof(enrollment: Enrollment, current_key_signature: str | None) -> Callable[[Device], str | None]:
    """How this enrolment may re-key an existing device, or None: a staff re-admit, or
    the current key, which signed either the enrolment itself (same key) or the handover
    to the new key. A revoked device is re-admitted or nothing."""

    def proof(device: Device) -> str | None:
        if readmit_is_open(device):
            return "readmitted"
        if device.status == DeviceStatus.REVOKED or not device.public_key:
            return None
        if device.public_key == enrollment.public_key:
            return "current_key"  # the enrolment signature, already checked, was made with it
        if current_key_signature and keys.signature_is_valid(
                public_key=device.public_key, signature=current_key_signature,
                message=keys.rekey_message(enrollment_id=enrollment.public_id, hardware_id=enrollment.hardware_id,
                                           challenge=enrollment.challenge, new_public_key=enrollment.public_key)):
            return "current_key"
        return None

    return proof


def enrollment_complete(*, enrollment_id: str, signature: str, current_key_signature: str | None = None
                        ) -> IssuedToken:
    try:
        return _enrollment_complete(enrollment_id=enrollment_id, signature=signature,
                                    current_key_signature=current_key_signature)
    except TakeoverRefused as refused:
        token_id = Enrollment.objects.filter(public_id=enrollment_id).values_list(
            "setup_token__public_id", flat=True).get()
        takeover_refused_record(refused, setup_token_id=token_id, legacy=False)
        raise


def _enrollment_complete(*, enrollment_id: str, signature: str, current_key_signature: str | None) -> IssuedToken:
    with transaction.atomic():
        # Lock the enrolment row only: devices enrolling together at one site share its rows.
        enrollment = (Enrollment.objects.select_for_update(of=("self",))
                      .select_related("site", "tenant", "setup_token")
                      .filter(public_id=enrollment_id).order_by().first())
        if enrollment is None or enrollment.completed_at is not None or enrollment.expires_at <= timezone.now():
            raise EnrollmentRefused()
        message = keys.enrollment_message(enrollment_id=enrollment.public_id,
                                          hardware_id=enrollment.hardware_id, challenge=enrollment.challenge)
        if not keys.signature_is_valid(public_key=enrollment.public_key, signature=signature, message=message):
            raise EnrollmentRefused()
        # Refusals roll back the transaction, so a refused takeover costs the token no use.
        if not setup_token_consume(setup_token=enrollment.setup_token):
            raise EnrollmentRefused()
        device, proof = device_upsert(
            tenant=enrollment.tenant, site=enrollment.site, hardware_id=enrollment.hardware_id,
            model=enrollment.model, kind=enrollment.kind, public_key=enrollment.public_key,
            rekey_proof=_enrolment_rekey_proof(enrollment, current_key_signature),
            location_label=enrollment.location_label,
        )
        enrollment.completed_at = timezone.now()
        enrollment.device = device
        enrollment.save(update_fields=["completed_at", "device"])
        details = {"site": enrollment.site.public_id, "setup_token_id": enrollment.setup_token.public_id,
                   "kind": device.kind, "model": device.model}
        if proof:
            details["proof"] = proof
        audit_record(
            tenant=enrollment.tenant,
            actor=Actor(type=ActorType.DEVICE, id=device.public_id, label=device.hardware_id),
            action="device.rekeyed" if proof else "device.enrolled", target_type="device",
            target_id=device.public_id, details=details,
        )
    access, expires_at = issue_device_token(device)
    return IssuedToken(device=device, access=access, expires_at=expires_at)


def device_upsert(*, tenant: Tenant, site: Site, hardware_id: str, model: str, kind: str, public_key: str,
                  rekey_proof: Callable[[Device], str | None], name: str | None = None,
                  desired_state: dict | None = None, location_label: str = "") -> tuple[Device, str | None]:
    """Create the device, or re-key the one with this hardware id (old tokens die) when
    `rekey_proof(device)` names the proof that allows it; None refuses.

    Returns the device and the proof (None when it was created). Call inside a
    transaction: the existing row stays locked until it ends. `name`, when given, is set
    on re-key too, and so is `location_label` when not empty; `desired_state` entries are
    merged into the existing ones, so what staff configured (allowed access points...) survives a re-enrolment.
    """
    existing = Device.objects.select_for_update().filter(hardware_id=hardware_id).order_by().first()
    now = timezone.now()
    if existing is None:
        try:
            with transaction.atomic():
                device = Device.objects.create(
                    tenant=tenant, site=site, hardware_id=hardware_id, model=model, kind=kind,
                    public_key=public_key, status=DeviceStatus.ACTIVE, enrolled_at=now,
                    name=name or f"{kind} {hardware_id[-6:]}", desired_state=desired_state or {},
                    location_label=location_label,
                )
            return device, None
        except IntegrityError:
            # A concurrent enrolment of the same hardware created it first: that one is now
            # the device, and this enrolment needs the same proof as any other re-key.
            existing = Device.objects.select_for_update().get(hardware_id=hardware_id)
    if existing.tenant_id != tenant.pk:
        raise EnrollmentRefused()
    proof = rekey_proof(existing)
    if proof is None:
        logger.warning("enrolment refused: re-key of an enrolled device without its key or a re-admit",
                       extra={"device_id": existing.public_id})
        raise TakeoverRefused(existing)
    changes = {}
    if name:
        changes["name"] = name
    if location_label:
        changes["location_label"] = location_label
    if desired_state:
        changes["desired_state"] = {**existing.desired_state, **desired_state}
    Device.objects.filter(pk=existing.pk).update(
        site=site, model=model, kind=kind, public_key=public_key, status=DeviceStatus.ACTIVE,
        token_version=F("token_version") + 1, enrolled_at=now, revoked_at=None, revoked_by=None, revoke_reason="",
        readmit_until=None, **changes,
    )
    # The new identity starts clean: a credential of the old one must not even count as a replay.
    DeviceRefreshCredential.objects.filter(device=existing).delete()
    existing.refresh_from_db()
    return existing, proof


def renewal_challenge_create(*, device_id: str) -> Challenge:
    """A challenge for the device's key. Unknown ids get an unusable one that looks the same."""
    device = Device.objects.filter(public_id=device_id).only("pk", "tenant_id").order_by().first()
    expires_at = timezone.now() + _challenge_ttl()
    if device is None:
        return Challenge(id=generate_public_id("chl"), challenge=keys.new_challenge(), expires_at=expires_at)
    record = DeviceChallenge.objects.create(tenant_id=device.tenant_id, device=device,
                                            challenge=keys.new_challenge(), expires_at=expires_at)
    return Challenge(id=record.public_id, challenge=record.challenge, expires_at=record.expires_at)


def renewal_complete(*, device_id: str, challenge_id: str, signature: str) -> IssuedToken:
    with transaction.atomic():
        record = (DeviceChallenge.objects.select_for_update(of=("self",))
                  .select_related("device__tenant", "device__site")
                  .filter(public_id=challenge_id, device__public_id=device_id).order_by().first())
        if record is None or record.used_at is not None or record.expires_at <= timezone.now():
            raise RenewalRefused()
        device = record.device
        message = keys.renewal_message(challenge_id=record.public_id, device_id=device.public_id,
                                       challenge=record.challenge)
        if not keys.signature_is_valid(public_key=device.public_key, signature=signature, message=message):
            raise RenewalRefused()
        record.used_at = timezone.now()
        record.save(update_fields=["used_at"])
        # The token this one replaces was issued for the old version: it dies now.
        renewed = device.tenant.is_active and Device.objects.filter(
            pk=device.pk, status=DeviceStatus.ACTIVE).update(token_version=F("token_version") + 1)
        device.refresh_from_db(fields=["token_version", "status"])
    # Only the holder of the key learns that it was revoked, so it can stop and say so.
    if device.status == DeviceStatus.REVOKED:
        raise DeviceRevoked()
    if not renewed:
        raise RenewalRefused()
    access, expires_at = issue_device_token(device)
    return IssuedToken(device=device, access=access, expires_at=expires_at)
