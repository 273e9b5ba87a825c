"""Registration for the room tablets that speak the legacy API (`POST /api/devices/register`).

A legacy tablet is its refresh credential. Those tablets have no key pair and cannot sign
a challenge, so what proves a tablet is a per-device refresh credential, issued at its
first registration and shown once: it is stored hashed, good for one use, and every use
returns the next one with the next device token. A setup token admits new hardware only:
it never re-keys a tablet that is already enrolled, unless staff re-admitted it. An old
credential presented again means two parties hold the tablet's secret, so the tablet is
revoked and a tamper alert raised; both then need staff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.audit.models import ActorType
from apps.audit.services import Actor, audit_record
from apps.devices.credentials import new_refresh_credential, sha256_hex
from apps.devices.device_tokens import issue_device_token
from apps.devices.enrollment import (
    DeviceRevoked,
    EnrollmentRefused,
    IssuedToken,
    TakeoverRefused,
    device_upsert,
    readmit_is_open,
    setup_token_admitting,
    takeover_refused_record,
)
from apps.devices.models import Device, DeviceKind, DeviceRefreshCredential, DeviceStatus, SetupToken
from apps.devices.services import device_revoke
from apps.devices.setup_tokens import setup_token_consume
from apps.devices.signals import device_tampered

logger = logging.getLogger(__name__)

LEGACY_MODEL = "legacy tablet"
REPLAY_REASON = "refresh_credential_replayed"


@dataclass(frozen=True)
class LegacyIssued:
    """A device token and the refresh credential for the next one (the only time it exists)."""

    token: IssuedToken
    refresh_credential: str


def _issue_refresh_credential(device: Device) -> str:
    """Supersede the device's current credential, if any, and store the next one's hash."""
    now = timezone.now()
    DeviceRefreshCredential.objects.filter(device=device, superseded_at__isnull=True).update(superseded_at=now)
    credential = new_refresh_credential()
    DeviceRefreshCredential.objects.create(tenant_id=device.tenant_id, device=device,
                                           credential_hash=sha256_hex(credential))
    return credential


def _readmitted(device: Device) -> str | None:
    return "readmitted" if readmit_is_open(device) else None


def legacy_register(*, setup_token: str, hotel_id: str, device_id: str, room_id: str) -> LegacyIssued:
    """Create the tablet `device_id` (its hardware id) in the site `hotel_id` (its location
    id), or re-key it if staff re-admitted it; return a device token and its first refresh
    credential. The device gets no public key (legacy tablets have none)."""
    token = setup_token_admitting(setup_token=setup_token, location_id=hotel_id, hardware_id=device_id)
    try:
        return _legacy_register(token=token, device_id=device_id, room_id=room_id)
    except TakeoverRefused as refused:
        takeover_refused_record(refused, setup_token_id=token.public_id, legacy=True)
        raise


def _legacy_register(*, token: SetupToken, device_id: str, room_id: str) -> LegacyIssued:
    with transaction.atomic():
        if not setup_token_consume(setup_token=token):
            raise EnrollmentRefused()
        device, proof = device_upsert(
            tenant=token.tenant, site=token.site, hardware_id=device_id, model=LEGACY_MODEL,
            kind=DeviceKind.TABLET, public_key="", name=f"Room {room_id}", desired_state={"room_id": room_id},
            rekey_proof=_readmitted,
        )
        credential = _issue_refresh_credential(device)
        details = {"legacy": True, "site": token.site.public_id, "setup_token_id": token.public_id,
                   "kind": device.kind, "model": device.model, "room_id": room_id}
        if proof:
            details["proof"] = proof
        audit_record(
            tenant=token.tenant,
            actor=Actor(type=ActorType.DEVICE, id=device.public_id, label=device.hardware_id),
            action="device.rekeyed" if proof else "device.enrolled", target_type="device",
            target_id=device.public_id, details=details,
        )
    access, expires_at = issue_device_token(device)
    return LegacyIssued(token=IssuedToken(device=device, access=access, expires_at=expires_at),
                        refresh_credential=credential)


def legacy_refresh(*, refresh_credential: str, hotel_id: str, device_id: str, room_id: str) -> LegacyIssued:
    """The next device token and refresh credential for the tablet that holds the current one.

    The previous device token dies (token version bump); the room and name follow `room_id`,
    as they did when tablets re-registered. A superseded credential revokes the tablet.
    """
    with transaction.atomic():
        record = (DeviceRefreshCredential.objects.select_for_update(of=("self",))
                  .select_related("device__tenant", "device__site")
                  .filter(credential_hash=sha256_hex(refresh_credential)).order_by().first())
        if record is None:
            raise EnrollmentRefused()
        device = record.device
        if record.superseded_at is not None:
            _replayed(device)
        elif device.hardware_id != device_id or device.site.location_id != hotel_id:
            raise EnrollmentRefused()
        elif device.status == DeviceStatus.ACTIVE and device.tenant.is_active:
            credential = _issue_refresh_credential(device)
            changes = {}
            if device.desired_state.get("room_id") != room_id:
                changes = {"name": f"Room {room_id}", "desired_state": {**device.desired_state, "room_id": room_id}}
            Device.objects.filter(pk=device.pk).update(token_version=F("token_version") + 1, **changes)
            device.refresh_from_db(fields=["token_version", "name", "desired_state"])
            access, expires_at = issue_device_token(device)
            return LegacyIssued(token=IssuedToken(device=device, access=access, expires_at=expires_at),
                                refresh_credential=credential)
    # Committed by now: a replay's revocation and alert stand although the call is refused.
    if device.status == DeviceStatus.REVOKED or record.superseded_at is not None:
        raise DeviceRevoked()
    raise EnrollmentRefused()


def _replayed(device: Device) -> None:
    """Revoke the tablet (if it isn't yet) and tell the alert engine, in this transaction."""
    logger.warning("legacy refresh credential replayed; device revoked", extra={"device_id": device.public_id})
    if device.status != DeviceStatus.REVOKED:
        device_revoke(device=device, actor=Actor.system("devices"),
                      reason="an old refresh credential was presented again")
    device_tampered.send(
        sender=Device, device=device, reason=REPLAY_REASON,
        summary=f"{device} was revoked: an old refresh credential was presented again "
                f"(its secret was copied). Re-admit it once the tablet is checked.",
    )
