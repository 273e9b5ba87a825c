"""A device replaces its own key (the `rotate_key` command), without a setup token.

Invariant: the new key takes over only if the request is authenticated as the device
(its current token, hence its current key) *and* the new key signed the rotation message,
so nobody can install a key whose private half they do not hold. The token version is
bumped in the same statement: every token issued for the old key dies, and the answer
carries the one token valid for the new key.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from apps.audit.services import Actor, audit_record
from apps.common.errors import ApplicationError
from apps.devices import keys
from apps.devices.device_tokens import issue_device_token
from apps.devices.enrollment import IssuedToken
from apps.devices.models import Device, DeviceStatus


def rotation_message(*, device_id: str, new_public_key: str) -> bytes:
    return f"tocsin-rotate-v1\n{device_id}\n{new_public_key}".encode()


def device_key_rotate(*, device: Device, actor: Actor, public_key: str, signature: str) -> IssuedToken:
    try:
        keys.load_public_key(public_key)
    except keys.InvalidKey as exc:
        raise ApplicationError("public_key is not an Ed25519 public key.", fields={"public_key": [str(exc)]}) from exc
    message = rotation_message(device_id=device.public_id, new_public_key=public_key)
    if not keys.signature_is_valid(public_key=public_key, signature=signature, message=message):
        raise ApplicationError("The signature by the new key does not verify.",
                               code="signature_invalid", fields={"signature": ["Does not verify."]})
    if public_key == device.public_key:
        raise ApplicationError("That is the current key.", fields={"public_key": ["Unchanged."]})
    with transaction.atomic():
        updated = Device.objects.filter(pk=device.pk, status=DeviceStatus.ACTIVE,
                                        token_version=device.token_version).update(
            public_key=public_key, token_version=F("token_version") + 1)
        if not updated:
            raise ApplicationError("The device changed meanwhile (revoked or renewed); try again.",
                                   code="conflict")
        audit_record(tenant=device.tenant, actor=actor,
                     action="device.key_rotated", target_type="device", target_id=device.public_id, details={})
    device.refresh_from_db(fields=["public_key", "token_version"])
    access, expires_at = issue_device_token(device)
    return IssuedToken(device=device, access=access, expires_at=expires_at)
