"""Framing payloads from stdin-like pipes, a serial port (pty) and a keyboard wedge (evdev)."""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

from device_agent.scanner_input import (
    HidSource,
    KeyEventDecoder,
    PayloadFramer,
    ScanInputLoop,
    ScanSource,
    SerialSource,
)
from tests.support.agent import wait_for

FIRST = "@\n\x1e\rANSI 636014080001DL00310010DLDAQ1\nDCSA\r"
SECOND = "@\n\x1e\rANSI 636014080001DL00310010DLDAQ2\nDCSB\r"


def test_framer_splits_on_the_next_payloads_start() -> None:
    framer = PayloadFramer()
    assert framer.feed(FIRST + SECOND[:2]) == []
    assert framer.feed(SECOND[2:]) == [FIRST]
    assert framer.pending
    assert framer.flush() == SECOND
    assert framer.flush() is None


class PipeSource(ScanSource):
    name = "pipe"
    reopenable = False


def run_loop(source: ScanSource, **kwargs) -> tuple[ScanInputLoop, list[str], list[str]]:
    payloads: list[str] = []
    statuses: list[str] = []
    loop = ScanInputLoop("test", 9600, payloads.append, statuses.append,
                         opener=lambda spec, baud: source, **kwargs)
    loop.start()
    return loop, payloads, statuses


def test_payloads_from_a_pipe_by_start_marker_pause_and_end() -> None:
    read_end, write_end = os.pipe()
    loop, payloads, statuses = run_loop(PipeSource(read_end))
    os.write(write_end, (FIRST + SECOND).encode())
    wait_for(lambda: len(payloads) == 2, timeout=5)
    os.write(write_end, b"not a barcode")
    os.close(write_end)
    loop.join(5)
    assert payloads == [FIRST, SECOND, "not a barcode"]
    assert statuses == ["ok", "disconnected"]


def test_a_failing_handler_does_not_stop_the_input() -> None:
    read_end, write_end = os.pipe()
    seen: list[str] = []

    def handler(text: str) -> None:
        seen.append(text)
        raise RuntimeError("boom")

    loop = ScanInputLoop("test", 9600, handler, lambda s: None,
                         opener=lambda spec, baud: PipeSource(read_end))
    loop.start()
    os.write(write_end, (FIRST + SECOND).encode())
    os.close(write_end)
    loop.join(5)
    assert seen == [FIRST, SECOND]


def test_the_loop_waits_until_the_site_config_is_there() -> None:
    read_end, write_end = os.pipe()
    ready = threading.Event()
    loop, payloads, statuses = run_loop(PipeSource(read_end), ready=ready)
    os.write(write_end, FIRST.encode())
    assert not wait_for_quietly(lambda: payloads, 0.5)
    ready.set()
    wait_for(lambda: payloads == [FIRST], timeout=5)
    loop.stop()
    loop.join(5)
    os.close(write_end)


def wait_for_quietly(condition, timeout: float) -> bool:
    try:
        wait_for(condition, timeout=timeout)
    except AssertionError:
        return False
    return True


def test_a_missing_device_is_reported_and_retried() -> None:
    statuses: list[str] = []
    loop = ScanInputLoop("serial:/dev/does-not-exist", 9600, lambda text: None, statuses.append)
    loop.start()
    wait_for(lambda: statuses == ["disconnected"], timeout=5)
    loop.stop()
    loop.join(5)
    assert not loop.is_alive()


def test_serial_port_keeps_carriage_returns() -> None:
    master, slave = os.openpty()
    source = SerialSource(os.ttyname(slave), 9600)
    loop, payloads, _ = run_loop(source)
    os.write(master, FIRST.encode())
    wait_for(lambda: payloads == [FIRST], timeout=5)
    loop.stop()
    loop.join(5)
    os.close(master)
    os.close(slave)


def key_events(text_keys: list[tuple[int, bool, bool]]) -> bytes:
    """(code, shift, ctrl) presses as the kernel's input_event records."""
    fmt = KeyEventDecoder.EVENT_FORMAT
    events = []
    for code, shift, ctrl in text_keys:
        if ctrl:
            events.append(struct.pack(fmt, 0, 0, 1, 29, 1))
        if shift:
            events.append(struct.pack(fmt, 0, 0, 1, 42, 1))
        events.append(struct.pack(fmt, 0, 0, 1, code, 1))
        events.append(struct.pack(fmt, 0, 0, 1, code, 0))
        events.append(struct.pack(fmt, 0, 0, 0, 0, 0))  # EV_SYN
        if shift:
            events.append(struct.pack(fmt, 0, 0, 1, 42, 0))
        if ctrl:
            events.append(struct.pack(fmt, 0, 0, 1, 29, 0))
    return b"".join(events)


AT_LF_RS_CR_A1 = [(3, True, False), (36, False, True), (7, True, True), (50, False, True),
                  (30, True, False), (2, False, False)]


def test_key_events_decode_to_aamva_text_across_partial_reads() -> None:
    data = key_events(AT_LF_RS_CR_A1)
    decoder = KeyEventDecoder()
    text = decoder.feed(data[:37]) + decoder.feed(data[37:])
    assert text == "@\n\x1e\rA1"


def test_hid_source_reads_an_event_device(tmp_path: Path) -> None:
    device = tmp_path / "event0"
    device.write_bytes(key_events(AT_LF_RS_CR_A1))
    source = HidSource(str(device))  # not a real evdev node: grabbing fails, reading works
    assert source.read() == "@\n\x1e\rA1"
    assert source.read() is None
    source.close()
