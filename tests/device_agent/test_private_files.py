"""The device's private files (key, identity, site config) are written by one durable
writer: 0600 from the first byte, fsynced, renamed, and the directory fsynced."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from device_agent import keytool
from device_agent.identity import IdentityStore
from device_agent.private_files import write_private_file


@pytest.fixture
def fsynced(monkeypatch) -> list[str]:
    """What each os.fsync was called on: "file" or "directory"."""
    calls: list[str] = []
    real_fsync = os.fsync

    def record(fd: int) -> None:
        calls.append("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", record)
    return calls


def test_a_private_file_is_replaced_whole_with_0600_and_its_directory_synced(
        tmp_path: Path, fsynced: list[str]) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    write_private_file(str(path), b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fsynced == ["file", "directory"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"], "no temporary left"


def test_the_key_and_the_identity_use_the_same_durable_writer(
        tmp_path: Path, fsynced: list[str]) -> None:
    keytool.create_key(str(tmp_path / "device_key.pem"))
    assert fsynced == ["file", "directory"]
    assert stat.S_IMODE((tmp_path / "device_key.pem").stat().st_mode) == 0o600
    fsynced.clear()
    IdentityStore(str(tmp_path), hardware_id="hw-1")
    assert fsynced == ["file", "directory"]


def test_keytool_run_as_a_file_finds_its_package_from_anywhere(tmp_path: Path) -> None:
    """The agent runs keytool.py by path: no PYTHONPATH, another working directory."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    key = tmp_path / "device_key.pem"
    done = subprocess.run([sys.executable, os.path.abspath(keytool.__file__), "create", str(key)],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["device_key.pem"]
