"""Registration for the room tablets that speak the legacy API (`POST /api/devices/register`).

Those tablets have no key pair and cannot sign a challenge, so they cannot use two-phase
enrolment or key-based renewal. What they can do is present a setup token, the one change
they needed: registration is refused without a usable token for the named site, exactly
like enrolment (same vague refusal, same per-use accounting). A legacy tablet whose device
token expires registers again with a multi-use setup token; each registration bumps the
token version, so only the newest token of a tablet is ever valid.
"""

from __future__ import annotations

from django.db import transaction

from apps.audit.models import ActorType
from apps.audit.services import Actor, audit_record
from apps.devices.device_tokens import issue_device_token
from apps.devices.enrollment import EnrollmentRefused, IssuedToken, device_upsert, setup_token_admitting
from apps.devices.models import DeviceKind
from apps.devices.setup_tokens import setup_token_consume

LEGACY_MODEL = "legacy tablet"


def legacy_register(*, setup_token: str, hotel_id: str, device_id: str, room_id: str) -> IssuedToken:
    """Create or re-key the tablet `device_id` (its hardware id) in the site `hotel_id`
    (its location id) and return a device token.

    The device gets no public key (legacy tablets have none), so key-based renewal can
    never succeed for it: the setup token is its only way to a new device token.
    """
    token = setup_token_admitting(setup_token=setup_token, location_id=hotel_id, hardware_id=device_id)
    with transaction.atomic():
        if not setup_token_consume(setup_token=token):
            raise EnrollmentRefused()
        device, rekeyed = device_upsert(
            tenant=token.tenant, site=token.site, hardware_id=device_id, model=LEGACY_MODEL,
            kind=DeviceKind.TABLET, public_key="", name=f"Room {room_id}", desired_state={"room_id": room_id},
        )
        audit_record(
            tenant=token.tenant,
            actor=Actor(type=ActorType.DEVICE, id=device.public_id, label=device.hardware_id),
            action="device.rekeyed" if rekeyed else "device.enrolled", target_type="device",
            target_id=device.public_id,
            details={"legacy": True, "site": token.site.public_id, "setup_token_id": token.public_id,
                     "kind": device.kind, "model": device.model, "room_id": room_id},
        )
    access, expires_at = issue_device_token(device)
    return IssuedToken(device=device, access=access, expires_at=expires_at)
