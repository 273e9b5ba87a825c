"""Plant gateway readings: from a command or a file, bad output logged, never fatal."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from device_agent.gateway import (
    CommandSource,
    FileSource,
    TelemetryLoop,
    parse_readings,
    telemetry_source,
)
from device_agent.outbox import TELEMETRY, Outbox


def test_readings_as_a_list_an_object_or_lines() -> None:
    listed, _ = parse_readings('[{"metric": "power_kw", "value": 4, "unit": "kW"}]', 10.0)
    single, _ = parse_readings('{"metric": "temp_c", "value": 41.5}', 10.0)
    lines, problems = parse_readings(
        '{"metric": "a", "value": 1, "ts": "2024-01-01T00:00:00Z"}\nnope\n'
        '{"metric": "b", "value": "x"}\n', 10.0)
    assert listed[0].value == 4.0 and listed[0].unit == "kW" and listed[0].ts == 10.0
    assert single[0].unit == ""
    assert [r.metric for r in lines] == ["a"] and lines[0].ts == 1704067200.0
    assert problems == ["entry 1: line 2 is not JSON", "entry 2: value must be a finite number"]


def test_a_command_source_feeds_the_outbox(tmp_path: Path) -> None:
    script = tmp_path / "poll.py"
    script.write_text("import json; print(json.dumps([{'metric': 'inverter_temp_c', "
                      "'value': 91.5, 'unit': 'C'}]))")
    outbox = Outbox(str(tmp_path / "o.db"))
    woken = []
    loop = TelemetryLoop(CommandSource(f"{sys.executable} {script}"), 60, outbox,
                         lambda: woken.append(1))
    assert loop.poll() == 1
    payload = outbox.take_batch(TELEMETRY, 10).items[0].payload
    assert payload["metric"] == "inverter_temp_c" and payload["value"] == 91.5
    assert set(payload) == {"message_id", "metric", "value", "unit", "ts"}
    assert woken == [1]


def test_a_failing_command_is_logged_and_the_loop_goes_on(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="device_agent")
    outbox = Outbox(str(tmp_path / "o.db"))
    failing = TelemetryLoop(CommandSource(f"{sys.executable} -c 'raise SystemExit(3)'"), 60,
                            outbox, lambda: None)
    missing = TelemetryLoop(CommandSource("/nonexistent/poller"), 60, outbox, lambda: None)
    assert failing.poll() == 0 and missing.poll() == 0
    assert [r.getMessage() for r in caplog.records].count(
        "telemetry source failed; will try again") == 2


def test_a_file_source_reads_each_new_version_once(tmp_path: Path) -> None:
    path = tmp_path / "readings.json"
    source = FileSource(str(path))
    with pytest.raises(OSError):
        source.read()
    path.write_text(json.dumps({"metric": "dc_voltage_v", "value": 700}))
    assert source.read() is not None
    assert source.read() is None


def test_the_source_is_chosen_from_config() -> None:
    assert isinstance(telemetry_source("poll --json", None), CommandSource)
    assert isinstance(telemetry_source(None, "/run/readings.json"), FileSource)
    assert telemetry_source(None, None) is None
