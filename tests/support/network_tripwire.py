"""Fixtures that make sure an SSRF test never sends a packet anywhere but loopback.

`tripwire` replaces `socket.socket.connect` for the test: a connection to a loopback
address (the test's own servers, Redis) goes through; any other is recorded and fails as
refused without a packet being sent, so a broken guard shows up as a recorded attempt
instead of traffic to 10.0.0.1 or 169.254.169.254. `fake_dns` answers chosen names with
chosen addresses (and refuses every other name but `localhost`), so no DNS query leaves either.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

__all__ = ["fake_dns", "tripwire"]


class Tripwire:
    def __init__(self) -> None:
        self.outside: list[str] = []


@pytest.fixture
def tripwire(monkeypatch) -> Iterator[Tripwire]:
    wire = Tripwire()
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def _allowed(address) -> bool:
        if not isinstance(address, tuple):
            return True  # a Unix socket
        return ipaddress.ip_address(str(address[0]).split("%", 1)[0]).is_loopback

    def connect(self, address):
        if _allowed(address):
            return real_connect(self, address)
        wire.outside.append(str(address[0]))
        raise ConnectionRefusedError(f"tripwire: no connection to {address[0]} from a test")

    def connect_ex(self, address):
        if _allowed(address):
            return real_connect_ex(self, address)
        wire.outside.append(str(address[0]))
        return 111  # ECONNREFUSED

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield wire


class FakeDns:
    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.queries: list[str] = []

    def set(self, name: str, *addresses: str) -> None:
        """Every lookup of `name` answers `addresses`."""
        self.answers[name] = [list(addresses)]

    def sequence(self, name: str, *answers: list[str]) -> None:
        """Successive lookups of `name` answer each list in turn (the last one repeats)."""
        self.answers[name] = [list(answer) for answer in answers]


@pytest.fixture
def fake_dns(monkeypatch) -> Iterator[FakeDns]:
    dns = FakeDns()
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 (socket's own names)
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:  # a literal address in any form inet_aton reads (127.1, 0x7f000001, ...) needs no DNS
            return real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            pass
        dns.queries.append(name)
        if name == "localhost" and name not in dns.answers:  # /etc/hosts, for a REDIS_URL that names it
            return real_getaddrinfo(host, port, family, type, proto, flags)
        if name not in dns.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = dns.answers[name]
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        port_number = int(port or 0)
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (address, port_number, 0, 0) if ":" in address else (address, port_number))
                for address in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield dns
