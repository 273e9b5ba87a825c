"""Wi-Fi link: RSSI from ``/proc/net/wireless``, BSSID (and RSSI) from ``iw`` or ``nmcli``.

A room tablet's link is its location proof: a BSSID outside the room's profile, or a signal
too weak, means the tablet left the room. Tools may be missing on a given image, so each one
is tried and skipped quietly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Callable, Optional

from device_agent.collectors import MissingSources

CommandRunner = Callable[[list[str]], Optional[str]]

_BSSID = re.compile(r"Connected to ([0-9a-fA-F:]{17})")
_SIGNAL = re.compile(r"signal:\s*(-?\d+)\s*dBm")
_INTERFACE = re.compile(r"^\s*Interface\s+(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class LinkReading:
    interface: str | None = None
    bssid: str | None = None
    rssi: int | None = None

    def link_fields(self) -> dict[str, str | int]:
        fields: dict[str, str | int] = {}
        if self.bssid is not None:
            fields["wifi_bssid"] = self.bssid
        if self.rssi is not None:
            fields["rssi"] = self.rssi
        return fields


def run_command(argv: list[str]) -> str | None:
    """Output of a tool if it exists and succeeds within two seconds, else None."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        # Fixed argument lists for iw/nmcli, no shell.
        done = subprocess.run(  # noqa: S603
            argv, capture_output=True, text=True, timeout=2.0, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def read_link(
    proc_root: str = "/proc",
    run: CommandRunner = run_command,
    missing: MissingSources | None = None,
) -> LinkReading:
    missing = missing or MissingSources()
    interface, rssi = _proc_wireless(proc_root)
    bssid = None
    if interface is None:
        interface = _first_iw_interface(run)
    if interface is not None:
        output = run(["iw", "dev", interface, "link"]) or ""
        found = _BSSID.search(output)
        bssid = found.group(1).lower() if found else None
        signal = _SIGNAL.search(output)
        if rssi is None and signal:
            rssi = int(signal.group(1))
    if bssid is None:
        bssid, nmcli_rssi = _nmcli_active(run)
        rssi = rssi if rssi is not None else nmcli_rssi
    if bssid is None and rssi is None:
        missing.missing("wifi", "no /proc/net/wireless entry, and iw/nmcli gave no link")
    else:
        missing.present("wifi")
    return LinkReading(interface=interface, bssid=bssid, rssi=rssi)


def _proc_wireless(proc_root: str) -> tuple[str | None, int | None]:
    try:
        with open(os.path.join(proc_root, "net/wireless"), encoding="ascii") as handle:
            lines = handle.readlines()[2:]
    except OSError:
        return None, None
    for line in lines:
        name, _, values = line.partition(":")
        columns = values.split()
        if len(columns) < 3:
            continue
        try:
            level = int(float(columns[2]))
        except ValueError:
            return name.strip(), None
        # Old drivers print dBm as an unsigned byte; Wi-Fi levels are always negative dBm.
        return name.strip(), level - 256 if level > 0 else level
    return None, None


def _first_iw_interface(run: CommandRunner) -> str | None:
    found = _INTERFACE.search(run(["iw", "dev"]) or "")
    return found.group(1) if found else None


def _nmcli_active(run: CommandRunner) -> tuple[str | None, int | None]:
    """nmcli's terse output escapes the colons inside the BSSID; SIGNAL is a percentage."""
    output = run(["nmcli", "-t", "-f", "ACTIVE,BSSID,SIGNAL", "dev", "wifi"]) or ""
    for line in output.splitlines():
        fields = re.split(r"(?<!\\):", line)
        if len(fields) == 3 and fields[0] == "yes":
            bssid = fields[1].replace("\\:", ":").lower()
            rssi = int(fields[2]) // 2 - 100 if fields[2].isdigit() else None
            return bssid or None, rssi
    return None, None
