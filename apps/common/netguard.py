"""Outgoing requests to destinations that tenants (or settings) name never reach inside.

Invariant: a socket opened through this module is connected only to an address that was
resolved and vetted in the same call, and every address the name resolved to was vetted
(one internal answer refuses the whole name). Internal means loopback, private, link-local,
multicast, unspecified, reserved or otherwise not globally routable, for IPv4 and IPv6,
including IPv4 addresses embedded in IPv6 (mapped, 6to4, Teredo).

Checking a URL before sending is not enough: a name can resolve to a public address when
it is checked and to 127.0.0.1 a moment later, when the HTTP library resolves it again
(DNS rebinding). So the check lives where the TCP connection is made, in the one place
that both resolves and connects: `create_connection`, which the requests adapter and the
urllib opener below use instead of their own. Redirects are never followed (a public
server could answer 302 to an internal URL), and proxies from the environment are ignored
(the proxy, not us, would pick the address).

`TOCSIN_ALLOW_PRIVATE_TARGETS` turns the refusal off for development and for tests whose
stand-in servers listen on 127.0.0.1; it is off unless set.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import sys
import threading
import urllib.request
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class DestinationRefused(Exception):  # noqa: N818 (reads as what happened, like ConnectionRefused)
    """The destination resolves to an internal address. Deliberately not an OSError, so no
    HTTP library mistakes it for a network hiccup to retry, and callers can tell it apart."""


def private_targets_allowed() -> bool:
    return bool(getattr(settings, "TOCSIN_ALLOW_PRIVATE_TARGETS", False))


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_internal(address: IPAddress) -> bool:
    """True for any address an outgoing request to a tenant's destination must not reach."""
    embedded = _embedded_ipv4(address)
    if embedded is not None and is_internal(embedded):
        return True
    return (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
            or address.is_unspecified or address.is_reserved or not address.is_global)


def _parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return None


def _is_local_name(host: str) -> bool:
    host = host.rstrip(".").lower()
    return host in LOCAL_NAMES or host.endswith(".localhost")


def resolve(host: str, port: int) -> list[tuple]:
    """getaddrinfo for a TCP connection, refusing the name if any answer is internal."""
    host = host.strip("[]")
    if not private_targets_allowed() and _is_local_name(host):
        raise DestinationRefused("the destination is a local name")
    infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    if not private_targets_allowed():
        for *_, sockaddr in infos:
            address = _parse_address(sockaddr[0])
            if address is None or is_internal(address):
                raise DestinationRefused("the destination resolves to an internal address")
    return infos


def create_connection(address: tuple[str, int], timeout=None, source_address=None, socket_options=None
                      ) -> socket.socket:
    """Resolve, vet, then connect to one of the vetted addresses (never to the name again)."""
    host, port = address
    last_error: OSError | None = None
    for family, type_, proto, _, sockaddr in resolve(host, port):
        sock = socket.socket(family, type_, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is None or isinstance(timeout, int | float):
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise last_error or OSError(f"no address to connect to for {host!r}")


def check_url(url: str) -> None:
    """Refuse, before anything is saved, a URL whose host is plainly internal: a literal
    internal address, a local name, or a name that resolves to an internal address now.
    A name that does not resolve passes; delivery checks again when it connects."""
    if private_targets_allowed():
        return
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DestinationRefused("the URL has an invalid port") from exc
    host = parts.hostname or ""
    literal = _parse_address(host)
    if literal is not None:
        if is_internal(literal):
            raise DestinationRefused("the destination is an internal address")
        return
    try:
        resolve(host, port)
    except (OSError, UnicodeError):
        return


# --- requests (urllib3) ----------------------------------------------------------------------

class _GuardedConnectionMixin:
    """urllib3's `_new_conn` with the vetted `create_connection` (same error mapping)."""

    def _new_conn(self) -> socket.socket:
        try:
            sock = create_connection((self._dns_host, self.port), self.timeout, source_address=self.source_address,
                                     socket_options=self.socket_options)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedHTTPAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPConnectionPool,
                                                   "https": _GuardedHTTPSConnectionPool}

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise DestinationRefused("outgoing requests to tenant destinations do not go through proxies")


def guarded_session() -> requests.Session:
    """A requests session whose every connection is vetted. Pass `allow_redirects=False`
    to each call: the redirect itself would be vetted too, but a 3xx from a tenant's
    endpoint is its answer, not an instruction to post the alert somewhere else."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedHTTPAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


_shared = threading.local()


def shared_guarded_session() -> requests.Session:
    """This thread's long-lived guarded session, so sends to one endpoint reuse a kept-alive
    connection instead of paying a TCP (and TLS) handshake each. Reuse keeps the invariant:
    a pooled connection was vetted when it was opened, and it stays connected to that address.
    The cache is per process (a forked pool child never shares its parent's sockets) and per
    setting of `TOCSIN_ALLOW_PRIVATE_TARGETS` (a connection opened while private targets were
    allowed is never handed out once they are not). Use it without a `with` block."""
    key = (os.getpid(), private_targets_allowed())
    session = getattr(_shared, "sessions", {}).get(key)
    if session is None:
        _shared.sessions = {key: guarded_session()}  # drop sessions of another pid or setting
        session = _shared.sessions[key]
    return session


# --- urllib (slack_sdk) -------------------------------------------------------------------------

class _GuardedHTTPClientConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = create_connection


class _GuardedHTTPClientSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = create_connection


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_GuardedHTTPClientConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_GuardedHTTPClientSConnection, req, context=self._context)


def guarded_opener(ssl_context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    """A urllib opener with only http(s), vetted connections, no proxies and no redirect
    handler: a 3xx answer surfaces as an HTTPError instead of being followed."""
    opener = urllib.request.OpenerDirector()
    for handler in (_GuardedHTTPHandler(), _GuardedHTTPSHandler(context=ssl_context),
                    urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener
