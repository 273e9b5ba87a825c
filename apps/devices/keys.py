"""Ed25519 keys and the exact messages a device signs.

The signed messages bind the challenge to what it is for (enrolment or renewal), to the
enrolment or challenge id and to the device, so a signature can never be replayed for
another purpose, another enrolment or another device.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ED25519_PUBLIC_KEY_BYTES = 32
ED25519_SIGNATURE_BYTES = 64
CHALLENGE_BYTES = 32


class InvalidKey(ValueError):
    pass


def new_challenge() -> str:
    return base64.b64encode(secrets.token_bytes(CHALLENGE_BYTES)).decode()


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def load_public_key(encoded: str) -> Ed25519PublicKey:
    """The key from standard base64 of its 32 raw bytes, or InvalidKey."""
    try:
        raw = _b64decode(encoded)
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise InvalidKey("not base64") from exc
    if len(raw) != ED25519_PUBLIC_KEY_BYTES:
        raise InvalidKey("an Ed25519 public key is 32 bytes")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise InvalidKey("not an Ed25519 public key") from exc


def signature_is_valid(*, public_key: str, signature: str, message: bytes) -> bool:
    try:
        raw_signature = _b64decode(signature)
        if len(raw_signature) != ED25519_SIGNATURE_BYTES:
            return False
        load_public_key(public_key).verify(raw_signature, message)
    except (InvalidKey, InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return True


def enrollment_message(*, enrollment_id: str, hardware_id: str, challenge: str) -> bytes:
    return f"tocsin-enroll-v1\n{enrollment_id}\n{hardware_id}\n{challenge}".encode()


def rekey_message(*, enrollment_id: str, hardware_id: str, challenge: str, new_public_key: str) -> bytes:
    """Signed with a device's current key to hand its identity over to a new key."""
    return f"tocsin-rekey-v1\n{enrollment_id}\n{hardware_id}\n{challenge}\n{new_public_key}".encode()


def renewal_message(*, challenge_id: str, device_id: str, challenge: str) -> bytes:
    return f"tocsin-token-v1\n{challenge_id}\n{device_id}\n{challenge}".encode()
