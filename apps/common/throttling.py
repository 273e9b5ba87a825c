"""Rate limits for every principal, counted on Redis (rates in settings.TOCSIN_RATE_LIMITS).

A limit that guards a credential (enrolment, renewal, login) fails CLOSED: when Redis
cannot be reached the request is refused with 503 and `Retry-After`, because a limit
that lapses whenever its store does is no limit against someone who can slow Redis down.
Limits on what authenticated devices report fail open (logged): there, losing a
heartbeat costs more than an uncounted one. Each throttle says which it is. A refusal
over the limit is a 429 with `Retry-After` saying when the window ends.

Who is counted: enrolment per client IP and renewal per device named in the body, so a
fleet renewing behind one NAT address is not held back by the enrolment limit; a device
per device, an API key per key at the key's own tier, people per user, everyone else per
client IP. Machine principals say how they are counted (`throttle_scope`,
`throttle_ident`, `throttle_rate`, see apps.devices.principals), so this module needs
no app above it.

Counting is fixed windows with INCR, so concurrent requests are counted atomically by
Redis rather than by read-modify-write of a history list, in one round trip (a small
script: INCR, and EXPIRE when the window starts), because it runs on every request of
every device. The counters live in the cache's Redis, under the cache's key prefix, read
through one plain redis-py client per process built from the cache settings (never the
cache backend's internals), behind that server's circuit breaker (`redis_guard`): while
it is known to be down, `count` and `current` raise `CircuitOpenError` (a
`redis.ConnectionError`) at once, so a fail-open limit returns fast and a fail-closed one
answers 503 fast, instead of each request waiting on a connect.
"""

from __future__ import annotations

import logging
import re
import threading
import time

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
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

_lock = threading.Lock()
# Building a client per call costs more than the call: one per cache server and process.
_clients: dict[str, tuple[redis.Redis, object]] = {}


class RateLimitUnavailable(exceptions.APIException):
    """The limit could not be checked, so the guarded action is refused for now."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Temporarily unavailable; try again later."
    default_code = "rate_limit_unavailable"
    wait = UNAVAILABLE_RETRY_AFTER_SECONDS


def _cache_server() -> str:
    """The cache's first server: the one Django's Redis cache writes to."""
    location = settings.CACHES["default"]["LOCATION"]
    return (location.split(",") if isinstance(location, str) else list(location))[0]


def _client_and_script(url: str):
    found = _clients.get(url)
    if found is None:
        with _lock:
            found = _clients.get(url)
            if found is None:
                options = settings.CACHES["default"].get("OPTIONS", {})
                client = redis.Redis.from_url(url, socket_connect_timeout=options.get("socket_connect_timeout"),
                                              socket_timeout=options.get("socket_timeout"))
                found = _clients[url] = (client, client.register_script(_COUNT_SCRIPT))
    return found


def count(key: str, timeout: int) -> int:
    """INCR the counter, starting its expiry with its first count, in one round trip.

    Raises whatever Redis raises when it is unreachable; callers decide whether that
    fails open or closed.
    """
    cache = caches["default"]
    if not isinstance(cache, RedisCache):  # another cache backend: two cache operations
        return 1 if cache.add(key, 1, timeout=timeout) else cache.incr(key)
    url = _cache_server()
    with breaker_for(url).guard():
        client, script = _client_and_script(url)
        return int(script(keys=[cache.make_key(key)], args=[timeout], client=client))


def current(key: str, *, default_ttl: int) -> tuple[int, int]:
    """(count, seconds until it expires) of a counter, in one round trip; (0, 0) when
    there is none. Raises, like `count`, when Redis is unreachable."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        value = cache.get(key)
        return (int(value), default_ttl) if value else (0, 0)
    full_key = cache.make_key(key)
    url = _cache_server()
    with breaker_for(url).guard():
        client, _ = _client_and_script(url)
        value, ttl = client.pipeline(transaction=False).get(full_key).ttl(full_key).execute()
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


class PrincipalThrottle(FixedWindowThrottle):
    """Counted per machine principal whose `throttle_scope` is this throttle's scope, at
    the principal's own `throttle_rate` when it has one."""

    def identity(self, request, view) -> str | None:
        user = request.user
        return user.throttle_ident if getattr(user, "throttle_scope", None) == self.scope else None

    def rate(self, request, view) -> str:
        return getattr(request.user, "throttle_rate", None) or super().rate(request, view)


# --- the limits -----------------------------------------------------------------------------------

# A renewal names its device in the body, before anything is authenticated.
_CLAIMED_DEVICE_ID = re.compile(r"^[a-z]{2,5}_[a-z0-9]{10,32}$")
_CLAIMED_HARDWARE_ID = re.compile(r"^[A-Za-z0-9:._-]{3,128}$")


class EnrollmentRateThrottle(ClientIpThrottle):
    scope = "enroll"
    fail_closed = True


class LoginRateThrottle(ClientIpThrottle):
    scope = "login"
    fail_closed = True


class RenewalRateThrottle(FixedWindowThrottle):
    """Per device named in the body (`device_id`, or the legacy `deviceId`); a body that
    names none is counted per client IP under the same scope."""

    scope = "renew"
    fail_closed = True
    body_field = "device_id"
    pattern = _CLAIMED_DEVICE_ID

    def identity(self, request, view) -> str | None:
        data = request.data
        claimed = data.get(self.body_field) if isinstance(data, dict) else None
        if isinstance(claimed, str) and self.pattern.match(claimed):
            return f"device:{claimed}"
        return f"ip:{self.get_ident(request)}"


class LegacyRenewalRateThrottle(RenewalRateThrottle):
    body_field = "deviceId"
    pattern = _CLAIMED_HARDWARE_ID


class DeviceRateThrottle(PrincipalThrottle):
    scope = "device"


class ApiKeyRateThrottle(PrincipalThrottle):
    scope = "api_key"


class UserRateThrottle(FixedWindowThrottle):
    """People: authenticated principals that are not machines."""

    scope = "user"

    def identity(self, request, view) -> str | None:
        user = request.user
        if hasattr(user, "throttle_scope") or not user.is_authenticated:
            return None
        return str(user.pk)


class AnonRateThrottle(FixedWindowThrottle):
    scope = "anon"

    def identity(self, request, view) -> str | None:
        return None if request.user.is_authenticated else self.get_ident(request)
