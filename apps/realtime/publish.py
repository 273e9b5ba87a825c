"""Publishing live events from the processes that change state (web and workers).

Called only after commit (see `receivers`), so a client never sees a change that rolls
back. Publishing must never fail the caller: the change is committed and the board can
always be reloaded, so publishing goes through the Redis circuit breaker
(`apps.common.redis_guard`): during an outage an event is dropped at once instead of
making every request wait for a connect timeout. Tenants whose events were dropped get a
`stream.reset` event as soon as Redis answers again, telling their clients to reload
rather than silently showing stale state.
"""

from __future__ import annotations

import logging
import threading

import redis
from django.conf import settings

from apps.common.redis_guard import CircuitOpenError, breaker_for
from apps.realtime.stream.events import EventLog

logger = logging.getLogger(__name__)

_MAX_REMEMBERED_TENANTS = 1000

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}
_logs: dict[tuple, EventLog] = {}
_dropped_tenants: set[str] = set()


def redis_client() -> redis.Redis:
    """One client (and connection pool) per process, with short timeouts: publishing runs
    inside requests and tasks."""
    url = settings.REDIS_URL
    with _lock:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(
                url, socket_connect_timeout=settings.TOCSIN_REDIS_CONNECT_TIMEOUT_SECONDS,
                socket_timeout=settings.TOCSIN_REDIS_SOCKET_TIMEOUT_SECONDS)
        return _clients[url]


def event_log() -> EventLog:
    """One EventLog (and connection pool) per process and configuration."""
    key = (settings.REDIS_URL, settings.TOCSIN_REALTIME_PREFIX, settings.TOCSIN_STREAM_MAXLEN,
           settings.TOCSIN_STREAM_RETENTION_SECONDS)
    client = redis_client()
    with _lock:
        if key not in _logs:
            _logs[key] = EventLog(client, prefix=settings.TOCSIN_REALTIME_PREFIX,
                                  maxlen=settings.TOCSIN_STREAM_MAXLEN,
                                  retention_seconds=settings.TOCSIN_STREAM_RETENTION_SECONDS)
        return _logs[key]


def publish(*, tenant: str, event_type: str, site: str | None, data: dict) -> str | None:
    """Append the event to the tenant's stream and announce it; its id, or None if dropped."""
    log = event_log()
    try:
        with breaker_for(settings.REDIS_URL).guard():
            _announce_resets(log)
            entry_id = log.append(tenant=tenant, event_type=event_type, site=site, data=data)
    except CircuitOpenError:
        _remember_dropped(tenant)
        return None
    except (redis.RedisError, OSError) as exc:
        _remember_dropped(tenant)
        logger.warning("live event dropped: Redis unavailable", extra={
            "tenant": tenant, "event_type": event_type, "error": exc.__class__.__name__})
        return None
    return entry_id


def _remember_dropped(tenant: str) -> None:
    with _lock:
        if len(_dropped_tenants) < _MAX_REMEMBERED_TENANTS:
            _dropped_tenants.add(tenant)


def _announce_resets(log: EventLog) -> None:
    with _lock:
        pending = sorted(_dropped_tenants)
        _dropped_tenants.clear()
    for position, tenant in enumerate(pending):
        try:
            log.append(tenant=tenant, event_type="stream.reset", site=None, data={"reason": "events_lost"})
        except (redis.RedisError, OSError):
            for unsent in pending[position:]:
                _remember_dropped(unsent)
            raise
