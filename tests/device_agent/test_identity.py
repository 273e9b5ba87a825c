"""The device key and identity state: created once, private, stable across restarts."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from device_agent.identity import DeviceKey, DeviceKeyError, IdentityStore, detect_hardware_id
from tests.support.agent import agent_env


@pytest.mark.parametrize("isolated", [True, False])
def test_key_is_created_once_with_0600_and_signs(tmp_path: Path, isolated: bool) -> None:
    key = DeviceKey.load_or_create(str(tmp_path / "state"), isolated=isolated)
    key_file = tmp_path / "state" / "device_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    again = DeviceKey.load_or_create(str(tmp_path / "state"), isolated=not isolated)
    assert again.public_key_b64() == key.public_key_b64()
    raw_public = base64.b64decode(key.public_key_b64())
    assert len(raw_public) == 32
    Ed25519PublicKey.from_public_bytes(raw_public).verify(
        base64.b64decode(key.sign_b64("hello")), b"hello")


def test_loose_key_permissions_are_tightened(tmp_path: Path) -> None:
    DeviceKey.load_or_create(str(tmp_path), isolated=False)
    os.chmod(tmp_path / "device_key.pem", 0o644)
    DeviceKey.load_or_create(str(tmp_path), isolated=False)
    assert stat.S_IMODE((tmp_path / "device_key.pem").stat().st_mode) == 0o600


def test_the_agent_never_loads_cryptography_itself(tmp_path: Path) -> None:
    """Key operations run in a child: the long-running process stays small (see keytool)."""
    code = ("import sys; from device_agent.runner import Agent; "
            "from device_agent.identity import DeviceKey; "
            f"key = DeviceKey.load_or_create({str(tmp_path)!r}); key.sign_b64('x'); "
            "print(any(m.startswith('cryptography') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=agent_env(), check=True)
    assert done.stdout.strip() == "False"


def test_a_broken_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "device_key.pem").write_text("not a key")
    os.chmod(tmp_path / "device_key.pem", 0o600)
    key = DeviceKey.load_or_create(str(tmp_path))
    with pytest.raises(DeviceKeyError, match="key operation sign failed: ValueError"):
        key.sign_b64("x")


def test_identity_state_persists_privately_and_hides_the_token(tmp_path: Path) -> None:
    store = IdentityStore(str(tmp_path), hardware_id="hw-1")
    store.update(device_id="dev-9", access="secret-token", access_expires_at=123.0)
    assert stat.S_IMODE((tmp_path / "identity.json").stat().st_mode) == 0o600
    reloaded = IdentityStore(str(tmp_path)).state
    assert (reloaded.hardware_id, reloaded.device_id, reloaded.access) == (
        "hw-1", "dev-9", "secret-token")
    assert "secret-token" not in repr(reloaded)


def test_hardware_id_is_stable_and_does_not_expose_machine_id() -> None:
    first, second = detect_hardware_id(), detect_hardware_id()
    assert first == second or first.startswith("gen-")
    if os.path.exists("/etc/machine-id"):
        machine_id = Path("/etc/machine-id").read_text().strip()
        assert machine_id not in first
