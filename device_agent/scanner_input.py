"""Where decoded PDF417 text comes from: stdin, a keyboard-wedge HID device or a serial port.

A scanner sends one barcode as a burst of characters, and AAMVA text itself contains line
feeds, so a payload is framed by its own start (``@`` LF RS, the compliance indicator and
separators every AAMVA barcode opens with) or by a pause in the input. The text is held in
memory only, never written or logged.
"""

from __future__ import annotations

import logging
import os
import select
import struct
import sys
import threading
from typing import Callable

log = logging.getLogger(__name__)

PAYLOAD_START = "@\n\x1e"
IDLE_GAP_SECONDS = 0.3
REOPEN_SECONDS = 5.0
READ_SIZE = 4096


class PayloadFramer:
    """Splits a character stream into barcode payloads."""

    def __init__(self) -> None:
        self._buffer = ""

    @property
    def pending(self) -> bool:
        return bool(self._buffer.strip())

    def feed(self, text: str) -> list[str]:
        """Add text; returns the payloads completed by the start of a following one."""
        self._buffer += text
        payloads = []
        start = self._buffer.find(PAYLOAD_START, 1)
        while start != -1:
            payloads.append(self._buffer[:start])
            self._buffer = self._buffer[start:]
            start = self._buffer.find(PAYLOAD_START, 1)
        return [p for p in payloads if p.strip()]

    def flush(self) -> str | None:
        """The payload in progress once the input paused or ended."""
        payload, self._buffer = self._buffer, ""
        return payload if payload.strip() else None


class ScanSource:
    """A readable file descriptor that yields text (None at the end of input)."""

    name = "source"
    reopenable = True

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read(self) -> str | None:
        data = os.read(self.fd, READ_SIZE)
        return data.decode("latin-1") if data else None

    def close(self) -> None:
        os.close(self.fd)


class StdinSource(ScanSource):
    name = "stdin"
    reopenable = False

    def __init__(self) -> None:
        super().__init__(os.dup(sys.stdin.fileno()))


class SerialSource(ScanSource):
    """A serial scanner: raw 8N1 at the configured speed, no CR/LF translation."""

    def __init__(self, path: str, baud_rate: int) -> None:
        import termios

        speed = getattr(termios, f"B{baud_rate}", None)
        if speed is None:
            raise ValueError(f"unsupported serial speed {baud_rate}")
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY)
        try:
            iflag, oflag, cflag, lflag, _, _, cc = termios.tcgetattr(fd)
            iflag &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
                       | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON)
            oflag &= ~termios.OPOST
            lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG
                       | termios.IEXTEN)
            cflag = (cflag & ~(termios.CSIZE | termios.PARENB)) | termios.CS8 | termios.CREAD
            cflag |= termios.CLOCAL
            cc[termios.VMIN] = 1
            cc[termios.VTIME] = 0
            termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, speed, speed, cc])
        except BaseException:
            os.close(fd)
            raise
        super().__init__(fd)
        self.name = f"serial:{path}"


class HidSource(ScanSource):
    """A keyboard-wedge scanner read from its evdev node, grabbed so keystrokes stay private."""

    EVIOCGRAB = 0x40044590

    def __init__(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            import fcntl

            fcntl.ioctl(fd, self.EVIOCGRAB, 1)
        except OSError as exc:
            log.warning(
                "could not grab the HID device; its keystrokes also reach the console",
                extra={"fields": {"path": path, "error": exc.strerror}},
            )
        super().__init__(fd)
        self.name = f"hid:{path}"
        self._decoder = KeyEventDecoder()

    def read(self) -> str | None:
        data = os.read(self.fd, KeyEventDecoder.EVENT_SIZE * 256)
        return self._decoder.feed(data) if data else None


def _keymap() -> dict:
    rows = {
        2: "1!", 3: "2@", 4: "3#", 5: "4$", 6: "5%", 7: "6^", 8: "7&", 9: "8*", 10: "9(",
        11: "0)", 12: "-_", 13: "=+", 15: "\t\t", 26: "[{", 27: "]}", 39: ";:", 40: "'\"",
        41: "`~", 43: "\\|", 51: ",<", 52: ".>", 53: "/?", 57: "  ", 28: "\n\n", 96: "\n\n",
    }
    for first, letters in ((16, "qwertyuiop"), (30, "asdfghjkl"), (44, "zxcvbnm")):
        for offset, letter in enumerate(letters):
            rows[first + offset] = letter + letter.upper()
    return rows


class KeyEventDecoder:
    """Turns Linux input events (US layout) into text, with Ctrl producing control codes.

    Wedge scanners send AAMVA's separators as Ctrl combinations: Ctrl+J is LF, Ctrl+M is CR
    and Ctrl+^ (or Ctrl+6) is the record separator.
    """

    EVENT_FORMAT = "llHHi"
    EVENT_SIZE = struct.calcsize(EVENT_FORMAT)
    EV_KEY = 1
    SHIFT_KEYS = (42, 54)
    CTRL_KEYS = (29, 97)
    KEYS = _keymap()

    def __init__(self) -> None:
        self._shift = False
        self._ctrl = False
        self._partial = b""

    def feed(self, data: bytes) -> str:
        data = self._partial + data
        whole = len(data) - len(data) % self.EVENT_SIZE
        self._partial = data[whole:]
        text = []
        for _, _, event_type, code, value in struct.iter_unpack(self.EVENT_FORMAT, data[:whole]):
            if event_type != self.EV_KEY:
                continue
            if code in self.SHIFT_KEYS:
                self._shift = value != 0
            elif code in self.CTRL_KEYS:
                self._ctrl = value != 0
            elif value in (1, 2) and code in self.KEYS:
                text.append(self._character(code))
        return "".join(text)

    def _character(self, code: int) -> str:
        character = self.KEYS[code][1 if self._shift else 0]
        if not self._ctrl:
            return character
        if character in ("6", "^"):
            return "\x1e"
        if "@" <= character.upper() <= "_":
            return chr(ord(character.upper()) - 64)
        return character


def open_source(spec: str, baud_rate: int) -> ScanSource:
    """Open ``stdin``, ``serial:/dev/...`` or ``hid:/dev/input/...``."""
    if spec == "stdin":
        return StdinSource()
    kind, _, path = spec.partition(":")
    if kind == "serial":
        return SerialSource(path, baud_rate)
    if kind == "hid":
        return HidSource(path)
    raise ValueError(f"unknown scanner input {spec!r}")


class ScanInputLoop(threading.Thread):
    """Reads payloads from the scanner and hands each to ``on_payload``; never dies of input."""

    def __init__(
        self,
        spec: str,
        baud_rate: int,
        on_payload: Callable[[str], object],
        set_status: Callable[[str], None],
        *,
        ready: threading.Event | None = None,
        opener: Callable[[str, int], ScanSource] = open_source,
    ) -> None:
        super().__init__(name="tocsin-scanner", daemon=True)
        self.spec = spec
        self.baud_rate = baud_rate
        self.on_payload = on_payload
        self.set_status = set_status
        self.ready = ready
        self._opener = opener
        self._stop_event = threading.Event()
        self._framer = PayloadFramer()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        if self.ready is not None:
            while not self.ready.wait(1.0):
                if self._stop_event.is_set():
                    return
        reported_missing = False
        while not self._stop_event.is_set():
            try:
                source = self._opener(self.spec, self.baud_rate)
            except (OSError, ValueError) as exc:
                self.set_status("disconnected")
                if not reported_missing:
                    log.error("scanner input unavailable; retrying",
                              extra={"fields": {"input": self.spec, "error": str(exc)}})
                    reported_missing = True
                self._stop_event.wait(REOPEN_SECONDS)
                continue
            reported_missing = False
            self.set_status("ok")
            log.info("reading scans", extra={"fields": {"input": source.name}})
            ended = self._read_until_closed(source)
            source.close()
            if ended and not source.reopenable:
                self.set_status("disconnected")
                log.warning("scanner input ended", extra={"fields": {"input": source.name}})
                return

    def _read_until_closed(self, source: ScanSource) -> bool:
        """Read until stop (False) or end of input / a read error (True)."""
        while not self._stop_event.is_set():
            timeout = IDLE_GAP_SECONDS if self._framer.pending else 1.0
            readable, _, _ = select.select([source.fd], [], [], timeout)
            if not readable:
                self._deliver(self._framer.flush())
                continue
            try:
                text = source.read()
            except OSError as exc:
                self.set_status("error")
                log.error("scanner read failed; reopening",
                          extra={"fields": {"input": source.name, "error": exc.strerror}})
                self._deliver(self._framer.flush())
                return True
            if text is None:
                self._deliver(self._framer.flush())
                return True
            for payload in self._framer.feed(text):
                self._deliver(payload)
        self._deliver(self._framer.flush())
        return False

    def _deliver(self, payload: str | None) -> None:
        if payload is None:
            return
        try:
            self.on_payload(payload)
        except Exception as exc:
            log.error("scan could not be processed; input keeps running",
                      extra={"fields": {"error": type(exc).__name__}})
