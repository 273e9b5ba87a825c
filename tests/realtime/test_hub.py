"""The fan-out's back-pressure: a client that falls behind catches up from Redis, in order."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio as aioredis
from django.conf import settings

from apps.realtime.stream.connection import EventStream
from apps.realtime.stream.events import EventLog, parse_entry_id, sse_frame
from apps.realtime.stream.hub import Subscriber


def test_a_client_too_slow_for_its_queue_catches_up_from_the_stream_without_gaps_or_repeats():
    tenant = "ten_slowclient"
    log = EventLog(redis.Redis.from_url(settings.REDIS_URL), prefix=settings.TOCSIN_REALTIME_PREFIX, maxlen=1000,
                   retention_seconds=60)
    start = log.append(tenant=tenant, event_type="alert.raised", site=None, data={"n": 0})
    published = [log.append(tenant=tenant, event_type="alert.updated", site=None, data={"n": n}) for n in range(1, 8)]

    async def scenario() -> list[str]:
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        subscriber = Subscriber(tenant, queue_size=3)
        sent: list[bytes] = []

        async def send(message):
            sent.append(message["body"])

        stream = EventStream(client=client, subscriber=subscriber, prefix=settings.TOCSIN_REALTIME_PREFIX,
                             send=send, keepalive_seconds=5, max_seconds=5)
        # The hub offers all seven while the client is busy: three fit, then it is marked stale.
        for entry_id in published:
            subscriber.offer((parse_entry_id(entry_id), sse_frame(entry_id.encode(), b"alert.updated", b'{"x":1}')))
        assert subscriber.stale and subscriber.queue.full()
        relay = asyncio.create_task(stream.run(resume_from=start, catch_up=False))
        while sum(body.count(b"\nevent: ") for body in sent) < len(published):
            await asyncio.sleep(0.01)
        subscriber.close()
        outcome = await relay
        await client.aclose()
        assert outcome.replayed == 4 and outcome.events == 7 and not outcome.reset
        return [line.split(b": ", 1)[1].decode() for body in sent for line in body.split(b"\n")
                if line.startswith(b"id: ")]

    assert asyncio.run(scenario()) == published


def test_connections_end_at_their_maximum_age_so_access_is_rechecked():
    async def scenario():
        client = aioredis.Redis.from_url(settings.REDIS_URL)
        sent: list[bytes] = []

        async def send(message):
            sent.append(message["body"])

        stream = EventStream(client=client, subscriber=Subscriber("ten_maxage", queue_size=10),
                             prefix=settings.TOCSIN_REALTIME_PREFIX, send=send, keepalive_seconds=0.1,
                             max_seconds=0.35)
        outcome = await asyncio.wait_for(stream.run(resume_from="0-0", catch_up=False), timeout=2)
        await client.aclose()
        return outcome, sent

    outcome, sent = asyncio.run(scenario())
    assert outcome.reason == "max_age" and outcome.events == 0
    assert sent and set(sent) == {b": keep-alive\n\n"}
