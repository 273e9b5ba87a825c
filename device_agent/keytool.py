"""Ed25519 key operations, runnable in a short-lived child process.

The agent uses the key only to enrol and to renew its token (about once a day), but
``cryptography``'s bindings cost ~8 MB of resident memory for as long as they are loaded,
which would take the agent past its 40 MB budget on a Pi. So the running agent does each key
operation in a child (``python .../device_agent/keytool.py OP KEY_PATH``, the message on
stdin; ``python -m device_agent.keytool`` is the same): the agent itself never imports
``cryptography`` and never holds the private key in memory. The fleet simulator, many
devices in one process, calls the functions directly.

The new key is written by ``private_files`` like every other private file of the device
(0600 from the first byte, fsynced, renamed, the directory fsynced). Run as a file, this
module's own directory heads the import path, so the package's parent takes its place:
``device_agent`` is then importable wherever the agent is installed.
"""

from __future__ import annotations

import base64
import os
import sys
from typing import TYPE_CHECKING

if __name__ == "__main__" and not __package__:  # run as a file (see identity.DeviceKey)
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from device_agent.private_files import write_private_file  # noqa: E402 (after the path fix)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def create_key(path: str) -> None:
    """Write a new PKCS#8 PEM key with 0600 permissions, atomically and durably."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    write_private_file(path, pem)


def _private_key(path: str) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    with open(path, "rb") as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 key")
    return key


def public_key_b64(path: str) -> str:
    """Standard base64 of the raw 32-byte public key, as the enrol endpoint expects."""
    from cryptography.hazmat.primitives import serialization

    raw = _private_key(path).public_key().public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode("ascii")


def sign_b64(path: str, message: str) -> str:
    return base64.b64encode(_private_key(path).sign(message.encode("utf-8"))).decode("ascii")


def main(argv: list[str]) -> int:
    """``create|public-key|sign KEY_PATH``; sign reads the UTF-8 message from stdin."""
    if len(argv) != 2 or argv[0] not in ("create", "public-key", "sign"):
        print("usage: python -m device_agent.keytool create|public-key|sign KEY_PATH",
              file=sys.stderr)
        return 2
    operation, path = argv
    try:
        if operation == "create":
            create_key(path)
        elif operation == "public-key":
            print(public_key_b64(path))
        else:
            print(sign_b64(path, sys.stdin.buffer.read().decode("utf-8")))
    except (OSError, ValueError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
