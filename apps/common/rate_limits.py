"""Counters on Redis for rate limits and lockouts, and the DRF throttle base built on them.

A limit that guards a credential (enrolment, renewal, login) fails CLOSED: when Redis
cannot be reached the request is refused with 503 and `Retry-After`, because a limit
that lapses whenever its store does is no limit against someone who can slow Redis down.
Limits on what authenticated devices report fail open (logged): there, losing a
heartbeat costs more than an uncounted one. Each throttle says which it is.

Counting is fixed windows with INCR, so concurrent requests are counted atomically by
Redis rather than by read-modify-write of a history list, in one round trip (a small
script: INCR, and EXPIRE when the window starts), because it runs on every request of
every device. Both go through the cache Redis's circuit breaker (`redis_guard`): while
it is known to be down, `count` and `current` raise `CircuitOpenError` (a
`redis.ConnectionError`) at once, so a fail-open limit returns fast and a fail-closed one
answers 503 fast, instead of each request waiting on a connect.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions, status
from rest_framework.throttling import BaseThrottle

from apps.common.redis_guard import breaker_for

logger = logging.getLogger(__name__)

# How long a client is told to wait when the limit store is unreachable.
UNAVAILABLE_RETRY_AFTER_SECONDS = 30

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}

_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_script: list = []  # the registered script (its SHA); any client of any backend can run it
_client: list = [None, None]  # (connection pool, client on it): building a client per call costs more than the call


class RateLimitUnavailable(exceptions.APIException):
    """The limit could not be checked, so the guarded action is refused for now."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Temporarily unavailable; try again later."
    default_code = "rate_limit_unavailable"
    wait = UNAVAILABLE_RETRY_AFTER_SECONDS


def _breaker():
    return breaker_for(settings.CACHES["default"]["LOCATION"])


def _redis_client(backend):
    pool = backend._get_connection_pool(True)
    if _client[0] is not pool:
        _client[:] = [pool, backend._client(connection_pool=pool)]
    return _client[1]


def count(key: str, timeout: int) -> int:
    """INCR the counter, starting its expiry with its first count, in one round trip.

    Raises whatever the cache raises when Redis is unreachable; callers decide whether
    that fails open or closed.
    """
    backend = getattr(cache, "_cache", None)
    if not hasattr(backend, "_get_connection_pool"):  # not Django's Redis backend: two cache operations
        return 1 if cache.add(key, 1, timeout=timeout) else cache.incr(key)
    with _breaker().guard():
        client = _redis_client(backend)
        if not _script:
            _script.append(client.register_script(_COUNT_SCRIPT))
        return int(_script[0](keys=[cache.make_key(key)], args=[timeout], client=client))


def current(key: str, *, default_ttl: int) -> tuple[int, int]:
    """(count, seconds until it expires) of a counter, in one round trip; (0, 0) when
    there is none. Raises, like `count`, when Redis is unreachable."""
    backend = getattr(cache, "_cache", None)
    if not hasattr(backend, "_get_connection_pool"):
        value = cache.get(key)
        return (int(value), default_ttl) if value else (0, 0)
    full_key = cache.make_key(key)
    with _breaker().guard():
        pipe = _redis_client(backend).pipeline(transaction=False)
        value, ttl = pipe.get(full_key).ttl(full_key).execute()
    if not value:
        return 0, 0
    return int(value), max(1, int(ttl)) if ttl and ttl > 0 else default_ttl


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' → (600, 60)."""
    limit, _, period = rate.partition("/")
    return int(limit), _PERIODS[period]


class FixedWindowThrottle(BaseThrottle):
    """Subclasses set `scope` and define `identity(request, view) -> str | None`: who is
    counted, or None when the throttle does not apply to the request. `fail_closed`
    says what happens when Redis is unreachable (see the module docstring)."""

    scope: str = ""
    fail_closed: bool = False

    def rate(self, request, view) -> str:
        return settings.TOCSIN_RATE_LIMITS[self.scope]

    def allow_request(self, request, view) -> bool:
        ident = self.identity(request, view)
        if ident is None:
            return True
        limit, period = parse_rate(self.rate(request, view))
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{ident}:{window}"
        try:
            seen = count(key, period + 1)
        except Exception as exc:
            if self.fail_closed:
                logger.error("rate limit store unavailable; request refused", extra={"scope": self.scope})
                raise RateLimitUnavailable() from exc
            logger.warning("rate limit store unavailable; request allowed", extra={"scope": self.scope})
            return True
        self._wait = (window + 1) * period - now
        return seen <= limit

    def wait(self) -> float:
        return max(1.0, round(getattr(self, "_wait", 1.0)))


class ClientIpThrottle(FixedWindowThrottle):
    """Counted per client address (behind `NUM_PROXIES` trusted proxies)."""

    def identity(self, request, view) -> str | None:
        return self.get_ident(request)
