"""The device's private files: written whole or not at all, never readable by anyone else.

The key, the identity state and the site config must survive a power cut at any instant
and never be readable by other users, even for a moment. So a file is written under a
temporary name created 0600, fsynced, renamed over the old one, and then its directory is
fsynced: without that last step the rename itself may not survive the power cut, and the
device would come back with its old file (or, for a new key, none).

Standard library only, and nothing else of the agent: the keytool child imports it, and it
must stay small (see ``keytool``).
"""

from __future__ import annotations

import os
import threading

PRIVATE_FILE_MODE = 0o600
STATE_DIR_MODE = 0o700


def ensure_private_dir(path: str) -> None:
    os.makedirs(path, mode=STATE_DIR_MODE, exist_ok=True)


def write_private_file(path: str, data: bytes) -> None:
    """Write ``data`` atomically and durably (temp file, fsync, rename, fsync the directory)
    with 0600 permissions. The temporary name is per process and thread: the simulator runs
    many devices, each writing its own files, in one process."""
    directory = os.path.dirname(path) or "."
    temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
