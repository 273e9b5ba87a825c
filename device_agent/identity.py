"""The device's identity: its Ed25519 key, hardware id and enrolment state, kept on disk.

The private key is the only credential the device ever holds for long: access tokens are
renewed by signing a server challenge with it. So it is created once, with 0600 permissions,
and never leaves the state directory (nor, in the agent, enters its long-running process).
Enrolment state (device id, current access token, revocation) is written atomically so a
power cut can't leave a half-written file (``private_files``, which the key's writer uses too).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import stat
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass

from device_agent import keytool
from device_agent.http_client import TransientApiError
from device_agent.private_files import PRIVATE_FILE_MODE, ensure_private_dir, write_private_file

log = logging.getLogger(__name__)

KEY_FILE = "device_key.pem"
STATE_FILE = "identity.json"
KEY_OPERATION_TIMEOUT_SECONDS = 60.0


class DeviceKeyError(TransientApiError):
    """A key operation failed (say the signer child could not start): retried like a timeout."""


class DeviceKey:
    """The device's Ed25519 key, a PKCS#8 PEM file (0600) in the state directory.

    With ``isolated`` (the agent) every operation runs in a child process; see ``keytool``
    for why. Without it (the simulator) the same functions run in this process.
    """

    def __init__(self, path: str, *, isolated: bool) -> None:
        self.path = path
        self.isolated = isolated

    @classmethod
    def load_or_create(cls, state_dir: str, *, isolated: bool = True) -> DeviceKey:
        ensure_private_dir(state_dir)
        key = cls(os.path.join(state_dir, KEY_FILE), isolated=isolated)
        if os.path.exists(key.path):
            _tighten_permissions(key.path)
        else:
            key._run("create")
            log.info("generated a new device key", extra={"fields": {"path": key.path}})
        return key

    def public_key_b64(self) -> str:
        """Standard base64 of the raw 32-byte public key."""
        return self._run("public-key")

    def sign_b64(self, message: str) -> str:
        return self._run("sign", message)

    def _run(self, operation: str, message: str = "") -> str:
        if not self.isolated:
            if operation == "create":
                keytool.create_key(self.path)
                return ""
            if operation == "public-key":
                return keytool.public_key_b64(self.path)
            return keytool.sign_b64(self.path, message)
        try:
            # A fixed argument list: this interpreter, the keytool file, the key path.
            done = subprocess.run(  # noqa: S603
                [sys.executable, os.path.abspath(keytool.__file__), operation, self.path],
                input=message.encode("utf-8"),
                capture_output=True,
                timeout=KEY_OPERATION_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise DeviceKeyError(f"key operation {operation} could not run: {exc}") from None
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise DeviceKeyError(f"key operation {operation} failed: {' '.join(detail)}")
        return done.stdout.decode("ascii").strip()


def _tighten_permissions(path: str) -> None:
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        log.warning(
            "device key was readable by others; permissions reset to 0600",
            extra={"fields": {"path": path, "mode": oct(mode)}},
        )
        os.chmod(path, PRIVATE_FILE_MODE)


@dataclass(frozen=True)
class IdentityState:
    """What enrolment produced. ``access`` is a secret: never log this object."""

    hardware_id: str
    device_id: str | None = None
    location_id: str | None = None
    access: str | None = None
    access_expires_at: float | None = None
    access_received_at: float | None = None
    revoked: bool = False

    @property
    def enrolled(self) -> bool:
        return self.device_id is not None

    def __repr__(self) -> str:
        return (
            f"IdentityState(hardware_id={self.hardware_id!r}, device_id={self.device_id!r}, "
            f"location_id={self.location_id!r}, revoked={self.revoked!r})"
        )


class IdentityStore:
    """Thread-safe holder of the identity state, persisted to ``identity.json`` (0600)."""

    def __init__(self, state_dir: str, hardware_id: str | None = None) -> None:
        ensure_private_dir(state_dir)
        self._path = os.path.join(state_dir, STATE_FILE)
        self._lock = threading.Lock()
        stored = self._read()
        if stored is None:
            stored = IdentityState(hardware_id=hardware_id or detect_hardware_id())
            self._write(stored)
        elif hardware_id and hardware_id != stored.hardware_id:
            stored = dataclasses.replace(stored, hardware_id=hardware_id)
            self._write(stored)
        self._state = stored

    @property
    def state(self) -> IdentityState:
        with self._lock:
            return self._state

    def update(self, **changes: object) -> IdentityState:
        with self._lock:
            self._state = dataclasses.replace(self._state, **changes)
            self._write(self._state)
            return self._state

    def _read(self) -> IdentityState | None:
        try:
            with open(self._path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return None
        known = {f.name for f in dataclasses.fields(IdentityState)}
        return IdentityState(**{k: v for k, v in data.items() if k in known})

    def _write(self, state: IdentityState) -> None:
        payload = json.dumps(dataclasses.asdict(state), sort_keys=True).encode("utf-8")
        write_private_file(self._path, payload)


def detect_hardware_id() -> str:
    """A stable id for this board: the Pi's serial, else a hash of machine-id, else random.

    machine-id is meant to stay confidential, so only an application-specific hash of it is
    sent (as systemd's documentation recommends).
    """
    serial = _raspberry_pi_serial()
    if serial:
        return f"rpi-{serial}"
    try:
        with open("/etc/machine-id", encoding="ascii") as handle:
            machine_id = handle.read().strip()
    except OSError:
        machine_id = ""
    if machine_id:
        digest = hashlib.sha256(f"tocsin-agent:{machine_id}".encode()).hexdigest()
        return f"mid-{digest[:32]}"
    return f"gen-{uuid.uuid4().hex}"


def _raspberry_pi_serial() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Serial"):
                    serial = line.partition(":")[2].strip().lstrip("0")
                    return serial or None
    except OSError:
        return None
    return None
