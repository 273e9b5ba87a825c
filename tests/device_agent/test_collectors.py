"""Collectors read /proc, /sys and tools where present, and degrade to unknown otherwise."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from device_agent.collectors import MissingSources
from device_agent.collectors.battery import read_battery
from device_agent.collectors.health import HealthCollector
from device_agent.collectors.wifi import read_link

PROC_WIRELESS = """Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE
 face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22
 wlan0: 0000   54.  -61.  -256        0      0      0      0      0        0
"""
IW_LINK = """Connected to AA:BB:CC:00:11:22 (on wlan0)
\tSSID: hotel-101
\tsignal: -58 dBm
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def fake_system(root: Path) -> tuple[Path, Path]:
    proc, sys_root = root / "proc", root / "sys"
    write(proc / "stat", "cpu  100 0 100 800 0 0 0 0 0 0\n")
    write(proc / "meminfo", "MemTotal:  2048000 kB\nMemFree: 100 kB\nMemAvailable: 1024000 kB\n")
    write(proc / "uptime", "12345.67 20000.00\n")
    write(sys_root / "class/thermal/thermal_zone0/type", "acpitz\n")
    write(sys_root / "class/thermal/thermal_zone0/temp", "30000\n")
    write(sys_root / "class/thermal/thermal_zone1/type", "cpu-thermal\n")
    write(sys_root / "class/thermal/thermal_zone1/temp", "61234\n")
    return proc, sys_root


def test_health_from_proc_and_sys_without_psutil(tmp_path: Path) -> None:
    proc, sys_root = fake_system(tmp_path)
    collector = HealthCollector(proc_root=str(proc), sys_root=str(sys_root),
                                disk_path=str(tmp_path))
    write(proc / "stat", "cpu  150 0 150 900 0 0 0 0 0 0\n")  # 100 busy of 200
    sample = collector.sample()
    assert sample.cpu_percent == 50.0
    assert (sample.memory_used_mb, sample.memory_total_mb) == (1000.0, 2000.0)
    assert sample.temperature_c == 61.2, "the CPU's zone is preferred"
    assert sample.uptime_s == 12345.7
    assert sample.disk_total_mb and sample.disk_used_mb is not None


def test_psutil_stands_in_where_there_is_no_proc(tmp_path: Path) -> None:
    pytest.importorskip("psutil")
    sample = HealthCollector(proc_root=str(tmp_path / "no-proc"), sys_root=str(tmp_path),
                             disk_path=str(tmp_path)).sample()
    assert sample.cpu_percent is not None and sample.memory_total_mb
    assert sample.temperature_c is None


def test_missing_sources_are_unknown_and_logged_once(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="device_agent")
    missing = MissingSources()
    collector = HealthCollector(proc_root=str(tmp_path / "none"), sys_root=str(tmp_path / "none"),
                                disk_path=str(tmp_path / "none"), psutil_without_proc=False,
                                missing=missing)
    for _ in range(3):
        sample = collector.sample()
        battery = read_battery(str(tmp_path / "none"), missing=missing)
        link = read_link(str(tmp_path / "none"), run=lambda argv: None, missing=missing)
    assert sample.health_fields() == {}
    assert battery.battery_fields() == {} and link.link_fields() == {}
    sources = [r.fields["source"] for r in caplog.records if getattr(r, "fields", None)]
    assert sorted(sources) == ["battery", "cpu", "cpu_temperature", "disk", "memory", "uptime",
                               "wifi"]


def test_battery_from_power_supply(tmp_path: Path) -> None:
    write(tmp_path / "class/power_supply/AC/type", "Mains\n")
    write(tmp_path / "class/power_supply/BAT0/type", "Battery\n")
    write(tmp_path / "class/power_supply/BAT0/capacity", "42\n")
    write(tmp_path / "class/power_supply/BAT0/status", "Discharging\n")
    assert read_battery(str(tmp_path)).battery_fields() == {"level": 42, "charging": False}
    write(tmp_path / "class/power_supply/BAT0/status", "Charging\n")
    assert read_battery(str(tmp_path)).charging is True


def test_wifi_from_proc_and_iw(tmp_path: Path) -> None:
    write(tmp_path / "net/wireless", PROC_WIRELESS)
    calls = []

    def run(argv: list[str]) -> str | None:
        calls.append(argv)
        return IW_LINK if argv[:2] == ["iw", "dev"] else None

    link = read_link(str(tmp_path), run=run)
    assert (link.interface, link.bssid, link.rssi) == ("wlan0", "aa:bb:cc:00:11:22", -61)
    assert link.link_fields() == {"wifi_bssid": "aa:bb:cc:00:11:22", "rssi": -61}
    assert calls == [["iw", "dev", "wlan0", "link"]]


def test_wifi_from_nmcli_when_iw_is_missing(tmp_path: Path) -> None:
    def run(argv: list[str]) -> str | None:
        if argv[0] == "nmcli":
            return "no:11\\:22\\:33\\:44\\:55\\:66:40\nyes:AA\\:BB\\:CC\\:DD\\:EE\\:FF:70\n"
        return None

    link = read_link(str(tmp_path / "none"), run=run)
    assert (link.bssid, link.rssi) == ("aa:bb:cc:dd:ee:ff", -65)
