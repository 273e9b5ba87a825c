"""One Redis subscription per stream process, fanned out to the clients it serves.

Each connected client is a `Subscriber` with a bounded queue, registered under its
tenant: an announcement is framed once and offered only to that tenant's subscribers,
and, for a site-scoped subscriber, only when the event is of one of its sites
(`event_site`, read once per announcement; stream control events reach everyone).
The hub never waits for a client. A client too slow to keep up, or every client while
the subscription was down, is marked stale instead and catches up from the tenant's
Redis stream, which holds everything it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from apps.realtime.stream.events import EVERY_SITE, event_site, parse_entry_id, sse_frame

logger = logging.getLogger("tocsin.realtime.hub")

# Woken without an event: the subscriber should look at its flags (stale, closed).
WAKE = object()
_UNREAD = object()


class Subscriber:
    """One connected client, as the hub sees it."""

    __slots__ = ("tenant", "sites", "queue", "stale", "closed")

    def __init__(self, tenant: str, queue_size: int, sites: frozenset[str] | None = None):
        self.tenant = tenant
        self.sites = sites  # None: every site of the tenant
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=queue_size)
        self.stale = False
        self.closed = False

    def offer(self, item) -> None:
        if self.stale:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.stale = True

    def wake(self) -> None:
        # A full queue is being drained: the subscriber looks at its flags soon anyway.
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(WAKE)

    def mark_stale(self) -> None:
        self.stale = True
        self.wake()

    def close(self) -> None:
        self.closed = True
        self.wake()


class Hub:
    def __init__(self, client: aioredis.Redis, *, channel: str, queue_size: int):
        self._client = client
        self._channel = channel
        self._queue_size = queue_size
        self._by_tenant: dict[bytes, set[Subscriber]] = defaultdict(set)
        self._ready = asyncio.Event()
        self._task: asyncio.Task | None = None

    @property
    def clients(self) -> int:
        return sum(len(subscribers) for subscribers in self._by_tenant.values())

    @property
    def subscribed(self) -> bool:
        return self._ready.is_set()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="realtime-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for subscribers in self._by_tenant.values():
            for subscriber in subscribers:
                subscriber.close()

    async def wait_subscribed(self, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            return False
        return True

    def add(self, tenant: str, sites=None) -> Subscriber:
        subscriber = Subscriber(tenant, self._queue_size, None if sites is None else frozenset(sites))
        self._by_tenant[tenant.encode()].add(subscriber)
        return subscriber

    def remove(self, subscriber: Subscriber) -> None:
        key = subscriber.tenant.encode()
        subscribers = self._by_tenant.get(key)
        if subscribers is not None:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._by_tenant[key]

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    while True:
                        message = await pubsub.get_message(timeout=15.0)
                        if message is None:
                            continue
                        if message["type"] == "message":
                            self._dispatch(message["data"])
                        elif message["type"] == "subscribe":
                            self._subscribed()
                            backoff = 0.5
            except (RedisError, OSError) as exc:
                self._ready.clear()
                logger.warning("subscription lost; retrying", extra={
                    "error": exc.__class__.__name__, "retry_in_seconds": backoff})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    def _subscribed(self) -> None:
        """Redis confirmed the subscription: from now on every announcement reaches us.

        Only now may clients read their streams to catch up (they wait for this), so no
        event can fall between what they read and what we relay. Whatever was announced
        while we were not subscribed is in the streams: every client catches up there.
        """
        for subscribers in self._by_tenant.values():
            for subscriber in subscribers:
                subscriber.mark_stale()
        self._ready.set()
        logger.info("subscribed", extra={"channel": self._channel, "clients": self.clients})

    def _dispatch(self, payload: bytes) -> None:
        parts = payload.split(b"|", 3) if isinstance(payload, bytes) else []
        if len(parts) != 4:
            logger.warning("malformed announcement ignored")
            return
        tenant, entry_id, event_type, body = parts
        subscribers = self._by_tenant.get(tenant)
        if not subscribers:
            return
        position = parse_entry_id(entry_id)
        if position is None or not body.startswith(b"{"):
            logger.warning("malformed announcement ignored")
            return
        item = (position, sse_frame(entry_id, event_type, body))
        site = _UNREAD
        for subscriber in tuple(subscribers):
            if subscriber.sites is not None:
                if site is _UNREAD:
                    site = event_site(event_type, body)
                if site != EVERY_SITE and site not in subscriber.sites:
                    continue
            subscriber.offer(item)
