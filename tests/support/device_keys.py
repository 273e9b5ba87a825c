"""A device's side of the identity protocol, with a real Ed25519 key (`cryptography`)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass
class DeviceKey:
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public_b64(self) -> str:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def sign(self, message: str) -> str:
        return base64.b64encode(self.private.sign(message.encode())).decode()

    def sign_enrollment(self, *, enrollment_id: str, hardware_id: str, challenge: str) -> str:
        return self.sign(f"tocsin-enroll-v1\n{enrollment_id}\n{hardware_id}\n{challenge}")

    def sign_rekey(self, *, enrollment_id: str, hardware_id: str, challenge: str, new_public_key: str) -> str:
        return self.sign(f"tocsin-rekey-v1\n{enrollment_id}\n{hardware_id}\n{challenge}\n{new_public_key}")

    def sign_renewal(self, *, challenge_id: str, device_id: str, challenge: str) -> str:
        return self.sign(f"tocsin-token-v1\n{challenge_id}\n{device_id}\n{challenge}")


def enroll(client, *, token: str, location_id: str, hardware_id: str, key: DeviceKey | None = None,
           kind: str = "tablet") -> tuple[dict, DeviceKey]:
    """Both phases through the API; returns (token response, key)."""
    key = key or DeviceKey()
    started = client.post("/api/v1/devices/enroll/", {
        "setup_token": token, "location_id": location_id, "hardware_id": hardware_id, "model": "test-model",
        "kind": kind, "public_key": key.public_b64}, format="json")
    assert started.status_code == 201, started.content
    body = started.json()
    signature = key.sign_enrollment(enrollment_id=body["enrollment_id"], hardware_id=hardware_id,
                                    challenge=body["challenge"])
    completed = client.post("/api/v1/devices/enroll/complete/",
                            {"enrollment_id": body["enrollment_id"], "signature": signature}, format="json")
    assert completed.status_code == 200, completed.content
    return completed.json(), key
