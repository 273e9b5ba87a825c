"""Rate limits on Redis: fixed windows counted with INCR, so concurrent requests are
counted atomically by Redis rather than by read-modify-write of a history list. Counting
is one round trip (a small script: INCR, and EXPIRE when the window starts), because it
runs on every request of every device.

Scopes (rates in settings.TOCSIN_RATE_LIMITS): enrolment per client IP, devices per
device, people per user, API keys per key at the key's own tier. A refusal is a 429 with
`Retry-After` saying when the current window ends.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from apps.common.redis_guard import breaker_for
from apps.devices.principals import ApiKeyPrincipal, DevicePrincipal

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}

_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_script: list = []  # the registered script (its SHA); any client of any backend can run it
_client: list = [None, None]  # (connection pool, client on it): building a client per call costs more than the call


def _redis_client(backend):
    pool = backend._get_connection_pool(True)
    if _client[0] is not pool:
        _client[:] = [pool, backend._client(connection_pool=pool)]
    return _client[1]


def _count(key: str, timeout: int) -> int:
    """INCR the window's counter, starting its expiry with the window, in one round trip.

    Behind the Redis breaker: while the cache's Redis is unreachable this raises
    `CircuitOpenError` (a `redis.ConnectionError`) at once instead of waiting on a connect."""
    backend = getattr(cache, "_cache", None)
    if not hasattr(backend, "_get_connection_pool"):  # not Django's Redis backend: two cache operations
        return 1 if cache.add(key, 1, timeout=timeout) else cache.incr(key)
    with breaker_for(settings.CACHES["default"]["LOCATION"]).guard():
        client = _redis_client(backend)
        if not _script:
            _script.append(client.register_script(_COUNT_SCRIPT))
        return int(_script[0](keys=[cache.make_key(key)], args=[timeout], client=client))


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' → (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period]


class FixedWindowThrottle(BaseThrottle):
    """Subclasses set `scope` and define `identity(request, view) -> str | None`: who is
    counted, or None when the throttle does not apply to the request."""

    scope: str = ""

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
            count = _count(key, period + 1)
        except Exception:  # Redis down: fail open rather than take the API down with it
            logger.warning("rate limit store unavailable; request allowed", extra={"scope": self.scope})
            return True
        self._wait = (window + 1) * period - now
        return count <= limit

    def wait(self) -> float:
        return max(1.0, round(getattr(self, "_wait", 1.0)))


class EnrollmentRateThrottle(FixedWindowThrottle):
    scope = "enroll"

    def identity(self, request, view) -> str | None:
        return self.get_ident(request)


class DeviceRateThrottle(FixedWindowThrottle):
    scope = "device"

    def identity(self, request, view) -> str | None:
        user = request.user
        return user.device.public_id if isinstance(user, DevicePrincipal) else None


class UserRateThrottle(FixedWindowThrottle):
    scope = "user"

    def identity(self, request, view) -> str | None:
        user = request.user
        if isinstance(user, (DevicePrincipal, ApiKeyPrincipal)) or not user.is_authenticated:
            return None
        return str(user.pk)


class AnonRateThrottle(FixedWindowThrottle):
    scope = "anon"

    def identity(self, request, view) -> str | None:
        return None if request.user.is_authenticated else self.get_ident(request)


class ApiKeyRateThrottle(FixedWindowThrottle):
    scope = "api_key"

    def identity(self, request, view) -> str | None:
        user = request.user
        return user.api_key.prefix if isinstance(user, ApiKeyPrincipal) else None

    def rate(self, request, view) -> str:
        return f"{request.user.api_key.tier}/min"
