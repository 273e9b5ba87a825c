"""Bounded waits on Redis: short timeouts and a circuit breaker per Redis server.

Invariant: while a Redis server is known to be unreachable, no request waits on it. The
first failure opens the breaker of that server (every use in the process then fails at
once with `CircuitOpenError`), and a background probe, not a request, pings the server
until it answers and closes the breaker again. A request therefore pays at most one short
timeout per outage and process; callers decide what "unavailable" means for them (the
throttle fails open or closed by scope, enqueue leaves the row to the outbox sweeper, live
publishing drops the event and later tells the tenant's boards to reload).

`CircuitOpenError` is a `redis.ConnectionError`, so code that already handles an
unreachable Redis handles an open breaker the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


class CircuitOpenError(redis.exceptions.ConnectionError):
    """Redis is known to be unreachable; nothing was sent."""


def _redacted(url: str) -> str:
    """host:port/db only: a URL may carry a password, and it is logged."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or ''}"


def _ping(url: str, timeout: float) -> None:
    if urlsplit(url).scheme in {"redis", "rediss", "unix"}:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return
    from kombu import Connection

    with Connection(url, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)


class Breaker:
    """Open after a failure; closed again by a probe thread once the server answers."""

    def __init__(self, url: str, *, probe_interval: float, probe_timeout: float):
        self.url = url
        self.label = _redacted(url)
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self._probe: threading.Thread | None = None

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def record_failure(self, error: BaseException) -> None:
        with self._lock:
            if self._opened_at is not None:
                return
            self._opened_at = time.monotonic()
            probe_running = self._probe is not None and self._probe.is_alive()
            if not probe_running:
                self._probe = threading.Thread(target=self._probe_until_closed, name=f"redis-probe {self.label}",
                                               daemon=True)
                self._probe.start()
        logger.warning("Redis unreachable: circuit opened, callers fail fast until it answers",
                       extra={"redis": self.label, "error": type(error).__name__})

    def close(self) -> None:
        with self._lock:
            opened_at, self._opened_at = self._opened_at, None
        if opened_at is not None:
            logger.warning("Redis answers again: circuit closed",
                           extra={"redis": self.label, "open_seconds": round(time.monotonic() - opened_at, 1)})

    def _probe_until_closed(self) -> None:
        while self.is_open:
            time.sleep(self.probe_interval)
            if self._answers():
                self.close()

    def _answers(self) -> bool:
        try:
            _ping(self.url, self.probe_timeout)
        except Exception:  # any failure of the probe means "still down"
            return False
        return True

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run a Redis operation: refused at once while open; a connection failure opens it."""
        if self.is_open:
            raise CircuitOpenError(f"Redis at {self.label} is unreachable (circuit open)")
        try:
            yield
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            self.record_failure(exc)
            raise
        except Exception as exc:
            if _is_connection_failure(exc):
                self.record_failure(exc)
            raise


def _is_connection_failure(exc: BaseException) -> bool:
    """kombu wraps the client's connection errors in its own types."""
    from kombu.exceptions import OperationalError

    return isinstance(exc, OperationalError)


_breakers: dict[str, Breaker] = {}
_registry_lock = threading.Lock()


def breaker_for(url: str) -> Breaker:
    """One breaker per server and process, shared by every use of that server."""
    with _registry_lock:
        breaker = _breakers.get(url)
        if breaker is None:
            breaker = _breakers[url] = Breaker(url, probe_interval=settings.TOCSIN_REDIS_PROBE_INTERVAL_SECONDS,
                                               probe_timeout=settings.TOCSIN_REDIS_CONNECT_TIMEOUT_SECONDS)
        return breaker


def reset_breakers() -> None:
    """Forget every breaker (their probes stop at their next tick); for tests that restart servers."""
    with _registry_lock:
        breakers = list(_breakers.values())
        _breakers.clear()
    for breaker in breakers:
        breaker.close()
